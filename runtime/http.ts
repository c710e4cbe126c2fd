/**
 * What the router (http-handler.ts) and the routes (routes.ts) share: the request as API Gateway's
 * two payload versions describe it, JSON answers, and the answer that ends a request early.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult } from "aws-lambda";
import { DEFAULTS } from "./defaults";
import type { MetricValues } from "./metrics";

export type HttpEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;

export interface ApiRequest {
  method: string;
  /** Path without the stage prefix, without a trailing slash. */
  path: string;
  /** Prefix callers must put before our paths ("/prod" on a named stage, "" otherwise). */
  basePath: string;
  headers: Record<string, string>;
  /** Decoded body bytes (base64 undone). */
  body: Buffer;
  requestId?: string;
  /** The route's path parameters, decoded (`{id}` → `params.id`). */
  params: Record<string, string>;
  /** What the invocation had left when the request arrived; undefined without a context. */
  timeLeftMs?: number;
}

/** What a route answers plus the metrics of its log line. */
export interface RouteResult {
  response: APIGatewayProxyResult;
  metrics?: MetricValues;
}

/** Fields of the request's log line, filled in as the request goes (kept when it fails midway). */
export type LogContext = Record<string, unknown>;

/** An answer that ends the request early (validation, unknown route, …). */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
    body: JSON.stringify(body),
  };
}

export function errorResponse(
  statusCode: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return json(statusCode, { error: message, code }, headers);
}

/** The request of either payload version; `params` is filled in once a route matched. */
export function toApiRequest(event: HttpEvent, timeLeftMs: number | undefined): ApiRequest {
  const v2 = (event as APIGatewayProxyEventV2).version === "2.0";
  const method =
    (v2 ? (event as APIGatewayProxyEventV2).requestContext?.http?.method : (event as APIGatewayProxyEvent).httpMethod) ?? "GET";
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
  return {
    method: method.toUpperCase(),
    path,
    basePath,
    headers,
    body,
    requestId: event.requestContext?.requestId,
    params: {},
    timeLeftMs,
  };
}

/**
 * The request object in the body: JSON, or a text/plain body that is the prompt itself. curl's
 * plain `-d` sends application/x-www-form-urlencoded: there `prompt=…` is a form field, a JSON
 * object is JSON, and anything else is the prompt itself.
 */
export function requestObject(req: ApiRequest): unknown {
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
