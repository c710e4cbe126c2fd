/**
 * HTTP API handler for API Gateway proxy events (REST payload 1.0 and HTTP API payload 2.0).
 *
 *   POST /generate     {"prompt": "…", width?, height?, aspectRatio?, quality?, cfgScale?, negativeText?, seed?}
 *                      (or a text/plain body that is the prompt) → 201 {key, s3Uri, url, seed, model, width, height}
 *   POST /images       same body → SQS job → 202 {id, key, statusUrl, seed}
 *   GET  /images/{id}  → 200 {status: "done", url} | 202 {status: "pending"} | 200 {status: "failed", reason, redrivable}
 *                      | 404 {code: "unknown-job"}
 *
 * Every answer is JSON. Errors are {"error": "<message>", "code": "<code>"}; never a stack trace.
 */
import { randomUUID } from "node:crypto";
import { SQSClient, SendMessageCommand, type SQSClientConfig } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult } from "aws-lambda";
import { clientRegion, type Env } from "./config";
import { DEFAULTS } from "./defaults";
import { asGenerationError, GenerationError, logMessage, type FailureCode } from "./errors";
import { JOB_ID_FIELD, JOB_ID_PATTERN, validateImageRequest } from "./jobs";
import type { ImageParams } from "./models";
import { generateAndStore, setupHandler, type HandlerOptions, type Services } from "./pipeline";
import type { MetricValues } from "./metrics";
import { codePointLength } from "./text";
import { modelTryTimeoutMs, type InvocationClock } from "./time-budget";

export type HttpEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;
/** `context`: Lambda's (or the local API's stand-in); the model's time budget comes from it. */
export type HttpHandler = (event: HttpEvent, context?: InvocationClock) => Promise<APIGatewayProxyResult>;

interface Request {
  method: string;
  /** Path without the stage prefix, without a trailing slash. */
  path: string;
  /** Prefix callers must put before our paths ("/prod" on a named stage, "" otherwise). */
  basePath: string;
  headers: Record<string, string>;
  /** Decoded body bytes (base64 undone). */
  body: Buffer;
  requestId?: string;
  /** Per-try wait of a model call, from the time the invocation has left when the request arrives. */
  tryTimeoutMs: number;
}

/** What a route answers plus the metrics of its log line. */
interface RouteResult {
  response: APIGatewayProxyResult;
  metrics?: MetricValues;
}

/** Fields of the request's log line, filled in as the request goes (kept when it fails midway). */
type LogContext = Record<string, unknown>;

/** An answer that ends the request early (validation, unknown route, …). */
class HttpError extends Error {
  constructor(readonly statusCode: number, readonly code: string, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return { statusCode, headers: { "content-type": "application/json", "cache-control": "no-store", ...headers }, body: JSON.stringify(body) };
}

function errorResponse(statusCode: number, code: string, message: string, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return json(statusCode, { error: message, code }, headers);
}

function normalize(event: HttpEvent, tryTimeoutMs: number): Request {
  const v2 = (event as APIGatewayProxyEventV2).version === "2.0";
  const method = (v2 ? (event as APIGatewayProxyEventV2).requestContext?.http?.method : (event as APIGatewayProxyEvent).httpMethod) ?? "GET";
  let path = (v2 ? (event as APIGatewayProxyEventV2).rawPath : (event as APIGatewayProxyEvent).path) ?? "/";
  const stage = event.requestContext?.stage;
  let basePath = "";
  if (stage && stage !== "$default") {
    basePath = `/${stage}`;
    // HTTP APIs keep a named stage in rawPath; REST APIs leave it out of `path`.
    if (path === basePath || path.startsWith(`${basePath}/`)) path = path.slice(basePath.length) || "/";
  }
  path = path.length > 1 ? path.replace(/\/+$/, "") : path;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) if (typeof value === "string") headers[name.toLowerCase()] = value;
  const raw = event.body ?? "";
  const body = event.isBase64Encoded ? Buffer.from(raw, "base64") : Buffer.from(raw, "utf8");
  return { method: method.toUpperCase(), path, basePath, headers, body, requestId: event.requestContext?.requestId, tryTimeoutMs };
}

/**
 * The request object in the body: JSON, or a text/plain body that is the prompt itself. curl's
 * plain `-d` sends application/x-www-form-urlencoded: there `prompt=…` is a form field, a JSON
 * object is JSON, and anything else is the prompt itself.
 */
function readBody(req: Request): unknown {
  if (req.body.length > DEFAULTS.maxBodyBytes) {
    throw new HttpError(413, "payload-too-large", `request body is ${req.body.length} bytes; the limit is ${DEFAULTS.maxBodyBytes} bytes`);
  }
  const text = req.body.toString("utf8");
  const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  if (type === "text/plain") return { prompt: text };
  if (!text.trim()) return {};
  if (type === "application/x-www-form-urlencoded" && !text.trimStart().startsWith("{")) {
    const form = new URLSearchParams(text);
    return { prompt: form.has("prompt") ? form.get("prompt") : text };
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "invalid-request", 'request body is not valid JSON; send {"prompt": "…"} or a text/plain prompt');
  }
}

const UNAVAILABLE: Partial<Record<FailureCode, string>> = {
  "model-not-ready": "the image model is starting; retry later",
  "bad-response": "the image model returned an unusable answer; retry later",
  "inference-error": "the image model failed to finish the picture; retry later",
  "storage-failed": "the picture could not be stored; retry later",
  "queue-failed": "the job could not be queued; retry later",
};

/**
 * HTTP answer for a failed generation/storage/queue step. Details go to the log, not the caller;
 * faults of the deployment (operator, throttling) say which model and which setting, so the
 * caller is not blamed and the operator knows what to change.
 */
function failureResponse(err: GenerationError): APIGatewayProxyResult {
  if (err.kind === "operator") return errorResponse(502, err.code, err.message);
  if (err.kind === "transient") {
    if (err.code === "internal") return errorResponse(500, "internal", "internal error");
    // A timeout says how long we waited and how often we tried ("… did not answer within 12.5 s, 2 tries").
    const message = err.code === "throttled" ? err.message : err.code === "timeout" ? `${err.message}; retry later` : UNAVAILABLE[err.code] ?? "the image model is unavailable; retry later";
    return errorResponse(503, err.code, message, { "retry-after": String(DEFAULTS.retryAfterSeconds) });
  }
  if (err.code === "invalid-request") return errorResponse(400, err.code, err.message);
  return errorResponse(422, err.code, err.message); // content filter, the model's error about this prompt
}

/** Creates the HTTP handler; configuration is read from `env` once, here. */
export function createHttpHandler(env: Env = process.env, options: HandlerOptions = {}): HttpHandler {
  const { logger, services, configError } = setupHandler(env, options, "http", DEFAULTS.apiModelAttempts, ["urlExpirySeconds"]);
  let sqs: SQSClient | undefined;
  if (services?.config.queueUrl) {
    const { endpoints } = services.config;
    // Always passed on: the SDK's SQS middleware sends to the queue URL's host unless the client
    // itself names an endpoint (queueUrlMiddleware in @aws-sdk/middleware-sdk-sqs).
    const sqsConfig: SQSClientConfig = { region: clientRegion(services.config, endpoints.sqs), endpoint: endpoints.sqs };
    sqs = new SQSClient(sqsConfig);
  }

  function validated(req: Request, s: Services, log: LogContext): ImageParams {
    const input = readBody(req);
    const prompt = (input as { prompt?: unknown } | null)?.prompt;
    if (typeof prompt === "string") log.promptLength = codePointLength(prompt);
    const checked = validateImageRequest(input, s.generator.adapter, {
      defaultSize: DEFAULTS.apiDefaultImageSize,
      maxSide: DEFAULTS.apiImageSize,
    });
    if (!checked.ok) throw new HttpError(400, "invalid-request", checked.message);
    return checked.params;
  }

  async function generate(req: Request, s: Services, log: LogContext): Promise<RouteResult> {
    const params = validated(req, s, log);
    log.seed = params.seed;
    const { image, stored } = await generateAndStore(s, params, { key: s.store.generatedImageKey(params.seed), source: "api", tryTimeoutMs: req.tryTimeoutMs });
    Object.assign(log, { key: stored.key, generationMs: image.latencyMs });
    const url = await s.store.presignGet(stored.key);
    return {
      response: json(201, { key: stored.key, s3Uri: stored.s3Uri, url, seed: image.seed, model: image.modelId, width: image.width, height: image.height }),
      metrics: { generationLatencyMs: image.latencyMs, imagesGenerated: 1 },
    };
  }

  /**
   * The job gets its own id, written as its marker before the message is sent, so it is "pending"
   * from the moment the caller hears of it. The id travels in the body (`jobId`), which a DLQ
   * redrive keeps while SQS gives the message a new id. When SQS refuses the message, the marker
   * is taken back (the caller gets 503 and never learns the id).
   */
  async function enqueue(req: Request, s: Services, log: LogContext): Promise<RouteResult> {
    if (!sqs || !s.config.queueUrl) throw new Error("QUEUE_URL is not configured; POST /images is unavailable");
    const params = validated(req, s, log);
    const id = randomUUID();
    log.jobId = id;
    await s.store.markPending(id, "api");
    let messageId: string | undefined;
    try {
      const body = { ...params, [JOB_ID_FIELD]: id };
      messageId = (await sqs.send(new SendMessageCommand({ QueueUrl: s.config.queueUrl, MessageBody: JSON.stringify(body) }))).MessageId;
    } catch (err) {
      await s.store.clearPending(id).catch((cleanup: unknown) => {
        log.markerLeft = logMessage(asGenerationError(cleanup, "storage-failed"));
      });
      throw asGenerationError(err, "queue-failed");
    }
    const key = s.store.jobImageKey(id);
    Object.assign(log, { messageId, key });
    return { response: json(202, { id, key, statusUrl: `${req.basePath}/images/${id}`, seed: params.seed }) };
  }

  async function status(_req: Request, s: Services, log: LogContext, id: string): Promise<RouteResult> {
    if (!JOB_ID_PATTERN.test(id)) throw new HttpError(400, "invalid-request", "image id must be 1-128 letters, digits, '-' or '_'");
    const job = await s.store.jobStatus(id);
    log.jobStatus = job.status;
    if (job.status === "unknown") throw new HttpError(404, "unknown-job", `no job with id ${id}: it was never submitted, or its message has not reached the worker yet`);
    if (job.status === "done") {
      log.key = job.key;
      return { response: json(200, { id, status: "done", key: job.key, url: await s.store.presignGet(job.key) }) };
    }
    if (job.status === "failed") {
      return { response: json(200, { id, status: "failed", reason: job.reason, code: job.code, redrivable: job.redrivable }) };
    }
    return { response: json(202, { id, status: "pending" }, { "retry-after": "2" }) };
  }

  const routes: { pattern: RegExp; methods: Record<string, (req: Request, s: Services, log: LogContext, ...ids: string[]) => Promise<RouteResult>> }[] = [
    { pattern: /^\/generate$/, methods: { POST: generate } },
    { pattern: /^\/images$/, methods: { POST: enqueue } },
    { pattern: /^\/images\/([^/]+)$/, methods: { GET: status } },
  ];

  async function route(req: Request, log: LogContext): Promise<RouteResult> {
    for (const { pattern, methods } of routes) {
      const match = pattern.exec(req.path);
      if (!match) continue;
      const run = methods[req.method];
      if (!run) {
        const allow = Object.keys(methods).join(", ");
        throw new HttpError(405, "method-not-allowed", `${req.method} is not allowed on ${req.path}; use ${allow}`, { allow });
      }
      if (!services) throw configError;
      let ids: string[];
      try {
        ids = match.slice(1).map((part) => decodeURIComponent(part));
      } catch {
        throw new HttpError(400, "invalid-request", "malformed path");
      }
      return run(req, services, log, ...ids);
    }
    throw new HttpError(404, "not-found", `no route for ${req.method} ${req.path}; routes: POST /generate, POST /images, GET /images/{id}`);
  }

  return async (event, context) => {
    const started = Date.now();
    const tryTimeoutMs = modelTryTimeoutMs(context, services?.generator.attempts ?? DEFAULTS.apiModelAttempts);
    let req: Request | undefined;
    let result: RouteResult;
    let failure: Record<string, unknown> = {};
    const log: LogContext = {};
    try {
      req = normalize(event, tryTimeoutMs);
      result = await route(req, log);
    } catch (err) {
      if (err instanceof HttpError) {
        result = { response: errorResponse(err.statusCode, err.code, err.message, err.headers) };
        failure = { error: err.message };
      } else if (err instanceof GenerationError) {
        result = { response: failureResponse(err), metrics: { failureKind: err.kind } };
        failure = { kind: err.kind, code: err.code, error: logMessage(err) };
      } else {
        const message = err instanceof Error ? err.message : String(err);
        result = { response: errorResponse(500, "internal", "internal error") };
        failure = { kind: "internal", error: message };
      }
    }
    const statusCode = result.response.statusCode;
    logger.write(
      {
        level: statusCode >= 500 ? "error" : statusCode >= 400 ? "warn" : "info",
        msg: "request",
        requestId: req?.requestId,
        route: req ? `${req.method} ${req.path}` : undefined,
        status: statusCode,
        model: services?.config.modelId,
        latencyMs: Date.now() - started,
        outcome: statusCode < 400 ? "ok" : statusCode < 500 ? "rejected" : "failed",
        ...log,
        ...failure,
      },
      result.metrics,
    );
    return result.response;
  };
}
