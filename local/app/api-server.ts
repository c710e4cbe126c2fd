/**
 * The local API: a node:http server that turns each request into an API Gateway REST API
 * (payload 1.0) event for the runtime's HTTP handler, as the deployed API does.
 * Around it, local-only routes: `GET /health`, the gallery at `GET /`, and the small JSON
 * endpoints the gallery reads under `/local/`.
 *
 * Every error answer is JSON `{"error", "code"}`: also a body over the limit (413), headers over
 * Node's limit (431), a method Node cannot parse (501) or any other malformed request (400), which
 * Node itself would answer without a body. Requests from other hosts or origins get 403
 * (local/fakes/localhost-guard.ts).
 */
import { isUtf8 } from "node:buffer";
import * as http from "node:http";
import type { Duplex } from "node:stream";
import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { methodNotAllowedAnswer, type GatewayAnswer } from "../../runtime/api-access";
import { DEFAULTS } from "../../runtime/defaults";
import type { HttpHandler } from "../../runtime/http-handler";
import { clockUntil } from "../../runtime/time-budget";
import { closeServer, listen } from "../fakes/listen";
import { LOCAL_ENV } from "./config";
import { galleryHtml } from "./gallery";
import { createGalleryData, PAGE_SIZE, type GalleryDataOptions } from "./gallery-data";
import type { ApiKeyGate } from "./api-keys";
import type { HealthReport } from "./health";
import { send, sendError, sendJson } from "../fakes/http-json";
import { guardLocalhost } from "../fakes/localhost-guard";

/** Where the gallery's data comes from (GalleryDataOptions), plus the API's own settings. */
export interface ApiServerOptions extends GalleryDataOptions {
  host: string;
  port: number;
  handler: HttpHandler;
  /** The deployed API functions' timeout: each request's handler context counts down from it. */
  timeoutSeconds: number;
  /** The configured model's prompt limit, for the gallery's prompt box. */
  maxPromptLength: number;
  /** With the stack's apiAuth apiKey: the keys and daily quota the deployed usage plan enforces. */
  apiKeys?: ApiKeyGate;
  /** `GET /health`: answered 200 when its status is "ok", else 503. */
  health: () => Promise<HealthReport & Record<string, unknown>>;
}

export interface ApiServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

class TooLarge extends Error {}

/**
 * Reads the request body up to the handler's limit (DEFAULTS.maxBodyBytes). Over it (announced by
 * Content-Length or found while reading) it rejects with TooLarge and stops reading: the caller
 * answers 413 with Connection: close, so the client gets the answer before the connection ends.
 */
function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers["content-length"]) > DEFAULTS.maxBodyBytes) return reject(new TooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= DEFAULTS.maxBodyBytes) return void chunks.push(chunk);
      req.off("data", onData);
      req.pause();
      chunks.length = 0;
      reject(new TooLarge());
    };
    req.on("data", onData);
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/**
 * The REST API (payload 1.0) event API Gateway would send for this request. The deployed API has
 * one resource per route; here every request comes as the greedy proxy resource's, which the
 * handler reads the same way: it routes by method and path.
 */
function toRestApiEvent(req: http.IncomingMessage, body: Buffer, now = new Date()): APIGatewayProxyEvent {
  const url = new URL(req.url ?? "/", "http://local");
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    headers[name] = values.join(",");
    multiValueHeaders[name] = values;
  }
  const query: Record<string, string> = {};
  const multiValueQuery: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) {
    query[k] = v; // as REST APIs do: the last value
    (multiValueQuery[k] ??= []).push(v);
  }
  const hasQuery = Object.keys(query).length > 0;
  // API Gateway passes text through and base64-encodes everything else.
  const text = body.length > 0 && isUtf8(body);
  const method = (req.method ?? "GET").toUpperCase();
  return {
    resource: "/{proxy+}",
    path: url.pathname,
    httpMethod: method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiValueQuery : null,
    pathParameters: { proxy: url.pathname.slice(1) },
    stageVariables: null,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      authorizer: null,
      domainName: headers.host ?? "127.0.0.1",
      httpMethod: method,
      identity: {
        sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
        userAgent: headers["user-agent"] ?? "",
      } as APIGatewayProxyEvent["requestContext"]["identity"],
      path: url.pathname,
      protocol: `HTTP/${req.httpVersion}`,
      requestId: randomUUID(),
      requestTimeEpoch: now.getTime(),
      resourceId: "local",
      resourcePath: "/{proxy+}",
      // The local URLs have no stage segment; "$default" tells the handler so (runtime/http.ts).
      stage: "$default",
    },
    body: body.length ? (text ? body.toString("utf8") : body.toString("base64")) : null,
    isBase64Encoded: body.length > 0 && !text,
  };
}

/**
 * Node answers what it cannot parse itself, without a body; this answers as JSON. An unknown
 * method gets 501, as RFC 9110 §9.1 asks (https://www.rfc-editor.org/rfc/rfc9110#section-9.1).
 * (The request never reached a handler: the connection is closed after the answer.)
 */
function answerUnparsable(err: NodeJS.ErrnoException, socket: Duplex & { _httpMessage?: { headersSent?: boolean } }): void {
  // As Node's own handler: no answer on a dead socket, or into an answer already being written.
  if (err.code === "ECONNRESET" || !socket.writable || socket._httpMessage?.headersSent) return void socket.destroy();
  const [status, error, code]: [number, string, string] =
    err.code === "HPE_HEADER_OVERFLOW"
      ? [431, `request headers larger than ${http.maxHeaderSize} bytes`, "headers-too-large"]
      : err.code === "HPE_INVALID_METHOD"
        ? [501, "unknown HTTP method; this server knows GET, HEAD and POST", "method-not-implemented"]
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? [408, "the request took too long to arrive", "request-timeout"]
          : [400, "malformed HTTP request", "bad-request"];
  const body = JSON.stringify({ error, code });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** An answer worded in runtime/api-access.ts, in its `{"error","code"}` shape. */
function sendAnswer(res: http.ServerResponse, answer: GatewayAnswer): void {
  sendError(res, answer.statusCode, answer.error, answer.code, answer.headers);
}

/** A positive integer query parameter, or `fallback`. */
function positiveInt(value: string | null, fallback: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 ? n : fallback;
}

type LocalRoute = (url: URL, res: http.ServerResponse) => Promise<void> | void;

async function serveObject(store: ApiServerOptions["store"], res: http.ServerResponse, key: string | null): Promise<void> {
  // The store reads only pictures and their JSON under the prefix: this is a viewer, not an open proxy.
  const object = key ? await store.readObject(key).catch(() => undefined) : undefined;
  if (!object) return sendError(res, 404, "no such picture", "not-found");
  send(res, 200, object.body, { "content-type": object.contentType, "cache-control": "max-age=60" });
}

/** The local-only routes, GET (and HEAD, which Node answers without the body). */
function localRoutes(opts: ApiServerOptions): Record<string, LocalRoute> {
  const page = galleryHtml(opts.maxPromptLength);
  const gallery = createGalleryData(opts);
  const routes: Record<string, LocalRoute> = {
    "/": (_url, res) => send(res, 200, page, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }),
    "/health": async (_url, res) => {
      const report = await opts.health();
      sendJson(res, report.status === "ok" ? 200 : 503, report);
    },
    "/local/pictures": async (url, res) => {
      const pageSize = Math.min(positiveInt(url.searchParams.get("pageSize"), PAGE_SIZE.default), PAGE_SIZE.max);
      sendJson(res, 200, await gallery.pictures(positiveInt(url.searchParams.get("page"), 1), pageSize));
    },
    "/local/queues": async (_url, res) => sendJson(res, 200, await gallery.queues()),
    "/local/object": (url, res) => serveObject(opts.store, res, url.searchParams.get("key")),
  };
  routes["/index.html"] = routes["/"];
  return routes;
}

/** The deployed API: first what its gateway refuses, then the runtime handler decides (including 404s). */
async function serveDeployedRoute(
  opts: ApiServerOptions,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  method: string,
): Promise<void> {
  const refused = opts.apiKeys?.admit(method, url.pathname, req.headers);
  if (refused) return sendAnswer(res, refused);
  const clock = clockUntil(Date.now() + opts.timeoutSeconds * 1000);
  const event = toRestApiEvent(req, await readBody(req));
  const result = await opts.handler(event, clock);
  const headers: Record<string, string | number | boolean> = { ...(result.headers ?? {}) };
  const body = result.isBase64Encoded ? Buffer.from(result.body ?? "", "base64") : Buffer.from(result.body ?? "", "utf8");
  send(res, result.statusCode, body, headers);
}

/** A request that failed before its answer: 413 for a body over the limit, else 500. */
function answerFailure(req: http.IncomingMessage, res: http.ServerResponse, err: unknown): void {
  if (res.headersSent) return void res.destroy();
  if (err instanceof TooLarge) {
    // Answer first; Connection: close makes node end the connection once the answer is out,
    // without reading the rest of the body.
    return sendError(res, 413, `request body larger than ${DEFAULTS.maxBodyBytes} bytes`, "payload-too-large", {
      connection: "close",
    });
  }
  console.error(`api: ${req.method} ${req.url} failed: ${(err as Error)?.message ?? err}`);
  sendError(res, 500, "internal error in the local API", "internal");
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const locals = localRoutes(opts);

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://local");
    const method = (req.method ?? "GET").toUpperCase();
    const local = locals[url.pathname];
    if (!local) return serveDeployedRoute(opts, req, res, url, method);
    if (method === "GET" || method === "HEAD") return local(url, res);
    return sendAnswer(res, methodNotAllowedAnswer(url.pathname, ["GET", "HEAD"], method));
  }

  const server = http.createServer(
    guardLocalhost(opts.host, (req, res) => void route(req, res).catch((err) => answerFailure(req, res, err))),
  );
  server.on("clientError", answerUnparsable);
  const port = await listen(server, opts.host, opts.port, "API", LOCAL_ENV.apiPort);
  return { url: `http://${opts.host}:${port}`, port, close: () => closeServer(server) };
}
