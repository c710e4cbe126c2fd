/**
 * The handlers' own constants: limits, sizes, tries and reserves that no stack sets. Infrastructure
 * (components/), the local mode (local/) and the Lambda handlers (runtime/) import them from here.
 * What a stack sets (model, region, URL lifetime, concurrency, …) is a setting: its default lives in
 * Pulumi.yaml alone, and the handlers are told it (config.ts). The names of the environment
 * variables are in env.ts, the metric names in metric-names.ts.
 */

export const DEFAULTS = {
  /**
   * The active model a handler names when the configured one is past its end of life: Pulumi.yaml's
   * default modelId, which a Lambda function cannot read (test/infra/config.test.ts holds the two
   * equal). A suggestion in messages, not a default: a stack's model is its `modelId` setting.
   */
  suggestedModelId: "stability.stable-image-core-v1:1",
  /** Upper bound for WORKER_CONCURRENCY (Bedrock's on-demand image quota is small). */
  maxWorkerConcurrency: 50,
  /** Attempts the SDK makes per InvokeModel call (1 call + 2 retries) before giving up. */
  bedrockMaxAttempts: 3,
  /** Attempts of the API's own model call (one retry of a throttled call), which must fit in one API request. */
  apiModelAttempts: 2,
  /** The longest one try waits for the model's answer, however much time the invocation has left (time-budget.ts). */
  bedrockTimeoutMs: 60000,
  /**
   * A queue's visibility timeout is this many times the longest a worker may spend on one batch
   * (AWS guidance for SQS-triggered functions), so a record is not redelivered while in flight.
   */
  visibilityTimeoutFactor: 6,
  /** Seconds a worker keeps after its model calls, for storing the picture and presigning its URL. */
  storeReserveSeconds: 4,
  /** Side length of queue-generated pictures for models sized in pixels (the original queue Lambda used 512×512). */
  queueImageSize: 512,
  /** Largest side length accepted, by the API and the queue alike (1024×1024; the API default is 512). */
  maxImageSide: 1024,
  /** Side length of API pictures when the caller gives no width/height (models sized in pixels). */
  apiDefaultImageSize: 512,
  /** Titan's prompt limit in characters (each model family has its own, in runtime/models). */
  maxPromptLength: 512,
  /**
   * Characters (code points) of a prompt or message body that failure records and sidecars keep,
   * beside the full length: a hostile 256 KB message must not become a 256 KB record.
   */
  recordTextLimit: 2000,
  /** Largest HTTP request body accepted, in bytes (after base64 decoding). */
  maxBodyBytes: 16384,
  /** Image quality sent to the model ("standard" | "premium"); the original used "standard". */
  quality: "standard" as "standard" | "premium",
  /** Prompt adherence sent to the model; the original used 8.0. */
  cfgScale: 8.0,
  /** Seconds a caller is asked to wait (Retry-After) when the model is throttled or unavailable. */
  retryAfterSeconds: 10,
  /** Value of the metrics' Service dimension when METRICS_SERVICE is not set. */
  metricsService: "couch-explorers",
  /** Region of the S3/SQS clients when a local endpoint is set and no region is configured (local servers ignore it). */
  localRegion: "us-east-1",
} as const;
