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
import { API_AUTH_MODES, isDailyQuota, type ApiAuth } from "../../runtime/api-access";
import { normalizePrefix, NUMBER_VARIABLES, type Env } from "../../runtime/config";
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
  /** Overrides of the stack's apiAuth and apiKeyDailyQuota (local/app/api-keys.ts). */
  apiAuth: "API_AUTH",
  apiKeyDailyQuota: "API_KEY_DAILY_QUOTA",
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
  /**
   * The worker's long poll: Lambda's event source mapping long-polls a standard queue
   * (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, "Scaling and processing"), and 20 s
   * is the longest wait SQS allows.
   */
  receiveWaitSeconds: 20,
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
  receiveWaitSeconds: number;
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
  /** Who may call the picture routes (the stack's apiAuth); with apiKey, the key names and their daily quota. */
  apiAccess: { auth: "none" } | { auth: "apiKey"; keyNames: string[]; dailyQuota: number };
  /** The stack file the values were read from, for the startup banner. */
  stackFile?: string;
}

/** A mistake in the local configuration; start.ts prints its message without a stack trace. */
export class LocalConfigError extends Error {
  override name = "LocalConfigError";
}

/** One setting: the environment variable wins, then the stack's key (named in errors as such). */
interface Setting {
  raw?: string;
  source: string;
}

function setting(env: Env, envName: string | undefined, stack?: StackConfig, key?: string): Setting {
  const fromEnv = envName ? env[envName]?.trim() : undefined;
  if (fromEnv) return { raw: fromEnv, source: envName! };
  const value = key !== undefined ? stack?.values[key] : undefined;
  const raw = value === undefined || value === null ? undefined : String(value).trim();
  return {
    raw: raw || undefined,
    source: key ? `${key} in ${stack?.origins[key] ?? "Pulumi.dev.yaml"}` : (envName ?? ""),
  };
}

/** A value the stack must define (Pulumi.yaml declares a default for most of them). */
function requiredSetting(s: Setting, key: string, envName?: string): Setting & { raw: string } {
  if (s.raw === undefined) {
    throw new LocalConfigError(`${key} is not set in Pulumi.dev.yaml or Pulumi.yaml; set it there${envName ? ` or set ${envName}` : ""}`);
  }
  return s as Setting & { raw: string };
}

/** An accepted range: the handlers' own (runtime NUMBER_VARIABLES) for what they read, the local mode's for the rest. */
interface Range {
  min: number;
  max: number;
}

/** Ranges of what only the local mode or the stack itself reads. */
const PORT: Range = { min: 0, max: 65535 };
const FUNCTION_TIMEOUT_SECONDS: Range = { min: 1, max: 900 };

function number(s: Setting, { min, max }: Range, integer = true): number | undefined {
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
function queueModelBudget(o: {
  visibilityTimeoutSeconds: number;
  workerTimeLimitSeconds: number;
  batchSize: number;
  workerConcurrency: number;
  attempts?: number;
}): ModelBudget {
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

/** Reads settings: the environment's variable, then the stack file, then Pulumi.yaml's default. */
interface Reader {
  env: Env;
  stack: StackConfig;
  /** A value of the stack (envName undefined: the stack alone defines it) that must be set. */
  required(key: string, envName?: string): Setting & { raw: string };
  /** A number of the stack in `range`. */
  stackNumber(key: string, envName: string | undefined, range: Range): number;
  /** A number only the environment sets, in `range`. */
  envNumber(envName: string, range: Range, integer?: boolean): number | undefined;
}

function reader(env: Env, stack: StackConfig): Reader {
  const required = (key: string, envName?: string) => requiredSetting(setting(env, envName, stack, key), key, envName);
  return {
    env,
    stack,
    required,
    stackNumber: (key, envName, range) => number(required(key, envName), range)!,
    envNumber: (envName, range, integer) => number(setting(env, envName), range, integer),
  };
}

/** Builds the local configuration from the dev stack file and the environment. */
export function loadLocalConfig(env: Env = process.env, root = path.resolve(__dirname, "../..")): LocalConfig {
  const read = reader(env, readStackConfig(root, "dev"));
  const model = modelMode(env);
  const queue = queueSettings(read, model);
  const handlers = handlerSettings(read);
  return {
    ...machineSettings(env, root),
    region: setting(env, ENV.region, read.stack, "aws:region").raw ?? DEFAULTS.localRegion,
    model,
    ...queue,
    ...handlers,
    queueModelBudget: queueModelBudget({
      ...queue,
      workerConcurrency: handlers.workerConcurrency,
      attempts: handlers.modelAttempts,
    }),
    apiModelBudget: apiBudget(handlers.apiTimeoutSeconds, handlers.modelAttempts, read.stack),
    localModel: localModelKnobs(read),
    apiAccess: apiAccess(read),
    stackFile: read.stack.file,
  };
}

function modelMode(env: Env): LocalConfig["model"] {
  const model = (env[LOCAL_ENV.model]?.trim() || "local").toLowerCase();
  if (model !== "local" && model !== "bedrock") {
    throw new LocalConfigError(`${LOCAL_ENV.model} must be "local" or "bedrock", got "${env[LOCAL_ENV.model]}"`);
  }
  return model;
}

/** Host, ports and data directory: this machine's, not the stack's. */
function machineSettings(env: Env, root: string): Pick<LocalConfig, "host" | "ports" | "dataDir"> {
  const port = (name: string, fallback: number) => number(setting(env, name), PORT) ?? fallback;
  return {
    host: env[LOCAL_ENV.host]?.trim() || LOCAL_DEFAULTS.host,
    ports: {
      api: port(LOCAL_ENV.apiPort, LOCAL_DEFAULTS.apiPort),
      s3: port(LOCAL_ENV.s3Port, LOCAL_DEFAULTS.s3Port),
      sqs: port(LOCAL_ENV.sqsPort, LOCAL_DEFAULTS.sqsPort),
      bedrock: port(LOCAL_ENV.bedrockPort, LOCAL_DEFAULTS.bedrockPort),
    },
    dataDir: path.resolve(root, env[LOCAL_ENV.dataDir]?.trim() || LOCAL_DEFAULTS.dataDir),
  };
}

type QueueSettings = Pick<
  LocalConfig,
  | "queueName"
  | "dlqName"
  | "batchSize"
  | "maxReceiveCount"
  | "visibilityTimeoutSeconds"
  | "workerTimeLimitSeconds"
  | "pollers"
  | "receiveWaitSeconds"
>;

/** The queue and the worker polling it. */
function queueSettings(read: Reader, model: LocalConfig["model"]): QueueSettings {
  const queueName = read.env[LOCAL_ENV.queueName]?.trim() || LOCAL_DEFAULTS.queueName;
  const batchSize = read.stackNumber("queueBatchSize", LOCAL_ENV.batchSize, { min: 1, max: 10000 });
  const maxReceiveCount = read.stackNumber("maxReceiveCount", LOCAL_ENV.maxReceiveCount, NUMBER_VARIABLES.maxReceiveCount);
  // Only the stack defines it (no variable): the function timeout behind the stack's visibility timeout.
  const workerTimeoutSeconds = read.stackNumber("workerTimeoutSeconds", undefined, FUNCTION_TIMEOUT_SECONDS);
  const visibilityTimeoutSeconds =
    read.envNumber(LOCAL_ENV.visibilityTimeout, { min: 1, max: 43200 }) ??
    (model === "bedrock" ? DEFAULTS.visibilityTimeoutFactor * workerTimeoutSeconds : LOCAL_DEFAULTS.visibilityTimeoutSeconds);
  return {
    queueName,
    dlqName: `${queueName}-dlq`,
    batchSize,
    maxReceiveCount,
    visibilityTimeoutSeconds,
    workerTimeLimitSeconds: Math.min(visibilityTimeoutSeconds, workerTimeoutSeconds),
    pollers: read.envNumber(LOCAL_ENV.pollers, { min: 1, max: 20 }) ?? LOCAL_DEFAULTS.pollers,
    receiveWaitSeconds: LOCAL_DEFAULTS.receiveWaitSeconds,
  };
}

type HandlerSettings = Pick<
  LocalConfig,
  "bucket" | "prefix" | "modelId" | "bedrockRegion" | "workerConcurrency" | "urlExpirySeconds" | "modelAttempts" | "apiTimeoutSeconds"
>;

/** What the handlers are told, in the ranges they accept (runtime/config.ts). */
function handlerSettings(read: Reader): HandlerSettings {
  // An empty bucketName makes the stack create a private bucket of its own: locally, one named after project and stack.
  const bucket =
    setting(read.env, ENV.bucket, read.stack, "bucketName").raw ?? (read.stack.project ? `${read.stack.project}-dev` : undefined);
  return {
    bucket: requiredSetting({ raw: bucket, source: ENV.bucket }, "bucketName", ENV.bucket).raw,
    // An unusable prefix is kept as given: readConfig rejects it at startup with the variable's name.
    prefix: ((raw: string) => normalizePrefix(raw) ?? raw)(read.required("imagePrefix", ENV.prefix).raw),
    modelId: read.required("modelId", ENV.modelId).raw,
    bedrockRegion: read.required("bedrockRegion", ENV.bedrockRegion).raw,
    workerConcurrency: read.stackNumber("workerConcurrency", ENV.workerConcurrency, NUMBER_VARIABLES.workerConcurrency),
    urlExpirySeconds: read.stackNumber("urlExpirySeconds", ENV.urlExpirySeconds, NUMBER_VARIABLES.urlExpirySeconds),
    modelAttempts: read.envNumber(ENV.bedrockMaxAttempts, NUMBER_VARIABLES.bedrockMaxAttempts),
    apiTimeoutSeconds: read.stackNumber("apiTimeoutSeconds", undefined, FUNCTION_TIMEOUT_SECONDS),
  };
}

/** The local model's testing knobs (LOCAL_MODEL_*). */
function localModelKnobs(read: Reader): LocalConfig["localModel"] {
  return {
    latencyMs: read.envNumber(LOCAL_ENV.modelLatency, { min: 0, max: 600000 }) ?? 0,
    transient: read.envNumber(LOCAL_ENV.transientFailureRate, { min: 0, max: 1 }, false) ?? 0,
    permanent: read.envNumber(LOCAL_ENV.permanentFailureRate, { min: 0, max: 1 }, false) ?? 0,
    failWhenPromptIncludes: parseFailureMarkers(read.env[LOCAL_ENV.failWhenPromptIncludes]),
  };
}

/** The stack's apiAuth (API_AUTH overrides it); with apiKey, its key names and daily quota (API_KEY_DAILY_QUOTA overrides it). */
function apiAccess({ env, stack }: Reader): LocalConfig["apiAccess"] {
  const auth = (env[LOCAL_ENV.apiAuth]?.trim() || String(stack.values.apiAuth)) as ApiAuth;
  if (!API_AUTH_MODES.includes(auth))
    throw new LocalConfigError(`apiAuth (${LOCAL_ENV.apiAuth}) must be one of ${API_AUTH_MODES.join(", ")}, got "${auth}"`);
  if (auth === "none") return { auth };
  const dailyQuota = Number(env[LOCAL_ENV.apiKeyDailyQuota]?.trim() || stack.values.apiKeyDailyQuota);
  if (!isDailyQuota(dailyQuota))
    throw new LocalConfigError(`apiKeyDailyQuota (${LOCAL_ENV.apiKeyDailyQuota}) must be a positive integer, got "${dailyQuota}"`);
  return { auth, keyNames: stack.values.apiKeyNames as string[], dailyQuota };
}
