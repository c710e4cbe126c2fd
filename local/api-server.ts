/**
 * The local API: a node:http server that turns each request into an API Gateway HTTP API
 * (payload 2.0) event for the runtime's HTTP handler, exactly as the deployed route does.
 * Around it, local-only routes: `GET /health`, the gallery at `GET /`, and the small JSON
 * endpoints the gallery reads under `/local/`.
 */
import * as http from "node:http";
import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { GetObjectCommand, ListObjectsV2Command, type S3Client, type _Object } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { jobOfRecord, parseQueueBody } from "../runtime/jobs";
import { sidecarKeyOf } from "../runtime/storage";
import type { HttpHandler } from "../runtime/http-handler";
import { closeServer, listen } from "./listen";
import { LOCAL_ENV } from "./config";
import { GALLERY_HTML } from "./gallery";
import { queueDepth, type HealthReport } from "./health";
import type { QueuedJob } from "./queue-server";


/** API Gateway refuses bodies over 10 MB; so does the local API. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** Sidecars and failure records kept in memory (they never change once written). */
const JSON_CACHE_ENTRIES = 2000;

export interface ApiServerOptions {
  host: string;
  port: number;
  handler: HttpHandler;
  s3: S3Client;
  sqs: SQSClient;
  bucket: string;
  prefix: string;
  queueUrl: string;
  dlqUrl: string;
  /** `GET /health`: answered 200 when its status is "ok", else 503. */
  health: () => Promise<HealthReport & Record<string, unknown>>;
  /** The image queue's messages not deleted yet (the gallery's pending cards). */
  jobs?: (limit: number) => QueuedJob[];
}

export interface ApiServer { url: string; port: number; close(): Promise<void> }

class TooLarge extends Error {}

/**
 * Reads the request body up to MAX_BODY_BYTES. Over it (announced by Content-Length or found while
 * reading) it rejects with TooLarge and stops reading: the caller answers 413 with Connection:
 * close, so the client gets the answer before the connection ends.
 */
function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers["content-length"]) > MAX_BODY_BYTES) return reject(new TooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
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

/** The HTTP API 2.0 event API Gateway would send for this request. */
function toHttpApiEvent(req: http.IncomingMessage, body: Buffer, now = new Date()): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? "/", "http://local");
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (name === "cookie") cookies.push(...String(value).split(/;\s*/));
    else headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  // API Gateway passes text through and base64-encodes everything else.
  const text = body.length > 0 && Buffer.from(body.toString("utf8"), "utf8").equals(body);
  const method = (req.method ?? "GET").toUpperCase();
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ""),
    ...(cookies.length ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: headers.host ?? "127.0.0.1",
      domainPrefix: (headers.host ?? "local").split(".")[0],
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length ? { body: text ? body.toString("utf8") : body.toString("base64") } : {}),
    isBase64Encoded: body.length > 0 && !text,
  };
}

function send(res: http.ServerResponse, status: number, body: string | Buffer, headers: Record<string, string | number | boolean> = {}): void {
  res.writeHead(status, { "content-length": Buffer.byteLength(body), ...headers });
  res.end(body);
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), { "content-type": "application/json", "cache-control": "no-store" });
}

async function readJson(s3: S3Client, bucket: string, key: string): Promise<Record<string, unknown> | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse(await out.Body!.transformToString("utf8"));
  } catch {
    return undefined; // not written yet (the sidecar follows its picture) or unreadable
  }
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { s3, sqs, bucket, prefix } = opts;
  /** Sidecars and failure records never change once written: cache them by key (the most recent ones). */
  const jsonCache = new Map<string, Record<string, unknown>>();
  const cachedJson = async (key: string) => {
    const hit = jsonCache.get(key);
    if (hit) {
      jsonCache.delete(key); // re-inserted below: Map order is the eviction order
      jsonCache.set(key, hit);
      return hit;
    }
    const value = await readJson(s3, bucket, key);
    if (value) {
      jsonCache.set(key, value);
      if (jsonCache.size > JSON_CACHE_ENTRIES) jsonCache.delete(jsonCache.keys().next().value!);
    }
    return value;
  };

  async function listAll(): Promise<_Object[]> {
    const objects: _Object[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }));
      objects.push(...(page.Contents ?? []));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects;
  }

  const time = (o: _Object) => o.LastModified?.getTime() ?? 0;
  const newestFirst = (a: _Object, b: _Object) => time(b) - time(a) || (b.Key! < a.Key! ? -1 : 1);

  /**
   * The newest `limit` pictures. LastModified has a resolution of one second, so pictures stored in
   * the same second are ordered by their sidecar's createdAt (milliseconds).
   */
  async function newestPictures(pngs: _Object[], limit: number) {
    const sorted = [...pngs].sort(newestFirst);
    let end = Math.min(limit, sorted.length);
    while (end > 0 && end < sorted.length && time(sorted[end]) === time(sorted[end - 1])) end++;
    const top = await Promise.all(sorted.slice(0, end).map(async (o) => ({ o, sidecar: (await cachedJson(sidecarKeyOf(o.Key!))) ?? {} })));
    const created = (x: { sidecar: Record<string, unknown> }) => Date.parse(String(x.sidecar.createdAt ?? "")) || 0;
    return top.sort((a, b) => time(b.o) - time(a.o) || created(b) - created(a) || (b.o.Key! < a.o.Key! ? -1 : 1)).slice(0, limit);
  }

  async function pictures(limit: number) {
    const objects = await listAll();
    const pngs = objects.filter((o) => o.Key!.endsWith(".png"));
    const failed = objects.filter((o) => o.Key!.endsWith(".failed.json")).sort(newestFirst);
    return {
      bucket,
      prefix,
      total: pngs.length,
      failedTotal: failed.length,
      pictures: (await newestPictures(pngs, limit)).map(({ o, sidecar }) => ({
        key: o.Key,
        url: `/local/object?key=${encodeURIComponent(o.Key!)}`,
        size: o.Size,
        lastModified: o.LastModified?.toISOString(),
        prompt: sidecar.prompt,
        source: sidecar.source,
        jobId: sidecar.jobId,
        seed: sidecar.seed,
        width: sidecar.width,
        height: sidecar.height,
        model: sidecar.model,
        createdAt: sidecar.createdAt,
      })),
      failures: await Promise.all(
        failed.slice(0, limit).map(async (o) => ({ key: o.Key, lastModified: o.LastModified?.toISOString(), ...(await cachedJson(o.Key!)) })),
      ),
    };
  }

  /** Depths of both queues, and the image queue's messages with their prompts. */
  async function queues() {
    const [queue, dlq] = await Promise.all([queueDepth(sqs, opts.queueUrl), queueDepth(sqs, opts.dlqUrl)]);
    const jobs = (opts.jobs?.(100) ?? []).map((j) => {
      // Listed by job id (a POST /images job carries its own in the body), as GET /images/{id} knows it.
      const { jobId, input } = jobOfRecord(parseQueueBody(j.body).input, j.id);
      const prompt = input.prompt;
      return { id: jobId, prompt: typeof prompt === "string" ? prompt : "", state: j.state, receiveCount: j.receiveCount, sentAt: new Date(j.sentAt).toISOString() };
    });
    return { queue, dlq, jobs };
  }

  async function serveObject(res: http.ServerResponse, key: string | null): Promise<void> {
    // Only pictures and their JSON under the prefix: this is a viewer, not an open proxy.
    if (!key || !key.startsWith(`${prefix}/`) || key.includes("..") || !/\.(png|json)$/.test(key)) {
      return sendJson(res, 404, { error: "no such picture", code: "not-found" });
    }
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const body = Buffer.from(await out.Body!.transformToByteArray());
      send(res, 200, body, { "content-type": key.endsWith(".png") ? "image/png" : "application/json", "cache-control": "max-age=60" });
    } catch {
      sendJson(res, 404, { error: "no such picture", code: "not-found" });
    }
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://local");
    const method = req.method ?? "GET";
    if (method === "GET" && (url.pathname === "/" || url.pathname === "/index.html")) {
      return send(res, 200, GALLERY_HTML, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    }
    if (method === "GET" && url.pathname === "/health") {
      const report = await opts.health();
      return sendJson(res, report.status === "ok" ? 200 : 503, report);
    }
    if (method === "GET" && url.pathname === "/local/pictures") {
      const limit = Math.min(Math.max(Number(url.searchParams.get("limit")) || 48, 1), 500);
      return sendJson(res, 200, await pictures(limit));
    }
    if (method === "GET" && url.pathname === "/local/queues") return sendJson(res, 200, await queues());
    if (method === "GET" && url.pathname === "/local/object") return serveObject(res, url.searchParams.get("key"));

    // Everything else is the deployed API: the runtime handler decides (including 404s).
    const event = toHttpApiEvent(req, await readBody(req));
    const result = await opts.handler(event);
    const headers: Record<string, string | number | boolean> = { ...(result.headers ?? {}) };
    const body = result.isBase64Encoded ? Buffer.from(result.body ?? "", "base64") : Buffer.from(result.body ?? "", "utf8");
    send(res, result.statusCode, body, headers);
  }

  const server = http.createServer((req, res) => {
    route(req, res).catch((err) => {
      if (res.headersSent) return res.destroy();
      if (err instanceof TooLarge) {
        // Answer first; Connection: close makes node end the connection once the answer is out,
        // without reading the rest of the body.
        res.setHeader("connection", "close");
        return sendJson(res, 413, { error: "request body larger than 10 MB", code: "payload-too-large" });
      }
      console.error(`api: ${req.method} ${req.url} failed: ${(err as Error)?.message ?? err}`);
      sendJson(res, 500, { error: "internal error in the local API", code: "internal" });
    });
  });
  const port = await listen(server, opts.host, opts.port, "API", LOCAL_ENV.apiPort);
  return { url: `http://${opts.host}:${port}`, port, close: () => closeServer(server) };
}
