import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { adapterFor } from "../runtime/models";
import type { FoundationModel } from "./wiring";

/** Arguments of {@link ModelAccess}. */
export interface ModelAccessArgs {
  /** The model the functions invoke. */
  model: FoundationModel;
  /**
   * Accept the model's AWS Marketplace agreement in this stack. False where the account already
   * has it (the agreement is account-wide, so one stack per account owns it).
   */
  acceptModelAgreement: boolean;
}

/** One offer of getModelAgreementOffers, as far as it matters here. */
interface AgreementOffer {
  offerId: string;
  offerToken: string;
}

/**
 * The token of the model's public offer. Without one nothing can be accepted automatically, so the
 * preview stops and says what to do instead.
 */
export function publicOfferToken(offers: readonly AgreementOffer[] | undefined, model: Pick<FoundationModel, "id" | "region">): string {
  const token = offers?.find((o) => o.offerToken)?.offerToken;
  if (!token) {
    throw new Error(
      `Bedrock lists no public Marketplace offer for ${model.id} in ${model.region}, so pulumi up cannot accept its agreement. ` +
        `Accept the model's offer once in the Bedrock console (Model catalog → ${model.id} → subscription options) or with ` +
        `"aws bedrock create-foundation-model-agreement --region ${model.region} --model-id ${model.id} --offer-token <token from list-foundation-model-agreement-offers --offer-type ALL>", ` +
        `then set acceptModelAgreement: false in this stack's file.`,
    );
  }
  return token;
}

/**
 * Access to the model as part of `pulumi up`. Models sold through AWS Marketplace (Stability AI's)
 * need their agreement before the first call. Bedrock would subscribe on the first InvokeModel,
 * but only for a caller allowed aws-marketplace:Subscribe, which the functions' least-privilege
 * roles are not (https://docs.aws.amazon.com/bedrock/latest/userguide/model-access.html). So
 * the stack accepts the public offer itself (ListFoundationModelAgreementOffers +
 * CreateFoundationModelAgreement, with the deploying role's permissions). The agreement is kept
 * when the stack is destroyed: it is the account's, and other stacks may rely on it.
 */
export class ModelAccess extends pulumi.ComponentResource {
  /** The agreement this stack accepted; undefined for Amazon's own models or when the account already has it. */
  readonly agreement?: aws.bedrockfoundation.ModelAgreement;
  /** The model for the functions: its id follows the agreement, so they are created after it. */
  readonly model: FoundationModel;

  constructor(name: string, args: ModelAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("couch-explorers:components:ModelAccess", name, {}, opts);
    const { model } = args;
    if (args.acceptModelAgreement && adapterFor(model.id).marketplace) {
      const offers = aws.bedrockfoundation.getModelAgreementOffersOutput(
        { modelId: model.id, offerType: "PUBLIC", region: model.region },
        { parent: this },
      );
      this.agreement = new aws.bedrockfoundation.ModelAgreement(
        `${name}-agreement`,
        {
          modelId: model.id,
          region: model.region,
          offerToken: offers.offers.apply((list) => publicOfferToken(list, model)),
        },
        {
          parent: this,
          // A newer offer token must not replace an agreement that works (as Pulumi's own example does).
          ignoreChanges: ["offerToken"],
          retainOnDelete: true,
        },
      );
    }
    this.model = { ...model, idForFunctions: this.agreement?.modelId ?? model.id };
    this.registerOutputs({ agreementModelId: this.agreement?.modelId });
  }
}
