/**
 * The local servers answer this machine only, and let only their own pages change anything.
 *
 * - DNS rebinding: a web page on another site can point its own name at 127.0.0.1 and then read
 *   the answers as same-origin. Its requests still carry that name in `Host`, so any `Host` that is
 *   not a loopback name (or LOCAL_HOST) with the port the connection came in on gets 403.
 * - CSRF: any page can make the browser POST to 127.0.0.1 (a form needs no CORS permission).
 *   Browsers send `Origin` with every cross-origin POST, PUT, PATCH and DELETE; curl and the AWS
 *   SDKs send none. So a request other than GET, HEAD or OPTIONS whose `Origin` is not this
 *   server's own gets 403. (Fetch standard, https://fetch.spec.whatwg.org/#origin-header; MDN's
 *   compatibility data: every current engine sends it on POST, Firefox since 70,
 *   https://developer.mozilla.org/docs/Web/HTTP/Reference/Headers/Origin.)
 */
import type * as http from "node:http";
import { sendError } from "./http-json";

const LOOPBACK_NAMES = ["127.0.0.1", "localhost", "[::1]"];
/** Methods that change nothing on the server. */
export const READ_ONLY_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The host names this server answers to: the loopback names, and the address it listens on. */
function hostNames(listenHost: string): string[] {
  const own = listenHost.includes(":") ? `[${listenHost}]` : listenHost;
  const wildcard = own === "0.0.0.0" || own === "[::]";
  return [...new Set([...LOOPBACK_NAMES, ...(wildcard ? [] : [own.toLowerCase()])])];
}

/** Why a request is refused, or undefined when it may pass. */
function refusal(req: http.IncomingMessage, names: string[]): { error: string; code: string } | undefined {
  const port = req.socket.localPort;
  const allowed = names.flatMap((name) => (port === 80 ? [name, `${name}:80`] : [`${name}:${port}`]));
  const host = (req.headers.host ?? "").toLowerCase();
  if (!allowed.includes(host)) {
    return {
      error: `this local server answers only requests to 127.0.0.1:${port} or localhost:${port}, not to host "${req.headers.host ?? ""}"`,
      code: "forbidden-host",
    };
  }
  const origin = req.headers.origin;
  if (
    origin !== undefined &&
    !READ_ONLY_METHODS.has((req.method ?? "").toUpperCase()) &&
    !allowed.some((h) => origin.toLowerCase() === `http://${h}`)
  ) {
    return {
      error: `requests that change something are accepted only from this server's own pages, not from origin "${origin}"`,
      code: "forbidden-origin",
    };
  }
  return undefined;
}

/** Wraps a request listener: refused requests get 403 JSON and never reach it. */
export function guardLocalhost(listenHost: string, listener: http.RequestListener): http.RequestListener {
  const names = hostNames(listenHost);
  return (req, res) => {
    const refused = refusal(req, names);
    if (!refused) return listener(req, res);
    // The body is not read: close the connection after the answer.
    sendError(res, 403, refused.error, refused.code, { connection: "close" });
  };
}
