/**
 * The stack's settings, read once and typed.
 *
 * Each default has one home, Pulumi.yaml: the Pulumi CLI hands the program a key's declared default
 * when the stack file leaves it out (and refuses to run a stack that leaves out a declared key
 * without one), and the local mode reads the same two files (tools/stack-config.ts). So the components
 * take required values, named as the keys are, and nothing in the program repeats a default. (The
 * other way, SST's `@default` beside a `??` in each component's Args, would leave the local mode,
 * which cannot load Pulumi components, without the defaults.)
 */
import * as pulumi from "@pulumi/pulumi";
import { API_AUTH_MODES, isDailyQuota, type ApiAuth } from "../runtime/api-access";

/** AWS's lower bound for an SQS event source's maxReceiveCount (RULES). */
export const MIN_MAX_RECEIVE_COUNT = 5;

/** Each key Pulumi.yaml declares that the program reads, with its schema type. */
const KEYS = {
  candidate: "string",
  bucketName: "string",
  imagePrefix: "string",
  alarmEmail: "string",
  modelId: "string",
  bedrockRegion: "string",
  acceptModelAgreement: "boolean",
  urlExpirySeconds: "integer",
  workerConcurrency: "integer",
  apiTimeoutSeconds: "integer",
  apiMemoryMb: "integer",
  workerTimeoutSeconds: "integer",
  workerMemoryMb: "integer",
  queueBatchSize: "integer",
  queueMaxConcurrency: "integer",
  maxReceiveCount: "integer",
  apiThrottleRateLimit: "integer",
  apiThrottleBurstLimit: "integer",
  alarmAgeThresholdSeconds: "integer",
  alarmPeriodSeconds: "integer",
  alarmEvaluationPeriods: "integer",
  logRetentionDays: "integer",
  apiAuth: "string",
  apiKeyNames: "array",
  apiKeyDailyQuota: "integer",
  apiKeyRateLimit: "integer",
  apiKeyBurstLimit: "integer",
} as const;

interface SchemaTypes {
  string: string;
  integer: number;
  boolean: boolean;
  array: string[];
}

type Raw = { -readonly [K in keyof typeof KEYS]: SchemaTypes[(typeof KEYS)[K]] };

export type StackSettings = Omit<Raw, "apiAuth"> & { apiAuth: ApiAuth };

/**
 * What Pulumi.yaml's schema cannot say (it has types, not ranges or enums): each rule names the
 * key, so a stack that breaks one stops at preview with the key and the reason.
 */
const RULES: Array<{ key: keyof Raw; holds(s: Raw): boolean; says: string }> = [
  {
    key: "apiAuth",
    holds: (s) => (API_AUTH_MODES as readonly string[]).includes(s.apiAuth),
    says: `must be one of ${API_AUTH_MODES.join(", ")}`,
  },
  {
    // "Verify that the maxReceiveCount attribute is set to at least five": with fewer, receives lost
    // to a throttled function dead-letter healthy jobs
    // (https://aws.amazon.com/premiumsupport/knowledge-center/lambda-retrying-valid-sqs-messages/).
    key: "maxReceiveCount",
    holds: (s) => Number.isInteger(s.maxReceiveCount) && s.maxReceiveCount >= MIN_MAX_RECEIVE_COUNT && s.maxReceiveCount <= 1000,
    says: `must be an integer from ${MIN_MAX_RECEIVE_COUNT} (AWS's guidance for SQS event sources) to 1000`,
  },
  {
    key: "apiKeyNames",
    holds: (s) =>
      s.apiAuth !== "apiKey" ||
      (s.apiKeyNames.length > 0 &&
        new Set(s.apiKeyNames).size === s.apiKeyNames.length &&
        s.apiKeyNames.every((n) => /^[A-Za-z0-9_-]{1,64}$/.test(n))),
    says: "must name at least one key when apiAuth is apiKey, each once, with 1-64 letters, digits, '-' or '_'",
  },
  { key: "apiKeyDailyQuota", holds: (s) => isDailyQuota(s.apiKeyDailyQuota), says: "must be at least 1 picture a day" },
];

/** Throws, naming the key, when a setting breaks a rule the schema cannot express. */
export function checkStackSettings(settings: Raw): StackSettings {
  for (const rule of RULES) {
    if (!rule.holds(settings)) throw new Error(`config ${rule.key} ${rule.says}; got ${JSON.stringify(settings[rule.key])}`);
  }
  return settings as StackSettings;
}

/** Every setting of the stack, as the CLI resolved it (stack file over Pulumi.yaml's defaults). */
export function readStackSettings(config = new pulumi.Config()): StackSettings {
  const read = {
    string: (key: string) => config.require(key),
    integer: (key: string) => config.requireNumber(key),
    boolean: (key: string) => config.requireBoolean(key),
    array: (key: string) => config.requireObject<string[]>(key),
  };
  return checkStackSettings(Object.fromEntries(Object.entries(KEYS).map(([key, type]) => [key, read[type](key)])) as Raw);
}
