/**
 * How the functions are told where pictures go and which model draws them: the handler settings
 * every function shares (written as environment variables by runtime toHandlerEnv) and the
 * matching IAM statement.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { HandlerSettings } from "../runtime/config";
import { adapterFor } from "../runtime/models";
import type { BucketPrefixAccess } from "./bucketPrefixAccess";
import { boundaryPolicyName, resourcePrefix } from "./names";
import type { PolicyStatement } from "./policy";

/** A Bedrock foundation model in its own region (Stability AI's run in us-west-2, the rest in eu-west-1). */
export interface FoundationModel {
  id: string;
  region: string;
  /** `arn:<partition>:bedrock:<region>::foundation-model/<id>`: the only thing the roles may invoke. */
  arn: pulumi.Output<string>;
  /**
   * The id as the functions are configured with it. When the stack accepts the model's agreement
   * it is the agreement's output, so no function exists before the model may be called.
   */
  idForFunctions: pulumi.Input<string>;
}

export function foundationModel(id: string, region: string): FoundationModel {
  // An inference profile ("us.amazon.nova-canvas-v1:0") needs other ARNs (the profile's, with the
  // account, plus each region's foundation model); granting the foundation-model ARN alone would
  // deploy fine and then fail every call with AccessDenied. Say so at preview time instead.
  if (/^[a-z]{2,4}\./.test(id)) {
    throw new Error(
      `modelId "${id}" is a cross-region inference profile; this program grants foundation models only: use the model id without the "${id.split(".")[0]}." prefix`,
    );
  }
  // A model no adapter speaks would deploy and then answer 500 to every request: say so at preview time.
  adapterFor(id);
  const partition = aws.getPartitionOutput().partition;
  return {
    id,
    region,
    arn: pulumi.interpolate`arn:${partition}:bedrock:${region}::foundation-model/${id}`,
    idForFunctions: id,
  };
}

export function invokeModelStatement(model: FoundationModel): PolicyStatement {
  return { Sid: "InvokeTheConfiguredModel", Effect: "Allow", Action: ["bedrock:InvokeModel"], Resource: model.arn };
}

/** Who the stack belongs to in a shared account: the prefix of its names and the boundary of its roles. */
export interface StackIdentity {
  /** `<candidate>-<stack>` (components/names.ts): every resource name and the metrics' Service dimension. */
  serviceName: string;
  /** ARN of the bootstrap's permissions boundary, which every role this program creates must carry. */
  permissionsBoundary: pulumi.Output<string>;
}

export function stackIdentity(candidate: string): StackIdentity {
  const partition = aws.getPartitionOutput().partition;
  const account = aws.getCallerIdentityOutput().accountId;
  return {
    serviceName: resourcePrefix(candidate, pulumi.getStack()),
    permissionsBoundary: pulumi.interpolate`arn:${partition}:iam::${account}:policy/${boundaryPolicyName(pulumi.getProject(), candidate)}`,
  };
}

/** What every handler is told: the bucket, the prefix, the model and the metrics' service name. */
export function commonSettings(
  storage: BucketPrefixAccess,
  model: FoundationModel,
  serviceName: string,
): HandlerSettings<pulumi.Input<string>> {
  return {
    metricsService: serviceName,
    bucket: storage.bucketName,
    prefix: storage.prefix,
    modelId: model.idForFunctions,
    bedrockRegion: model.region,
  };
}
