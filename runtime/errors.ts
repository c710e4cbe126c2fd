/**
 * Error classification shared by both handlers.
 *
 * permanent: retrying the same request cannot succeed (bad input, content filter, access denied,
 *            unknown model) → the HTTP API answers 4xx/502, the queue acknowledges the record and
 *            writes a failure sidecar.
 * transient: the same request may succeed later (throttling, timeouts, model not ready, 5xx,
 *            malformed model answers) → the HTTP API answers 503 + Retry-After, the queue lists
 *            the record in batchItemFailures so SQS redelivers it (and the DLQ catches it).
 */

export type FailureKind = "permanent" | "transient";

export type FailureCode =
  | "invalid-request" // our validation or Bedrock's ValidationException
  | "content-filtered" // Bedrock refused the prompt or the picture
  | "model-error" // the model answered 200 with its `error` field set
  | "access-denied"
  | "model-not-found"
  | "throttled"
  | "model-not-ready"
  | "timeout"
  | "service-unavailable"
  | "bad-response" // garbage body, not a PNG, wrong number of images
  | "storage-failed"
  | "queue-failed"
  | "internal";

export class GenerationError extends Error {
  readonly kind: FailureKind;
  readonly code: FailureCode;
  constructor(kind: FailureKind, code: FailureCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "GenerationError";
    this.kind = kind;
    this.code = code;
  }
}

/** Raised when required configuration is missing or invalid; handlers map it to a generic 500. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Bedrock exception names (x-amzn-ErrorType) whose cause is the request itself. */
const PERMANENT_BEDROCK: Record<string, FailureCode> = {
  ValidationException: "invalid-request",
  AccessDeniedException: "access-denied",
  ResourceNotFoundException: "model-not-found",
  UnrecognizedClientException: "access-denied",
};

/** Bedrock exception names that may go away by themselves. */
const TRANSIENT_BEDROCK: Record<string, FailureCode> = {
  ThrottlingException: "throttled",
  ServiceQuotaExceededException: "throttled",
  TooManyRequestsException: "throttled",
  ModelNotReadyException: "model-not-ready",
  ModelTimeoutException: "timeout",
  TimeoutError: "timeout",
  RequestTimeout: "timeout",
  AbortError: "timeout",
  InternalServerException: "service-unavailable",
  ServiceUnavailableException: "service-unavailable",
  ModelErrorException: "service-unavailable",
};

const CONTENT_FILTER = /content filter|blocked by our content|responsible ai|content policy/i;

/** Classifies whatever an InvokeModel call threw (SDK service exception, network error, ours). */
export function classifyBedrockError(err: unknown): GenerationError {
  if (err instanceof GenerationError) return err;
  const e = (err ?? {}) as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.name ?? "Error";
  const message = e.message || name;
  const status = e.$metadata?.httpStatusCode;
  if (name === "ValidationException" && CONTENT_FILTER.test(message)) {
    return new GenerationError("permanent", "content-filtered", message, { cause: err });
  }
  if (PERMANENT_BEDROCK[name]) return new GenerationError("permanent", PERMANENT_BEDROCK[name], message, { cause: err });
  if (TRANSIENT_BEDROCK[name]) return new GenerationError("transient", TRANSIENT_BEDROCK[name], message, { cause: err });
  if (e.code === "ETIMEDOUT") return new GenerationError("transient", "timeout", message, { cause: err });
  if (status === 429) return new GenerationError("transient", "throttled", message, { cause: err });
  if (status !== undefined && status >= 400 && status < 500) {
    return new GenerationError("permanent", "invalid-request", message, { cause: err });
  }
  // 5xx, connection resets, DNS failures, anything without a status: worth another try.
  return new GenerationError("transient", "service-unavailable", message, { cause: err });
}

/** Any failure outside the model call (S3, SQS, a bug) becomes a transient internal failure. */
export function asGenerationError(err: unknown, code: FailureCode = "internal"): GenerationError {
  if (err instanceof GenerationError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new GenerationError("transient", code, message, { cause: err });
}
