/**
 * The handlers' environment contract: the names of the variables that configure them, read by
 * readConfig (config.ts).
 */
export const ENV = {
  /** Required: bucket that receives the pictures. */
  bucket: "BUCKET_NAME",
  /** Required: every S3 key starts with `<prefix>/`. */
  prefix: "IMAGE_PREFIX",
  modelId: "MODEL_ID",
  bedrockRegion: "BEDROCK_REGION",
  /** Required by `POST /images` only. */
  queueUrl: "QUEUE_URL",
  urlExpirySeconds: "URL_EXPIRY_SECONDS",
  workerConcurrency: "WORKER_CONCURRENCY",
  /**
   * The queue's redrive maxReceiveCount. When set, the worker writes a failure record for a record
   * that fails transiently on its last delivery (it then goes to the DLQ), so its status is not
   * "pending" forever.
   */
  maxReceiveCount: "MAX_RECEIVE_COUNT",
  /** Optional tuning of the Bedrock client (defaults above). */
  bedrockTimeoutMs: "BEDROCK_TIMEOUT_MS",
  bedrockMaxAttempts: "BEDROCK_MAX_ATTEMPTS",
  /** Names the deployment (e.g. `couch-explorers-dev`) in every metric, so stacks sharing an account stay apart. */
  metricsService: "METRICS_SERVICE",
  /** Region of the S3 and SQS clients; Lambda sets it. */
  region: "AWS_REGION",
  /** Endpoint overrides, only for local runs and tests; infrastructure never sets them. */
  bedrockEndpoint: "BEDROCK_ENDPOINT",
  s3Endpoint: "S3_ENDPOINT",
  sqsEndpoint: "SQS_ENDPOINT",
} as const;
