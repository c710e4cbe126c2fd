/**
 * The code that runs inside the Lambda functions (and in tests and the local mode).
 * Plain TypeScript: no @pulumi/* import here; components/ wire these factories into functions.
 */
export { DEFAULTS } from "./defaults";
export { ENV } from "./env";
export { METRICS } from "./metric-names";
export { createHttpHandler, type HttpEvent, type HttpHandler } from "./http-handler";
export { createQueueHandler, type QueueHandler } from "./queue-handler";
export { readConfig, requireSettings, toHandlerEnv, type Env, type RuntimeConfig } from "./config";
export { ConfigError, ClassifiedError, classifyBedrockError, type FailureCode, type FailureKind } from "./errors";
export type { GeneratedImage, ImageGenerator } from "./bedrock";
export type { ImageStore, ImageSidecar, FailureRecord, JobStatus } from "./storage";
export { generateAndStore, type HandlerOptions } from "./pipeline";
export { parseQueueBody, validateImageRequest } from "./jobs";
export { adapterFor, type ImageParams, type ModelAdapter } from "./models";
export { mapWithConcurrency } from "./concurrency";
export type { InvocationClock } from "./time-budget";
