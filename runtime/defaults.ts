/**
 * The handlers' own defaults and limits. Infrastructure (components/), the local mode (local/) and
 * the Lambda handlers (runtime/) import them from here. The names of the environment variables are
 * in env.ts, the metric names in metric-names.ts.
 */

/** Default values used when the environment does not say otherwise. */
export const DEFAULTS = {
  /**
   * Bedrock model id. The original code's Titan Image Generator v1 (and v2, and Nova Canvas) are
   * past their end of life; Stability AI's models are the active ones (README "Image models").
   */
  modelId: "stability.stable-image-core-v1:1",
  /** Where that model runs (everything else runs in eu-west-1). */
  bedrockRegion: "us-west-2",
  /** Lifetime of presigned GET URLs handed to callers. */
  urlExpirySeconds: 3600,
  /** Records of one SQS batch generated at the same time. */
  workerConcurrency: 5,
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
  /** Largest side length accepted, by the HTTP API and the queue alike (1024×1024; the API default is 512). */
  apiImageSize: 1024,
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
