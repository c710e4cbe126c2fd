/**
 * Configuration of the local mode.
 *
 * One source of truth: every setting of the stack (bucket, prefix, batch size, max receive count,
 * timeouts, region, model, concurrency, URL lifetime) comes from the `dev` stack's
 * `Pulumi.dev.yaml` (namespaced by the project name in `Pulumi.yaml`), then Pulumi.yaml's declared
 * defaults, the one home of every default, so `npm start` mirrors what `pulumi up` deploys.
 * Environment variables override every value; ports, the data directory, the queue name and the
 * testing knobs exist only here (LOCAL_DEFAULTS).
 */
import * as path from "node:path";
import { DEFAULTS } from "../../runtime/defaults";
import { ENV } from "../../runtime/env";
import { normalizePrefix, type Env } from "../../runtime/config";
import { apiModelBudget, BudgetTooSmallError, workerModelBudget, type ModelBudget } from "../../runtime/time-budget";
import { readStackConfig, type StackConfig } from "../../tools/stack-config";

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
  /** `json` prints the handlers' raw log lines instead of the compact form. */
  log: "LOCAL_LOG",
  /** Testing knobs for the local model. */
  modelLatency: "LOCAL_MODEL_LATENCY_MS",
  transientFailureRate: "LOCAL_MODEL_TRANSIENT_FAILURE_RATE",
  permanentFailureRate: "LOCAL_MODEL_PERMANENT_FAILURE_RATE",
  failWhenPromptIncludes: "LOCAL_MODEL_FAIL_WHEN_PROMPT_INCLUDES",
} as const;

/**
 * Defaults of what exists only in the local mode. Everything the stack defines comes from
 * Pulumi.dev.yaml and Pulumi.yaml's declared defaults.
 */
export const LOCAL_DEFAULTS = {
  host: "127.0.0.1",
  apiPort: 3000,
  s3Port: 4569,
  sqsPort: 9324,
  bedrockPort: 4599,
  dataDir: ".data",
  /** The stack lets Pulumi name its queue; locally it needs a fixed name for the URLs. */
  queueName: "couch-explorers-images",
  /**
   * With the local model: short on purpose, so a failed record comes back while you watch. With
   * MODEL=bedrock the stack's value (DEFAULTS.visibilityTimeoutFactor × the worker timeout) applies.
   */
  visibilityTimeoutSeconds: 30,
  pollers: 2,
  /** Pause of the worker between receives while the queue is empty (see local/app/worker.ts). */
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
  workerConcurrency: number;
  urlExpirySeconds: number;
  /** BEDROCK_MAX_ATTEMPTS, when the environment sets it: tries per model call of both handlers. */
  modelAttempts?: number;
  /**
   * How long one worker invocation may take: the shorter of the visibility timeout and the stack's
   * worker timeout. The local worker hands the queue handler a context counting down from it, so
   * every model call of a batch ends before its records are delivered again.
   */
  workerTimeLimitSeconds: number;
  /** The stack's apiTimeoutSeconds: the local API hands the HTTP handler a context counting down from it, as Lambda does. */
  apiTimeoutSeconds: number;
  /** What those give a model call at the start of an invocation (runtime/time-budget.ts), for the banner. */
  queueModelBudget: ModelBudget;
  apiModelBudget: ModelBudget;
  localModel: {
    latencyMs: number;
    transient: number;
    permanent: number;
    /** marker → failure mode name, for deterministic per-prompt failures. */
    failWhenPromptIncludes: Array<{ marker: string; mode: string }>;
  };
  /** The stack file the values were read from, for the startup banner. */
  stackFile?: string;
}

/** A mistake in the local configuration; start.ts prints its message without a stack trace. */
export class LocalConfigError extends Error {
  override name = "LocalConfigError";
}

/** One setting: the environment variable wins, then the stack's key (named in errors as such). */
interface Setting { raw?: string; source: string }

function setting(env: Env, envName: string | undefined, stack?: StackConfig, key?: string): Setting {
  const fromEnv = envName ? env[envName]?.trim() : undefined;
  if (fromEnv) return { raw: fromEnv, source: envName! };
  const value = key !== undefined ? stack?.values[key] : undefined;
  const raw = value === undefined || value === null ? undefined : String(value).trim();
  return { raw: raw || undefined, source: key ? `${key} in ${stack?.origins[key] ?? "Pulumi.dev.yaml"}` : envName ?? "" };
}

/** A value the stack must define (Pulumi.yaml declares a default for most of them). */
function required(s: Setting, key: string, envName?: string): Setting & { raw: string } {
  if (s.raw === undefined) {
    throw new LocalConfigError(`${key} is not set in Pulumi.dev.yaml or Pulumi.yaml; set it there${envName ? ` or set ${envName}` : ""}`);
  }
  return s as Setting & { raw: string };
}

function number(s: Setting, min: number, max: number, integer = true): number | undefined {
  if (s.raw === undefined) return undefined;
  const value = Number(s.raw);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    throw new LocalConfigError(`${s.source} must be ${integer ? "an integer" : "a number"} in [${min}, ${max}], got "${s.raw}"`);
  }
  return value;
}

function parseFailureMarkers(raw: string | undefined): Array<{ marker: string; mode: string }> {
  if (!raw?.trim()) return [];
  return raw.split(",").map((pair) => {
    const at = pair.lastIndexOf("=");
    if (at <= 0) throw new LocalConfigError(`${LOCAL_ENV.failWhenPromptIncludes} takes "marker=mode,…", got "${pair}"`);
    return { marker: pair.slice(0, at).trim(), mode: pair.slice(at + 1).trim() };
  });
}

/**
 * The queue handler's model budget at the start of a local invocation. On AWS a worker invocation
 * must end within the function timeout, and the queue's visibility timeout is
 * DEFAULTS.visibilityTimeoutFactor times that. Locally there is no function timeout and the
 * visibility timeout is short (30 s, so retries are watchable): the local worker's invocation gets
 * the shorter of the two, and a time that leaves under 1 s per try stops the start here.
 */
function queueModelBudget(o: { visibilityTimeoutSeconds: number; workerTimeLimitSeconds: number; batchSize: number; workerConcurrency: number; attempts?: number }): ModelBudget {
  try {
    return workerModelBudget(o.workerTimeLimitSeconds, o);
  } catch (err) {
    if (!(err instanceof BudgetTooSmallError)) throw err;
    throw new LocalConfigError(
      `a ${o.visibilityTimeoutSeconds} s visibility timeout leaves under 1 s per model call (${err.rounds} round(s) × ${err.attempts} attempt(s), ` +
        `${DEFAULTS.storeReserveSeconds} s kept for storing); raise ${LOCAL_ENV.visibilityTimeout} or lower ${LOCAL_ENV.batchSize} / ${ENV.bedrockMaxAttempts}`,
    );
  }
}

/** The API handler's budget for the stack's apiTimeoutSeconds: the deployed API functions' own. */
function apiBudget(timeoutSeconds: number, attempts: number | undefined, stack: StackConfig): ModelBudget {
  try {
    return apiModelBudget(timeoutSeconds, attempts);
  } catch (err) {
    throw new LocalConfigError(`apiTimeoutSeconds in ${stack.origins.apiTimeoutSeconds ?? "Pulumi.dev.yaml"}: ${(err as Error).message}`);
  }
}

/** Builds the local configuration from the dev stack file and the environment. */
export function loadLocalConfig(env: Env = process.env, root = path.resolve(__dirname, "../..")): LocalConfig {
  const stack = readStackConfig(root, "dev");
  const model = (env[LOCAL_ENV.model]?.trim() || "local").toLowerCase();
  if (model !== "local" && model !== "bedrock") {
    throw new LocalConfigError(`${LOCAL_ENV.model} must be "local" or "bedrock", got "${env[LOCAL_ENV.model]}"`);
  }
  const text = (envName: string, key: string) => setting(env, envName, stack, key).raw;
  const port = (name: string, fallback: number) => number(setting(env, name), 0, 65535) ?? fallback;
  const queueName = env[LOCAL_ENV.queueName]?.trim() || LOCAL_DEFAULTS.queueName;
  const batchSize = number(required(setting(env, LOCAL_ENV.batchSize, stack, "queueBatchSize"), "queueBatchSize", LOCAL_ENV.batchSize), 1, 10000)!;
  const maxReceiveCount = number(required(setting(env, LOCAL_ENV.maxReceiveCount, stack, "maxReceiveCount"), "maxReceiveCount", LOCAL_ENV.maxReceiveCount), 1, 1000)!;
  // Only the stack defines it (no variable): the function timeout behind the stack's visibility timeout.
  const workerTimeoutSeconds = number(required(setting(env, undefined, stack, "workerTimeoutSeconds"), "workerTimeoutSeconds"), 1, 900)!;
  const visibilityTimeoutSeconds =
    number(setting(env, LOCAL_ENV.visibilityTimeout), 1, 43200) ??
    (model === "bedrock" ? DEFAULTS.visibilityTimeoutFactor * workerTimeoutSeconds : LOCAL_DEFAULTS.visibilityTimeoutSeconds);
  /** A setting of the stack: the environment's variable, then the stack file, then Pulumi.yaml's default. */
  const stackSetting = (key: string, envName: string) => required(setting(env, envName, stack, key), key, envName);
  const workerConcurrency = number(stackSetting("workerConcurrency", ENV.workerConcurrency), 1, DEFAULTS.maxWorkerConcurrency)!;
  const modelAttempts = number(setting(env, ENV.bedrockMaxAttempts), 1, 10);
  const apiTimeoutSeconds = number(required(setting(env, undefined, stack, "apiTimeoutSeconds"), "apiTimeoutSeconds"), 1, 900)!;
  const workerTimeLimitSeconds = Math.min(visibilityTimeoutSeconds, workerTimeoutSeconds);
  // An empty bucketName makes the stack create a private bucket of its own: locally, one named after project and stack.
  const bucket = text(ENV.bucket, "bucketName") ?? (stack.project ? `${stack.project}-dev` : undefined);
  return {
    host: env[LOCAL_ENV.host]?.trim() || LOCAL_DEFAULTS.host,
    region: text(ENV.region, "aws:region") ?? DEFAULTS.localRegion,
    ports: {
      api: port(LOCAL_ENV.apiPort, LOCAL_DEFAULTS.apiPort),
      s3: port(LOCAL_ENV.s3Port, LOCAL_DEFAULTS.s3Port),
      sqs: port(LOCAL_ENV.sqsPort, LOCAL_DEFAULTS.sqsPort),
      bedrock: port(LOCAL_ENV.bedrockPort, LOCAL_DEFAULTS.bedrockPort),
    },
    dataDir: path.resolve(root, env[LOCAL_ENV.dataDir]?.trim() || LOCAL_DEFAULTS.dataDir),
    model,
    bucket: required({ raw: bucket, source: ENV.bucket }, "bucketName", ENV.bucket).raw,
    // An unusable prefix is kept as given: readConfig rejects it at startup with the variable's name.
    prefix: ((raw: string) => normalizePrefix(raw) ?? raw)(stackSetting("imagePrefix", ENV.prefix).raw),
    queueName,
    dlqName: `${queueName}-dlq`,
    batchSize,
    maxReceiveCount,
    visibilityTimeoutSeconds,
    pollers: number(setting(env, LOCAL_ENV.pollers), 1, 20) ?? LOCAL_DEFAULTS.pollers,
    idlePollMs: LOCAL_DEFAULTS.idlePollMs,
    modelId: stackSetting("modelId", ENV.modelId).raw,
    bedrockRegion: stackSetting("bedrockRegion", ENV.bedrockRegion).raw,
    workerConcurrency,
    urlExpirySeconds: number(stackSetting("urlExpirySeconds", ENV.urlExpirySeconds), 1, 604800)!,
    modelAttempts,
    workerTimeLimitSeconds,
    apiTimeoutSeconds,
    queueModelBudget: queueModelBudget({
      visibilityTimeoutSeconds,
      workerTimeLimitSeconds,
      batchSize,
      workerConcurrency,
      attempts: modelAttempts,
    }),
    apiModelBudget: apiBudget(apiTimeoutSeconds, modelAttempts, stack),
    localModel: {
      latencyMs: number(setting(env, LOCAL_ENV.modelLatency), 0, 600000) ?? 0,
      transient: number(setting(env, LOCAL_ENV.transientFailureRate), 0, 1, false) ?? 0,
      permanent: number(setting(env, LOCAL_ENV.permanentFailureRate), 0, 1, false) ?? 0,
      failWhenPromptIncludes: parseFailureMarkers(env[LOCAL_ENV.failWhenPromptIncludes]),
    },
    stackFile: stack.file,
  };
}
