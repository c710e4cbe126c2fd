/**
 * A pass-through HTTP proxy in front of the local S3 (s3rver) that records every request the real
 * S3 client makes, so a test can count them (is a status lookup a listing? how many calls?), and
 * can refuse chosen requests with S3's own 503 SlowDown answer. Headers go through unchanged but
 * Host, which names the upstream: the local object store answers only requests addressed to its own
 * host and port (local/fakes/localhost-guard.ts).
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface S3Call {
  method: string;
  /** Decoded path: `/<bucket>` for bucket operations (listings), `/<bucket>/<key>` for objects. */
  path: string;
  /** The query string without "?" ("list-type=2&prefix=…" for ListObjectsV2). */
  query: string;
}

export interface S3Proxy {
  url: string;
  calls: S3Call[];
  /** From now on, requests the predicate picks are answered 503 SlowDown and never reach S3. */
  refuse(predicate: ((call: S3Call) => boolean) | undefined): void;
  close(): Promise<void>;
}

/** A listing of any kind: GET on the bucket itself (ListObjects, ListObjectsV2). */
export const isListing = (call: S3Call, bucket: string): boolean =>
  call.method === "GET" && /^\/[^/]+\/?$/.test(call.path) && call.path.startsWith(`/${bucket}`);

const SLOW_DOWN =
  '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';

export async function startS3Proxy(target: string): Promise<S3Proxy> {
  const upstream = new URL(target);
  const calls: S3Call[] = [];
  let refused: ((call: S3Call) => boolean) | undefined;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const call: S3Call = {
      method: req.method ?? "GET",
      path: decodeURIComponent(url.pathname),
      query: url.search.replace(/^\?/, ""),
    };
    calls.push(call);
    if (refused?.(call)) {
      req.resume();
      res.writeHead(503, { "content-type": "application/xml", "content-length": Buffer.byteLength(SLOW_DOWN) });
      res.end(call.method === "HEAD" ? undefined : SLOW_DOWN);
      return;
    }
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    refuse(predicate) {
      refused = predicate;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
