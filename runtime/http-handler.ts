/**
 * The API's router for API Gateway proxy events (REST payload 1.0 and HTTP API payload 2.0):
 * it matches a request to one of the routes it is given (routes.ts), answers unknown routes and
 * methods itself, turns every failure into a JSON answer and writes one log line per request.
 * Every answer is JSON. Errors are {"error": "<message>", "code": "<code>"}; never a stack trace.
 */
import type { APIGatewayProxyResult } from "aws-lambda";
import { methodNotAllowedAnswer, notFoundAnswer } from "./api-access";
import { readConfig, type Env } from "./config";
import { DEFAULTS } from "./defaults";
import { ClassifiedError, logMessage, type FailureCode } from "./errors";
import { errorResponse, HttpError, toApiRequest, type ApiRequest, type HttpEvent, type LogContext, type RouteResult } from "./http";
import { configured, handlerLogger, type Configured, type HandlerOptions } from "./pipeline";
import { pathPattern, ROUTES, type Route, type RouteAnswer } from "./routes";
import type { InvocationClock } from "./time-budget";

export type { HttpEvent } from "./http";
/** `context`: Lambda's (or the local API's stand-in); the model's time budget comes from it. */
export type HttpHandler = (event: HttpEvent, context?: InvocationClock) => Promise<APIGatewayProxyResult>;

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
function failureResponse(err: ClassifiedError): APIGatewayProxyResult {
  if (err.kind === "operator") return errorResponse(502, err.code, err.message);
  if (err.kind === "transient") {
    if (err.code === "internal") return errorResponse(500, "internal", "internal error");
    // A timeout says how long we waited and how often we tried ("… did not answer within 12.5 s, 2 tries").
    const message =
      err.code === "throttled"
        ? err.message
        : err.code === "timeout"
          ? `${err.message}; retry later`
          : (UNAVAILABLE[err.code] ?? "the image model is unavailable; retry later");
    return errorResponse(503, err.code, message, { "retry-after": String(DEFAULTS.retryAfterSeconds) });
  }
  if (err.code === "invalid-request") return errorResponse(400, err.code, err.message);
  return errorResponse(422, err.code, err.message); // content filter, the model's error about this prompt
}

/** A route with what answers it (or why nothing can), and its path as a pattern. */
interface Mounted {
  route: Route;
  pattern: RegExp;
  /** Names of the path parameters, in order. */
  names: string[];
  answer: Configured<RouteAnswer>;
}

function mount(route: Route, answer: Configured<RouteAnswer>): Mounted {
  return { route, ...pathPattern(route.path), answer };
}

/** The request's route and path parameters; 404 / 405 (with Allow) when none fits. */
function match(mounted: readonly Mounted[], req: ApiRequest): Mounted {
  const onPath = mounted.map((m) => ({ m, found: m.pattern.exec(req.path) })).filter((x) => x.found);
  const hit = onPath.find((x) => x.m.route.method === req.method);
  if (!hit) {
    const refusal = onPath.length
      ? methodNotAllowedAnswer(
          req.path,
          onPath.map((x) => x.m.route.method),
          req.method,
        )
      : notFoundAnswer(
          mounted.map((m) => m.route),
          `${req.method} ${req.path}`,
        );
    throw new HttpError(refusal.statusCode, refusal.code, refusal.error, refusal.headers);
  }
  try {
    hit.m.names.forEach((name, i) => (req.params[name] = decodeURIComponent(hit.found![i + 1])));
  } catch {
    throw new HttpError(400, "invalid-request", "malformed path");
  }
  return hit.m;
}

/** The answer and the log fields of a request that failed. */
function failed(err: unknown): { result: RouteResult; failure: Record<string, unknown> } {
  if (err instanceof HttpError) {
    return {
      result: { response: errorResponse(err.statusCode, err.code, err.message, err.headers) },
      failure: { error: err.message },
    };
  }
  if (err instanceof ClassifiedError) {
    return {
      result: { response: failureResponse(err), metrics: { failureKind: err.kind } },
      failure: { kind: err.kind, code: err.code, error: logMessage(err) },
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    result: { response: errorResponse(500, "internal", "internal error") },
    failure: { kind: "internal", error: message },
  };
}

/**
 * A handler answering `routes`; configuration is read from `env` and each route's clients are
 * built once, here. A route whose set-up failed answers 500 (the reason is logged once).
 */
export function createRouter(routes: readonly Route[], env: Env = process.env, options: HandlerOptions = {}): HttpHandler {
  const logger = handlerLogger(env, options);
  const config = configured(logger, "http", () => readConfig(env));
  const mounted = routes.map((route) =>
    mount(route, config.error ? config : configured(logger, `${route.method} ${route.path}`, () => route.setup(config.value))),
  );

  return async (event, context) => {
    const started = Date.now();
    const log: LogContext = {};
    const { req, result, failure } = await respond(mounted, event, context, log);
    const statusCode = result.response.statusCode;
    logger.write({ ...requestLine(req, statusCode, started, config.value?.modelId), ...log, ...failure }, result.metrics);
    return result.response;
  };
}

/** The route's answer to one event, or the answer to what went wrong, with the request when it could be read. */
async function respond(mounted: readonly Mounted[], event: HttpEvent, context: InvocationClock | undefined, log: LogContext) {
  let req: ApiRequest | undefined;
  try {
    req = toApiRequest(event, context?.getRemainingTimeInMillis());
    const { answer } = match(mounted, req);
    if (answer.error) throw answer.error;
    return { req, result: await answer.value(req, log), failure: {} };
  } catch (err) {
    return { req, ...failed(err) };
  }
}

/** The log line's frame for one request: level and outcome follow the status. */
function requestLine(req: ApiRequest | undefined, statusCode: number, started: number, model: string | undefined) {
  return {
    level: statusCode >= 500 ? "error" : statusCode >= 400 ? "warn" : "info",
    msg: "request",
    requestId: req?.requestId,
    route: req ? `${req.method} ${req.path}` : undefined,
    status: statusCode,
    model,
    latencyMs: Date.now() - started,
    outcome: statusCode < 400 ? "ok" : statusCode < 500 ? "rejected" : "failed",
  } as const;
}

/** Every route in one handler: the local API and the tests (each deployed function runs one route, createRouter([route])). */
export function createHttpHandler(env: Env = process.env, options: HandlerOptions = {}): HttpHandler {
  return createRouter(ROUTES, env, options);
}
