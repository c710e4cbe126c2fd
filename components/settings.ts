/**
 * The stack's settings, read once and typed.
 *
 * Each default has one home, Pulumi.yaml: the Pulumi CLI hands the program a key's declared default
 * when the stack file leaves it out (and refuses to run a stack that leaves out a declared key
 * without one), and the local mode reads the same two files (local/config.ts). So the components
 * take required values, named as the keys are, and nothing in the program repeats a default. (The
 * other way, SST's `@default` beside a `??` in each component's Args, would leave the local mode,
 * which cannot load Pulumi components, without the defaults.)
 */
import * as pulumi from "@pulumi/pulumi";

/** Each key Pulumi.yaml declares that the program reads, with its schema type. */
const KEYS = {
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
} as const;

interface SchemaTypes {
  string: string;
  integer: number;
  boolean: boolean;
}

export type StackSettings = { -readonly [K in keyof typeof KEYS]: SchemaTypes[(typeof KEYS)[K]] };

/** Every setting of the stack, as the CLI resolved it (stack file over Pulumi.yaml's defaults). */
export function readStackSettings(config = new pulumi.Config()): StackSettings {
  const read = {
    string: (key: string) => config.require(key),
    integer: (key: string) => config.requireNumber(key),
    boolean: (key: string) => config.requireBoolean(key),
  };
  return Object.fromEntries(Object.entries(KEYS).map(([key, type]) => [key, read[type](key)])) as StackSettings;
}
