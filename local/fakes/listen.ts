/**
 * Listening with a clear failure: a taken port becomes a `PortInUseError` whose message names the
 * component and the environment variable that moves it (when the caller names one), so `npm start` prints one line, not a trace.
 */
import type { Server } from "node:net";

export class PortInUseError extends Error {
  constructor(
    readonly component: string,
    readonly host: string,
    readonly port: number,
    readonly envName?: string,
    inUse = true,
  ) {
    super(
      `${component}: port ${port} on ${host} is ${inUse ? "already in use" : "not allowed for this user"}; ` +
        `${inUse ? "stop the program using it or " : ""}choose another port${envName ? ` with ${envName}=<port>` : ""}`,
    );
  }
}

/** Starts `server` on host:port and resolves with the port actually bound (port 0 picks a free one). */
export function listen(server: Server, host: string, port: number, component: string, envName?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      if (err.code === "EADDRINUSE" || err.code === "EACCES") {
        reject(new PortInUseError(component, host, port, envName, err.code === "EADDRINUSE"));
      } else reject(err);
    };
    const onListening = () => {
      server.off("error", onError);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

/** Closes a server, also ending idle keep-alive connections so close() does not wait for them. */
export function closeServer(server: Server & { closeIdleConnections?: () => void; closeAllConnections?: () => void }): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeIdleConnections?.();
    // Long polls and open browser connections must not hold the shutdown for long.
    setTimeout(() => server.closeAllConnections?.(), 2000).unref();
  });
}
