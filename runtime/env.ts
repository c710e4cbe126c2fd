/**
 * The handlers' environment contract: the names of the variables that configure them, written by
 * toHandlerEnv and read by readConfig (config.ts).
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
  /** Optional: tries per model call (each handler has its own default, runtime/defaults.ts). */
  bedrockMaxAttempts: "BEDROCK_MAX_ATTEMPTS",
  /** Names the deployment (e.g. `couch-explorers-dev`) in every metric, so stacks sharing an account stay apart. */
  metricsService: "METRICS_SERVICE",
  /** Region of the S3 and SQS clients; Lambda sets it. */
  region: "AWS_REGION",
  /**
   * Endpoint overrides, only for local runs and tests (infrastructure never sets them): the AWS
   * SDK's and the AWS CLI's own variables, `AWS_ENDPOINT_URL_<service id>` and, for every service,
   * `AWS_ENDPOINT_URL`; `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` switches them off. The SDK reads
   * them from process.env itself: getEndpointUrlConfig and getEndpointFromConfig in
   * @smithy/core/dist-cjs/submodules/endpoints/index.js (3.41.0), which turn the service id
   * ("Bedrock Runtime") into the suffix (`_BEDROCK_RUNTIME`).
   */
  s3Endpoint: "AWS_ENDPOINT_URL_S3",
  sqsEndpoint: "AWS_ENDPOINT_URL_SQS",
  bedrockEndpoint: "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
  anyEndpoint: "AWS_ENDPOINT_URL",
  ignoreEndpoints: "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
} as const;
