/**
 * `npm run model-check -- <stack>`: the lifecycle gate. Reads the stack's model and Bedrock region
 * (Pulumi.<stack>.yaml over Pulumi.yaml's defaults, the reader local mode and the infra tests use)
 * and asks Bedrock's control plane for the model's state (GetFoundationModel →
 * modelLifecycle.status, https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.html).
 *
 *   ACTIVE                      → one line, exit 0
 *   LEGACY                      → exit 1 naming the state and the setting to change; with
 *                                 allowLegacyModel: true in the stack, a warning and exit 0
 *   not found / past end of life / access denied / no adapter for the model → exit 1, saying what to do
 *   no stack / Bedrock unreachable / no credentials → exit 2
 *
 * Credentials and region come from the SDK's standard chain; the SDK itself honours the endpoint
 * override AWS_ENDPOINT_URL_BEDROCK (or AWS_ENDPOINT_URL), which is how it is tested against the
 * local Bedrock-compatible server. CI runs it before every `pulumi preview` and `pulumi up`.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { BedrockClient, GetFoundationModelCommand, type FoundationModelLifecycle } from "@aws-sdk/client-bedrock";
import { readStackConfig, type StackConfig } from "../tools/stack-config";
import { adapterFor } from "../runtime/models";

export interface ModelCheckLine {
  stream: "stdout" | "stderr";
  text: string;
}

export interface ModelCheckResult {
  exitCode: 0 | 1 | 2;
  lines: ModelCheckLine[];
}

const REPO_ROOT = resolve(__dirname, "..");

/** The project's default model (Pulumi.yaml), named as the active one to change to. */
function activeExample(root: string): string {
  const { modelId, bedrockRegion } = readStackConfig(root, null).values;
  return `an active model such as ${String(modelId)} (bedrockRegion ${String(bedrockRegion)})`;
}

const done = (exitCode: ModelCheckResult["exitCode"], ...lines: ModelCheckLine[]): ModelCheckResult => ({
  exitCode,
  lines,
});
const out = (text: string): ModelCheckLine => ({ stream: "stdout", text });
const err = (text: string): ModelCheckLine => ({ stream: "stderr", text });

/** A stack setting that may be a YAML boolean or the string `pulumi config set` writes. */
const isTrue = (value: unknown) => value === true || String(value).trim().toLowerCase() === "true";

const day = (date: Date | undefined) => (date ? date.toISOString().slice(0, 10) : undefined);

function legacyLine(lifecycle: FoundationModelLifecycle): string {
  const eol = day(lifecycle.endOfLifeTime);
  return `LEGACY${eol ? ` (end of life ${eol})` : ""}: new accounts cannot use it, accounts that stop using it may lose it, and it stops working at end of life`;
}

/** Checks the model of `stack`; never throws. */
export async function checkModel(stack: string | undefined, root = REPO_ROOT): Promise<ModelCheckResult> {
  if (!stack || stack.startsWith("-")) return done(2, err("usage: npm run model-check -- <stack>   (e.g. dev or prod)"));
  if (!existsSync(join(root, `Pulumi.${stack}.yaml`))) return done(2, err(`model-check: there is no Pulumi.${stack}.yaml`));
  let config: StackConfig;
  try {
    config = readStackConfig(root, stack);
  } catch (e) {
    return done(2, err(`model-check: cannot read Pulumi.${stack}.yaml: ${(e as Error).message}`));
  }
  if (config.values.modelId === undefined || config.values.bedrockRegion === undefined) {
    return done(
      2,
      err(`model-check: modelId and bedrockRegion must be set in Pulumi.${stack}.yaml or declared with a default in Pulumi.yaml`),
    );
  }
  const modelId = String(config.values.modelId);
  const region = String(config.values.bedrockRegion);
  const file = config.origins.modelId ?? `Pulumi.${stack}.yaml`;
  const subject = `model-check ${stack}: ${modelId} in ${region}`;
  const change = `set modelId (and bedrockRegion) in Pulumi.${stack}.yaml to ${activeExample(root)}`;

  try {
    adapterFor(modelId);
  } catch (e) {
    return done(1, err(`${subject}: the functions cannot call it: ${(e as Error).message}; ${change}`));
  }

  const client = new BedrockClient({ region, maxAttempts: 2 });
  try {
    const answer = await client.send(new GetFoundationModelCommand({ modelIdentifier: modelId }));
    const lifecycle = answer.modelDetails?.modelLifecycle;
    if (lifecycle?.status === "ACTIVE") return done(0, out(`${subject} is ACTIVE (set in ${file})`));
    if (lifecycle?.status === "LEGACY") {
      if (isTrue(config.values.allowLegacyModel)) {
        return done(
          0,
          err(
            `warning: ${subject} is ${legacyLine(lifecycle)}. allowLegacyModel is true in Pulumi.${stack}.yaml, so this passes; plan the move: ${change}`,
          ),
        );
      }
      return done(
        1,
        err(
          `${subject} is ${legacyLine(lifecycle)}. ${change[0].toUpperCase()}${change.slice(1)}, or set allowLegacyModel: true there to deploy it anyway.`,
        ),
      );
    }
    return done(1, err(`${subject} has the unknown lifecycle state ${JSON.stringify(lifecycle?.status)}; ${change}`));
  } catch (e) {
    const name = (e as { name?: string }).name;
    const message = (e as Error).message;
    if (name === "ResourceNotFoundException") {
      return done(
        1,
        err(
          `${subject}: Bedrock does not know this model there: it is past its end of life, or the id or region is wrong (Bedrock said: ${message}). ${change[0].toUpperCase()}${change.slice(1)}.`,
        ),
      );
    }
    if (name === "AccessDeniedException" || name === "UnrecognizedClientException") {
      return done(
        1,
        err(
          `${subject}: access denied (Bedrock said: ${message}). The checking credentials need bedrock:GetFoundationModel in ${region}; the deploying role also bedrock:ListFoundationModelAgreementOffers and bedrock:CreateFoundationModelAgreement (README "Image models").`,
        ),
      );
    }
    return done(2, err(`${subject}: could not ask Bedrock (${name ?? "Error"}: ${message}); check the credentials and the network`));
  } finally {
    client.destroy();
  }
}

if (require.main === module) {
  checkModel(process.argv[2]).then((result) => {
    for (const line of result.lines) (line.stream === "stdout" ? process.stdout : process.stderr).write(`${line.text}\n`);
    process.exitCode = result.exitCode;
  });
}
