/** What `npm start` prints once everything listens: endpoints, queues and ready-to-paste examples. */
import { API_KEY_HEADER } from "../../runtime/api-access";
import { ENV } from "../../runtime/env";
import { LOCAL_CREDENTIALS } from "../fakes/credentials";
import type { LocalConfig } from "./config";
import { objectStoreDirectory, queueJournalFile, type LocalMode } from "./start";

/** `AWS_ENDPOINT_URL_S3=… AWS_ENDPOINT_URL_SQS=… …`: the endpoint variables the handlers were given. */
function endpointVariables(mode: LocalMode): string {
  return Object.entries(mode.handlerEnv)
    .filter(([name]) => ([ENV.s3Endpoint, ENV.sqsEndpoint, ENV.bedrockEndpoint] as string[]).includes(name))
    .map(([name, value]) => `${name}=${value}`)
    .join(" ");
}

/** "model calls: 3 tries of up to 8.6 s", as an invocation starts. */
function budgetText({ attempts, tryTimeoutMs }: LocalConfig["queueModelBudget"]): string {
  return `model calls: ${attempts} ${attempts === 1 ? "try" : "tries"} of up to ${Number((tryTimeoutMs / 1000).toFixed(1))} s`;
}

/** The keys the picture routes need, when the stack asks for keys. */
function apiKeyLines(mode: LocalMode): string[] {
  if (!mode.apiKeys) return [];
  const { keys, dailyQuota } = mode.apiKeys;
  return [
    ...Object.entries(keys).map(([name, value]) => `  api key        ${name}: ${value}`),
    `  (POST /generate and POST /images need -H '${API_KEY_HEADER}: <key>'; ${dailyQuota} a day per key)`,
  ];
}

/** `-H 'x-api-key: …'` with the first key, for the examples; nothing when no key is needed. */
function keyHeader(mode: LocalMode): string {
  const first = Object.values(mode.apiKeys?.keys ?? {})[0];
  return first ? ` -H '${API_KEY_HEADER}: ${first}'` : "";
}

/** The startup banner: endpoints, queues and ready-to-paste examples. */
export function banner(mode: LocalMode): string {
  const { config, api, objectStore, queue, bedrock } = mode;
  const lines = [
    "",
    "Couch Explorers — local mode",
    `  gallery        ${api.url}/`,
    `  API            ${api.url}   (POST /generate, POST /images, GET /images/{id}, GET /health)`,
    `  object store   ${objectStore.url}   bucket ${config.bucket}, prefix ${config.prefix}/, files in ${objectStoreDirectory(config)}`,
    `  queue          ${queue.queueUrl}`,
    `  dead letters   ${queue.dlqUrl}   (after ${config.maxReceiveCount} receives)`,
    bedrock
      ? `  model          ${bedrock.url}   (offline renderer posing as ${config.modelId}; MODEL=bedrock for the real one)`
      : `  model          Amazon Bedrock ${config.modelId} in ${config.bedrockRegion}, with your AWS credentials`,
    `  worker         batch size ${config.batchSize}, visibility timeout ${config.visibilityTimeoutSeconds} s, ${config.pollers} poller(s), ${budgetText(config.queueModelBudget)}`,
    `  config         ${config.stackFile ?? "Pulumi.yaml defaults (no Pulumi.dev.yaml)"} + environment overrides`,
    // The handlers' own endpoint settings, in the variables the AWS CLI and SDKs read too.
    `  endpoints      ${endpointVariables(mode)}`,
    ...apiKeyLines(mode),
  ];
  if (queue.restored.queue || queue.restored.dlq) {
    lines.push(
      `  restored       ${queue.restored.queue} queued and ${queue.restored.dlq} dead-letter message(s) from ${queueJournalFile(config)}`,
    );
  }
  lines.push(
    "",
    "Try it:",
    `  curl -X POST ${api.url}/generate${keyHeader(mode)} -H 'content-type: application/json' -d '{"prompt":"me at a Parisian café, old polaroid look"}'`,
    `  curl -X POST ${api.url}/images${keyHeader(mode)} -d '{"prompt":"me on top of a pyramid at sunset"}'   # then GET ${api.url}/images/<id>`,
    `  export ${endpointVariables(mode)} AWS_ACCESS_KEY_ID=${LOCAL_CREDENTIALS.accessKeyId} AWS_SECRET_ACCESS_KEY=${LOCAL_CREDENTIALS.secretAccessKey}`,
    `  aws --region ${config.region} sqs send-message --queue-url ${queue.queueUrl} --message-body "me on top of a pyramid"`,
    "",
    `Local mode ready: ${api.url}  (Ctrl-C stops; every queued message is kept in ${queueJournalFile(config)})`,
  );
  return lines.join("\n");
}
