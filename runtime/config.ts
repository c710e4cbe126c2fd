/**
 * The handlers' settings, in one contract: toHandlerEnv writes them as a function's environment
 * (the only code that does: components/, the local mode and the tests all call it), readConfig
 * reads them back once per cold start. The variables' names are in env.ts.
 */
import { DEFAULTS } from "./defaults";
import { ENV } from "./env";
import { ConfigError } from "./errors";

export type Env = Record<string, string | undefined>;

/** The services whose endpoint a local run or a test may point elsewhere. */
export type Service = "s3" | "sqs" | "bedrockRuntime";

/**
 * What configures a handler. toHandlerEnv writes it as the handler's environment, readConfig reads
 * it back. `V` is a plain string here and `pulumi.Input<string>` in components/, where values such
 * as the bucket name are known only at deployment.
 */
export interface HandlerSettings<V = string> {
  bucket: V;
  /** Keys are `<prefix>/…`; readConfig strips leading/trailing slashes. */
  prefix: V;
  modelId: V;
  bedrockRegion: V;
  /** Names the deployment (e.g. `couch-explorers-dev`) in every metric, so stacks sharing an account stay apart. */
  metricsService?: V;
  /** Only `POST /images` sends to the queue. */
  queueUrl?: V;
  urlExpirySeconds?: number;
  workerConcurrency?: number;
  /** The queue's redrive limit; the worker records a failure on a message's last delivery. */
  maxReceiveCount?: number;
  /**
   * Tries per model call; unset, each handler takes its own (DEFAULTS.apiModelAttempts for the
   * API, DEFAULTS.bedrockMaxAttempts for the worker). How long each may wait comes from the
   * invocation itself (time-budget.ts), not from here.
   */
  bedrockMaxAttempts?: number;
  /** Region of the S3/SQS clients; Lambda sets AWS_REGION itself. */
  region?: V;
  /** Local servers standing in for AWS (tests, local mode); infrastructure never sets them. */
  endpoints?: Partial<Record<Service, V>>;
}

/** Everything the handlers read from the environment, read once when a handler is created. */
export interface RuntimeConfig {
  bucket: string;
  /** Without leading/trailing slashes; keys are `<prefix>/…`. */
  prefix: string;
  modelId: string;
  bedrockRegion: string;
  metricsService?: string;
  /** The settings below are read when set; the handler that needs one says so (requireSettings). */
  queueUrl?: string;
  urlExpirySeconds?: number;
  workerConcurrency?: number;
  /** The queue's redrive limit; undefined when unknown (then no last-delivery failure records). */
  maxReceiveCount?: number;
  /** Undefined when not configured: each handler has its own default. */
  bedrockMaxAttempts?: number;
  /** Region of the S3/SQS clients; undefined lets the SDK's own chain decide. */
  region?: string;
  /** Endpoint overrides by service; empty on AWS. */
  endpoints: Partial<Record<Service, string>>;
  /**
   * True when the settings came from process.env, where the SDK finds the endpoint variables by
   * itself (see clientEndpoint).
   */
  fromProcessEnv: boolean;
}

/** Where each plain setting lives in the environment: the one table toHandlerEnv and readConfig share. */
const TEXT_VARIABLES = {
  bucket: ENV.bucket,
  prefix: ENV.prefix,
  modelId: ENV.modelId,
  bedrockRegion: ENV.bedrockRegion,
  metricsService: ENV.metricsService,
  queueUrl: ENV.queueUrl,
  region: ENV.region,
} as const;

/** Numeric settings: variable and accepted range (the local mode checks its values against the same ranges). */
export const NUMBER_VARIABLES = {
  urlExpirySeconds: { name: ENV.urlExpirySeconds, min: 1, max: 604800 },
  workerConcurrency: { name: ENV.workerConcurrency, min: 1, max: DEFAULTS.maxWorkerConcurrency },
  maxReceiveCount: { name: ENV.maxReceiveCount, min: 1, max: 1000 },
  bedrockMaxAttempts: { name: ENV.bedrockMaxAttempts, min: 1, max: 10 },
} as const;

/** The SDK's variable for each service's endpoint (AWS_ENDPOINT_URL, for all of them, is read too). */
const ENDPOINT_VARIABLES: Record<Service, string> = {
  s3: ENV.s3Endpoint,
  sqs: ENV.sqsEndpoint,
  bedrockRuntime: ENV.bedrockEndpoint,
};

/**
 * The one place that writes a handler's environment: the components, the local mode and the tests
 * all call it, and readConfig reads what it writes. Settings left undefined are left out.
 */
export function toHandlerEnv<V>(settings: HandlerSettings<V>): Record<string, V | string> {
  const env: Record<string, V | string> = {};
  for (const [key, name] of Object.entries(TEXT_VARIABLES)) {
    const value = settings[key as keyof typeof TEXT_VARIABLES];
    if (value !== undefined) env[name] = value;
  }
  for (const [key, { name }] of Object.entries(NUMBER_VARIABLES)) {
    const value = settings[key as keyof typeof NUMBER_VARIABLES];
    if (value !== undefined) env[name] = String(value);
  }
  for (const [service, name] of Object.entries(ENDPOINT_VARIABLES)) {
    const value = settings.endpoints?.[service as Service];
    if (value !== undefined) env[name] = value;
  }
  return env;
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

function integer(env: Env, name: string, min: number, max: number): number | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
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

/** The endpoint overrides in `env`, read as the SDK reads them (the service's variable, then AWS_ENDPOINT_URL). */
function endpointsOf(env: Env): Partial<Record<Service, string>> {
  if (text(env, ENV.ignoreEndpoints)?.toLowerCase() === "true") return {};
  const endpoints: Partial<Record<Service, string>> = {};
  for (const [service, name] of Object.entries(ENDPOINT_VARIABLES)) {
    const url = text(env, name) ?? text(env, ENV.anyEndpoint);
    if (url) endpoints[service as Service] = url;
  }
  return endpoints;
}

/**
 * The endpoint a client must be given explicitly: none when the handler reads process.env, since
 * the SDK then finds the same variables itself (env.ts); the override when the handler was given
 * another env object (tests, local mode), which the SDK never sees.
 */
export function clientEndpoint(config: Pick<RuntimeConfig, "endpoints" | "fromProcessEnv">, service: Service): string | undefined {
  return config.fromProcessEnv ? undefined : config.endpoints[service];
}

/** Settings only some handlers read: each names the ones it needs (requireSettings). */
export type OptionalSetting = "queueUrl" | "urlExpirySeconds" | "workerConcurrency";

/** The config with the `needed` settings present; ConfigError naming the variable of a missing one. */
export function requireSettings<K extends OptionalSetting>(
  config: RuntimeConfig,
  needed: readonly K[],
): RuntimeConfig & Required<Pick<RuntimeConfig, K>> {
  for (const key of needed) {
    if (config[key] === undefined) throw new ConfigError(`environment variable ${ENV[key]} is required but not set`);
  }
  return config as RuntimeConfig & Required<Pick<RuntimeConfig, K>>;
}

/** Reads and validates the configuration; throws ConfigError naming the variable at fault. */
export function readConfig(env: Env = process.env): RuntimeConfig {
  const bucket = required(env, ENV.bucket);
  const prefix = normalizePrefix(required(env, ENV.prefix));
  if (!prefix) {
    throw new ConfigError(`environment variable ${ENV.prefix} must be a non-empty key prefix without "*" or ".."`);
  }
  const optionalNumber = (key: keyof typeof NUMBER_VARIABLES) => {
    const { name, min, max } = NUMBER_VARIABLES[key];
    return integer(env, name, min, max);
  };
  return {
    bucket,
    prefix,
    modelId: required(env, ENV.modelId),
    bedrockRegion: required(env, ENV.bedrockRegion),
    metricsService: text(env, ENV.metricsService),
    queueUrl: text(env, ENV.queueUrl),
    urlExpirySeconds: optionalNumber("urlExpirySeconds"),
    workerConcurrency: optionalNumber("workerConcurrency"),
    maxReceiveCount: optionalNumber("maxReceiveCount"),
    bedrockMaxAttempts: optionalNumber("bedrockMaxAttempts"),
    region: text(env, ENV.region),
    endpoints: endpointsOf(env),
    fromProcessEnv: env === process.env,
  };
}
