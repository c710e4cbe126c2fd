import { DEFAULTS } from "./defaults";
import { ENV } from "./env";
import { ConfigError } from "./errors";

export type Env = Record<string, string | undefined>;

/** Everything the handlers read from the environment, read once when a handler is created. */
export interface RuntimeConfig {
  bucket: string;
  /** Without leading/trailing slashes; keys are `<prefix>/…`. */
  prefix: string;
  modelId: string;
  bedrockRegion: string;
  /** Undefined when not configured: only `POST /images` needs it. */
  queueUrl?: string;
  urlExpirySeconds: number;
  workerConcurrency: number;
  /** The queue's redrive limit; undefined when unknown (then no last-delivery failure records). */
  maxReceiveCount?: number;
  bedrockTimeoutMs: number;
  bedrockMaxAttempts: number;
  /** Region of the S3/SQS clients; undefined lets the SDK's own chain decide. */
  region?: string;
  bedrockEndpoint?: string;
  s3Endpoint?: string;
  sqsEndpoint?: string;
}

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function required(env: Env, name: string): string {
  const value = text(env, name);
  if (!value) throw new ConfigError(`environment variable ${name} is required but not set`);
  return value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`environment variable ${name} must be an integer in [${min}, ${max}], got "${raw}"`);
  }
  return value;
}

/**
 * Region for the S3/SQS clients: the configured one; with a local endpoint and none configured, a
 * fixed one (local servers ignore it); otherwise undefined, so the SDK's own chain decides.
 */
export function clientRegion(config: Pick<RuntimeConfig, "region">, endpoint: string | undefined): string | undefined {
  return config.region ?? (endpoint ? DEFAULTS.localRegion : undefined);
}

/**
 * The key prefix without leading/trailing slashes, or undefined when it is unusable: empty (the
 * whole bucket), or holding "*" (an IAM wildcard) or ".." — shared by the runtime and the IAM policies.
 */
export function normalizePrefix(raw: string): string | undefined {
  const prefix = raw.trim().replace(/^\/+|\/+$/g, "");
  return prefix && !prefix.includes("*") && !prefix.includes("..") ? prefix : undefined;
}

/**
 * Bedrock client settings that make the model calls of one handler run end within `timeoutSeconds`
 * (a function timeout on AWS, the visibility timeout locally): `rounds` model calls run one after
 * another (a batch larger than the worker's concurrency runs in rounds), each with `attempts` tries,
 * and DEFAULTS.storeReserveSeconds stay for storing the picture. The per-try wait never exceeds the
 * runtime's default. A call that runs out of time then fails as a clean, retryable error instead of
 * the run being killed (AWS) or its records redelivered while still in flight (local mode).
 * Throws when the time leaves under 1 s per try.
 */
export function modelCallBudget(timeoutSeconds: number, attempts: number, rounds = 1): Record<string, string> {
  const perAttemptMs = Math.floor(((timeoutSeconds - DEFAULTS.storeReserveSeconds) * 1000) / (rounds * attempts));
  if (perAttemptMs < 1000) {
    throw new Error(`a ${timeoutSeconds} s function timeout leaves under 1 s per model call (${rounds} round(s) × ${attempts} attempt(s)); raise the timeout or lower the batch size`);
  }
  return {
    [ENV.bedrockMaxAttempts]: String(attempts),
    [ENV.bedrockTimeoutMs]: String(Math.min(DEFAULTS.bedrockTimeoutMs, perAttemptMs)),
  };
}

/**
 * The API's model-call budget for a given function timeout: DEFAULTS.apiModelAttempts tries that
 * all end before it, so a hung model answers 503 in time. The deployed API functions and the local
 * API (`npm start`) both take it from here.
 */
export function apiModelBudget(timeoutSeconds: number): Record<string, string> {
  return modelCallBudget(timeoutSeconds, DEFAULTS.apiModelAttempts);
}

/** Reads and validates the configuration; throws ConfigError naming the variable at fault. */
export function readConfig(env: Env = process.env): RuntimeConfig {
  const bucket = required(env, ENV.bucket);
  const prefix = normalizePrefix(required(env, ENV.prefix));
  if (!prefix) {
    throw new ConfigError(`environment variable ${ENV.prefix} must be a non-empty key prefix without "*" or ".."`);
  }
  return {
    bucket,
    prefix,
    modelId: text(env, ENV.modelId) ?? DEFAULTS.modelId,
    bedrockRegion: text(env, ENV.bedrockRegion) ?? DEFAULTS.bedrockRegion,
    queueUrl: text(env, ENV.queueUrl),
    urlExpirySeconds: integer(env, ENV.urlExpirySeconds, DEFAULTS.urlExpirySeconds, 1, 604800),
    workerConcurrency: integer(env, ENV.workerConcurrency, DEFAULTS.workerConcurrency, 1, DEFAULTS.maxWorkerConcurrency),
    maxReceiveCount: text(env, ENV.maxReceiveCount) === undefined ? undefined : integer(env, ENV.maxReceiveCount, 1, 1, 1000),
    bedrockTimeoutMs: integer(env, ENV.bedrockTimeoutMs, DEFAULTS.bedrockTimeoutMs, 1, 900000),
    bedrockMaxAttempts: integer(env, ENV.bedrockMaxAttempts, DEFAULTS.bedrockMaxAttempts, 1, 10),
    region: text(env, ENV.region),
    bedrockEndpoint: text(env, ENV.bedrockEndpoint),
    s3Endpoint: text(env, ENV.s3Endpoint),
    sqsEndpoint: text(env, ENV.sqsEndpoint),
  };
}
