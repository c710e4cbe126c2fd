/**
 * Configuration of the local mode.
 *
 * One source of truth: bucket, prefix, queue and model settings come from the `dev` stack's
 * `Pulumi.dev.yaml` (namespaced by the project name in `Pulumi.yaml`), so `npm start` mirrors what
 * `pulumi up` deploys. Environment variables override every value; ports, the data directory and
 * the testing knobs exist only here.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { DEFAULTS, ENV } from "../runtime/defaults";
import { normalizePrefix } from "../runtime/config";

export type Env = Record<string, string | undefined>;

/** Environment variables read by the local mode itself (the handler variables are in `ENV`). */
export const LOCAL_ENV = {
  host: "LOCAL_HOST",
  apiPort: "LOCAL_API_PORT",
  s3Port: "LOCAL_S3_PORT",
  sqsPort: "LOCAL_SQS_PORT",
  bedrockPort: "LOCAL_BEDROCK_PORT",
  dataDir: "LOCAL_DATA_DIR",
  /** `local` (default): offline renderer behind a Bedrock-compatible endpoint; `bedrock`: real Bedrock. */
  model: "MODEL",
  queueName: "QUEUE_NAME",
  batchSize: "QUEUE_BATCH_SIZE",
  maxReceiveCount: "MAX_RECEIVE_COUNT",
  visibilityTimeout: "LOCAL_VISIBILITY_TIMEOUT_SECONDS",
  pollers: "LOCAL_WORKER_POLLERS",
  /** Testing knobs for the local model. */
  modelLatency: "LOCAL_MODEL_LATENCY_MS",
  transientFailureRate: "LOCAL_MODEL_TRANSIENT_FAILURE_RATE",
  permanentFailureRate: "LOCAL_MODEL_PERMANENT_FAILURE_RATE",
  failWhenPromptIncludes: "LOCAL_MODEL_FAIL_WHEN_PROMPT_INCLUDES",
} as const;

/** Fixed defaults of the local mode (the stack defaults live in runtime/defaults.ts). */
export const LOCAL_DEFAULTS = {
  host: "127.0.0.1",
  apiPort: 3000,
  s3Port: 4569,
  sqsPort: 9324,
  bedrockPort: 4599,
  dataDir: ".data",
  bucket: "couch-explorers-local",
  prefix: "local",
  queueName: "couch-explorers-images",
  batchSize: 5,
  maxReceiveCount: 3,
  /**
   * With the local model: short on purpose, so a failed record comes back while you watch. With
   * MODEL=bedrock the stack's value (six times the worker timeout) applies, as calls take longer.
   */
  visibilityTimeoutSeconds: 30,
  workerTimeoutSeconds: 180,
  region: "eu-west-1",
  pollers: 2,
  /** Pause of the worker between receives while the queue is empty (see local/worker.ts). */
  idlePollMs: 100,
} as const;

export interface LocalConfig {
  host: string;
  /** The stack's region (aws:region); cosmetic for the local S3 and SQS. */
  region: string;
  ports: { api: number; s3: number; sqs: number; bedrock: number };
  dataDir: string;
  model: "local" | "bedrock";
  bucket: string;
  prefix: string;
  queueName: string;
  dlqName: string;
  batchSize: number;
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
  pollers: number;
  idlePollMs: number;
  modelId: string;
  bedrockRegion: string;
  workerConcurrency?: number;
  urlExpirySeconds?: number;
  localModel: {
    latencyMs: number;
    transient: number;
    permanent: number;
    /** marker → failure mode name, for deterministic per-prompt failures. */
    failWhenPromptIncludes: Array<{ marker: string; mode: string }>;
  };
  /** Where each stack value came from, for the startup banner. */
  stackFile?: string;
}

/** A mistake in the local configuration; start.ts prints its message without a stack trace. */
export class LocalConfigError extends Error {}

/**
 * Reads `Pulumi.yaml` + `Pulumi.<stack>.yaml` and returns the stack's config without the project
 * namespace; values the stack file leaves out take the project's declared defaults.
 */
export function readStackConfig(root: string, stack = "dev"): { values: Record<string, unknown>; file?: string } {
  const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
  const projectFile = path.join(root, "Pulumi.yaml");
  const projectDoc = existsSync(projectFile) ? parse(readFileSync(projectFile, "utf8")) : undefined;
  const project = projectDoc?.name as string | undefined;
  const values: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries((projectDoc?.config ?? {}) as Record<string, unknown>)) {
    const declared = schema && typeof schema === "object" ? (schema as { default?: unknown }).default : schema;
    if (declared !== undefined) values[name] = declared;
  }
  if (!existsSync(stackFile)) return { values };
  const config = (parse(readFileSync(stackFile, "utf8"))?.config ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(config)) {
    const at = key.indexOf(":");
    // Keys of other namespaces (aws:region, …) stay namespaced; ours lose the project prefix.
    if (at < 0) values[key] = value;
    else if (key.slice(0, at) === project) values[key.slice(at + 1)] = value;
    else values[key] = value;
  }
  return { values, file: stackFile };
}

function pick(values: Record<string, unknown>, names: string[]): unknown {
  for (const name of names) if (values[name] !== undefined && values[name] !== null) return values[name];
  return undefined;
}

function textValue(env: Env, envName: string, stack: unknown, fallback: string): string {
  const fromEnv = env[envName]?.trim();
  if (fromEnv) return fromEnv;
  if (typeof stack === "string" && stack.trim()) return stack.trim();
  return fallback;
}

function numberValue(env: Env, envName: string, stack: unknown, fallback: number, min: number, max: number, integer = true): number {
  const raw = env[envName]?.trim() || (stack === undefined ? undefined : String(stack));
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    throw new LocalConfigError(`${envName} must be ${integer ? "an integer" : "a number"} in [${min}, ${max}], got "${raw}"`);
  }
  return value;
}

function optionalNumber(env: Env, envName: string, stack: unknown, min: number, max: number): number | undefined {
  const present = env[envName]?.trim() || stack !== undefined;
  return present ? numberValue(env, envName, stack, 0, min, max) : undefined;
}

function parseFailureMarkers(raw: string | undefined): Array<{ marker: string; mode: string }> {
  if (!raw?.trim()) return [];
  return raw.split(",").map((pair) => {
    const at = pair.lastIndexOf("=");
    if (at <= 0) throw new LocalConfigError(`${LOCAL_ENV.failWhenPromptIncludes} takes "marker=mode,…", got "${pair}"`);
    return { marker: pair.slice(0, at).trim(), mode: pair.slice(at + 1).trim() };
  });
}

/** Builds the local configuration from the dev stack file and the environment. */
export function loadLocalConfig(env: Env = process.env, root = path.resolve(__dirname, "..")): LocalConfig {
  const { values, file } = readStackConfig(root, "dev");
  const model = (env[LOCAL_ENV.model]?.trim() || "local").toLowerCase();
  if (model !== "local" && model !== "bedrock") {
    throw new LocalConfigError(`${LOCAL_ENV.model} must be "local" or "bedrock", got "${env[LOCAL_ENV.model]}"`);
  }
  const queueName = textValue(env, LOCAL_ENV.queueName, pick(values, ["queueName"]), LOCAL_DEFAULTS.queueName);
  const dataDir = path.resolve(root, env[LOCAL_ENV.dataDir]?.trim() || LOCAL_DEFAULTS.dataDir);
  const port = (name: string, fallback: number) => numberValue(env, name, undefined, fallback, 0, 65535);
  return {
    host: env[LOCAL_ENV.host]?.trim() || LOCAL_DEFAULTS.host,
    region: textValue(env, "AWS_REGION", values["aws:region"], LOCAL_DEFAULTS.region),
    ports: {
      api: port(LOCAL_ENV.apiPort, LOCAL_DEFAULTS.apiPort),
      s3: port(LOCAL_ENV.s3Port, LOCAL_DEFAULTS.s3Port),
      sqs: port(LOCAL_ENV.sqsPort, LOCAL_DEFAULTS.sqsPort),
      bedrock: port(LOCAL_ENV.bedrockPort, LOCAL_DEFAULTS.bedrockPort),
    },
    dataDir,
    model,
    bucket: textValue(env, ENV.bucket, pick(values, ["bucketName", "bucket"]), LOCAL_DEFAULTS.bucket),
    // An unusable prefix is kept as given: readConfig rejects it at startup with the variable's name.
    prefix: ((raw: string) => normalizePrefix(raw) ?? raw)(textValue(env, ENV.prefix, pick(values, ["imagePrefix", "prefix"]), LOCAL_DEFAULTS.prefix)),
    queueName,
    dlqName: `${queueName}-dlq`,
    batchSize: numberValue(env, LOCAL_ENV.batchSize, pick(values, ["queueBatchSize", "batchSize"]), LOCAL_DEFAULTS.batchSize, 1, 10000),
    maxReceiveCount: numberValue(env, LOCAL_ENV.maxReceiveCount, pick(values, ["maxReceiveCount"]), LOCAL_DEFAULTS.maxReceiveCount, 1, 1000),
    visibilityTimeoutSeconds: numberValue(
      env,
      LOCAL_ENV.visibilityTimeout,
      undefined,
      model === "bedrock"
        ? 6 * numberValue({}, "workerTimeoutSeconds", pick(values, ["workerTimeoutSeconds"]), LOCAL_DEFAULTS.workerTimeoutSeconds, 1, 900)
        : LOCAL_DEFAULTS.visibilityTimeoutSeconds,
      1,
      43200,
    ),
    pollers: numberValue(env, LOCAL_ENV.pollers, undefined, LOCAL_DEFAULTS.pollers, 1, 20),
    idlePollMs: LOCAL_DEFAULTS.idlePollMs,
    modelId: textValue(env, ENV.modelId, pick(values, ["modelId"]), DEFAULTS.modelId),
    bedrockRegion: textValue(env, ENV.bedrockRegion, pick(values, ["bedrockRegion"]), DEFAULTS.bedrockRegion),
    workerConcurrency: optionalNumber(env, ENV.workerConcurrency, pick(values, ["workerConcurrency"]), 1, DEFAULTS.maxWorkerConcurrency),
    urlExpirySeconds: optionalNumber(env, ENV.urlExpirySeconds, pick(values, ["urlExpirySeconds"]), 1, 604800),
    localModel: {
      latencyMs: numberValue(env, LOCAL_ENV.modelLatency, undefined, 0, 0, 600000),
      transient: numberValue(env, LOCAL_ENV.transientFailureRate, undefined, 0, 0, 1, false),
      permanent: numberValue(env, LOCAL_ENV.permanentFailureRate, undefined, 0, 0, 1, false),
      failWhenPromptIncludes: parseFailureMarkers(env[LOCAL_ENV.failWhenPromptIncludes]),
    },
    stackFile: file,
  };
}
