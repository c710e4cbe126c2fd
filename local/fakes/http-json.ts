/** Writing answers of the local HTTP servers: every error is JSON `{"error", "code"}`. */
import type * as http from "node:http";

export function send(
  res: http.ServerResponse,
  status: number,
  body: string | Buffer,
  headers: Record<string, string | number | boolean> = {},
): void {
  res.writeHead(status, { "content-length": Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string | number | boolean> = {},
): void {
  send(res, status, JSON.stringify(value), {
    "content-type": "application/json",
    "cache-control": "no-store",
    ...headers,
  });
}

export function sendError(
  res: http.ServerResponse,
  status: number,
  error: string,
  code: string,
  headers: Record<string, string | number | boolean> = {},
): void {
  sendJson(res, status, { error, code }, headers);
}
