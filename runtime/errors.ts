/**
 * Error classification shared by both handlers.
 *
 * permanent: the prompt's own fault; retrying it cannot succeed (validation, content filter, the
 *            model's error about this request) → the API answers 4xx/422, the queue
 *            acknowledges the record and writes a failure sidecar.
 * transient: the same request may succeed later (throttling, timeouts, model not ready, 5xx,
 *            malformed model answers) → the API answers 503 + Retry-After, the queue lists
 *            the record in batchItemFailures so SQS redelivers it (and the DLQ catches it).
 * operator:  the deployment's configuration is wrong, not the prompt (a retired or unknown model,
 *            no access to it) → the API answers 502 naming the model and the setting to
 *            change; the queue keeps the record like a transient one, so it reaches the DLQ intact
 *            and can be redriven after the fix.
 */
import { DEFAULTS } from "./defaults";

export type FailureKind = "permanent" | "transient" | "operator";

export type FailureCode =
  | "invalid-request" // our validation or Bedrock's ValidationException
  | "content-filtered" // Bedrock refused the prompt or the picture
  | "model-error" // the model answered 200 with its `error` field set
  | "inference-error" // a Stability model answered 200 with finish reason "Inference error"
  | "access-denied"
  | "model-not-found"
  | "model-retired" // past its end of life on Bedrock
  | "throttled"
  | "model-not-ready"
  | "timeout"
  | "service-unavailable"
  | "bad-response" // garbage body, not a PNG, wrong number of images
  | "storage-failed"
  | "queue-failed"
  | "internal";

/**
 * A failure of any step (the model call, S3, SQS, our validation), classified by who can fix it
 * (`kind`) and what it was (`code`): the router turns it into an HTTP answer, the worker into
 * acknowledging or keeping the record.
 */
export class ClassifiedError extends Error {
  readonly kind: FailureKind;
  readonly code: FailureCode;
  constructor(kind: FailureKind, code: FailureCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ClassifiedError";
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

/** The model a call went to, for messages that tell the operator what to change. */
export interface ModelRef {
  modelId: string;
  region: string;
  /** The per-try wait and the tries allowed, so a call that ran out of time says how long it waited. */
  timeoutMs?: number;
  attempts?: number;
}

/** Bedrock exception names (x-amzn-ErrorType) whose cause is the request itself. */
const PERMANENT_BEDROCK: Record<string, FailureCode> = {
  ValidationException: "invalid-request",
};

/** Bedrock exception names whose cause is the deployment: the operator must change something. */
const OPERATOR_BEDROCK: Record<string, FailureCode> = {
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
/** Bedrock's answer for a retired model: "ResourceNotFoundException: This model version has reached the end of its life". */
const END_OF_LIFE = /end of (its )?life/i;
/**
 * An account that may not invoke models at all (no usable Marketplace agreement, not authorized)
 * gets "ValidationException: Operation not allowed", a 400 that is not the caller's fault.
 */
const NOT_ALLOWED = /^operation not allowed/i;

/** What the operator reads: the model, its region and the setting to change. */
function operatorMessage(code: FailureCode, model: ModelRef | undefined): string {
  const which = model ? `the Bedrock model ${model.modelId} in ${model.region}` : "the configured Bedrock model";
  switch (code) {
    case "model-retired":
      return `${which} has reached the end of its life; set the stack's modelId (MODEL_ID) to an active model such as ${DEFAULTS.suggestedModelId} and check it with npm run model-check`;
    case "model-not-found":
      return `${which} does not exist there; check the stack's modelId and bedrockRegion (MODEL_ID, BEDROCK_REGION) with npm run model-check`;
    default:
      return `this deployment may not invoke ${which}; accept the model's agreement (stack setting acceptModelAgreement, then pulumi up) and check that the function's role grants bedrock:InvokeModel on it`;
  }
}

/** The throttled call's message names the model, so the operator knows which quota to raise. */
function throttledMessage(model: ModelRef | undefined): string {
  const which = model ? `the Bedrock model ${model.modelId} in ${model.region}` : "the Bedrock model";
  return `${which} is throttling calls; retry later (if it lasts, raise the account's Bedrock quota for it or lower the stack's workerConcurrency)`;
}

/** Client-side ends of a wait (the SDK's request timeout, an abort, a socket timeout), not the model's own. */
const WAITED_TOO_LONG = ["TimeoutError", "AbortError", "RequestTimeout"];

/** "8.6 s", "60 s". */
function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

function tries(n: number | undefined): string {
  return n === undefined ? "" : `, ${n} ${n === 1 ? "try" : "tries"}`;
}

/**
 * What the caller reads about a failure that may go away by itself, in our words: the model, how
 * long we waited and how often we tried. What the service or the SDK said stays in `cause`.
 */
function transientMessage(
  code: FailureCode,
  name: string,
  status: number | undefined,
  model: ModelRef | undefined,
  attempts: number | undefined,
): string {
  const which = model ? `the model ${model.modelId}` : "the model";
  if (code === "timeout") {
    if (WAITED_TOO_LONG.includes(name) && model?.timeoutMs !== undefined)
      return `${which} did not answer within ${seconds(model.timeoutMs)}${tries(attempts)}`;
    return WAITED_TOO_LONG.includes(name)
      ? `${which} did not answer in time${tries(attempts)}`
      : `${which} timed out while drawing the picture${tries(attempts)}`;
  }
  if (code === "model-not-ready") return `${which} was not ready to take calls${tries(attempts)}`;
  return `the Bedrock service did not answer usefully${status ? ` (HTTP ${status})` : " (no connection)"}${tries(attempts)}`;
}

/**
 * Classifies whatever an InvokeModel call threw (SDK service exception, network error, ours).
 * `model` names the model in the messages meant for the operator. Every message is ours; the
 * thrown error is kept as `cause`, so the log still shows what the service said (logMessage).
 */
export function classifyBedrockError(err: unknown, model?: ModelRef): ClassifiedError {
  if (err instanceof ClassifiedError) return err;
  const e = (err ?? {}) as {
    name?: string;
    message?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number; attempts?: number };
  };
  const name = e.name ?? "Error";
  const message = e.message || name;
  const status = e.$metadata?.httpStatusCode;
  const attempts = e.$metadata?.attempts ?? model?.attempts;
  const ours = (kind: FailureKind, code: FailureCode, text: string) => new ClassifiedError(kind, code, text, { cause: err });
  const operator = (code: FailureCode) => ours("operator", code, operatorMessage(code, model));
  const transient = (code: FailureCode) => ours("transient", code, transientMessage(code, name, status, model, attempts));
  if (name === "ValidationException" && CONTENT_FILTER.test(message)) {
    return ours("permanent", "content-filtered", "the model's content filter refused the prompt or the picture");
  }
  if (name === "ValidationException" && NOT_ALLOWED.test(message)) return operator("access-denied");
  if (name === "ResourceNotFoundException" && END_OF_LIFE.test(message)) return operator("model-retired");
  if (OPERATOR_BEDROCK[name]) return operator(OPERATOR_BEDROCK[name]);
  if (PERMANENT_BEDROCK[name])
    return ours("permanent", PERMANENT_BEDROCK[name], "the model refused the request as invalid; check the prompt and its parameters");
  if (TRANSIENT_BEDROCK[name] === "throttled" || (status === 429 && !TRANSIENT_BEDROCK[name])) {
    return ours("transient", "throttled", throttledMessage(model));
  }
  if (TRANSIENT_BEDROCK[name]) return transient(TRANSIENT_BEDROCK[name]);
  if (e.code === "ETIMEDOUT") return transient("timeout");
  if (status === 403) return operator("access-denied");
  if (status !== undefined && status >= 400 && status < 500) {
    return ours(
      "permanent",
      "invalid-request",
      `the Bedrock service refused the request (HTTP ${status}); check the prompt and its parameters`,
    );
  }
  // 5xx, connection resets, DNS failures, anything without a status: worth another try.
  return transient("service-unavailable");
}

/** The message for a log line: ours, plus what the service said when we replaced its words. */
export function logMessage(err: ClassifiedError): string {
  const cause = (err.cause as { message?: unknown } | undefined)?.message;
  return typeof cause === "string" && cause && !err.message.includes(cause) ? `${err.message} (${cause})` : err.message;
}

/** What the caller reads when a step outside the model call failed; the service's words stay in `cause`. */
const STEP_FAILED: Partial<Record<FailureCode, string>> = {
  "storage-failed": "the object store (S3) did not complete the request",
  "queue-failed": "the queue (SQS) did not take the job",
};

/** Any failure outside the model call (S3, SQS, a bug) becomes a transient ClassifiedError, described in our words; a ClassifiedError stays as it is. */
export function toClassifiedError(err: unknown, code: FailureCode = "internal"): ClassifiedError {
  if (err instanceof ClassifiedError) return err;
  const status = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  const message = `${STEP_FAILED[code] ?? "an internal error stopped the job"}${status ? ` (HTTP ${status})` : ""}`;
  return new ClassifiedError("transient", code, message, {
    cause: err instanceof Error ? err : new Error(String(err)),
  });
}
