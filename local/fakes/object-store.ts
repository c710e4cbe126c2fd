/**
 * The local object store: s3rver, files under the data directory so pictures survive a restart.
 */
import * as http from "node:http";
import { mkdirSync } from "node:fs";
import { closeServer, listen } from "./listen";
import { guardLocalhost, READ_ONLY_METHODS } from "./localhost-guard";
import { createReadWriteGate } from "./read-write-gate";
import { AWSAccount, S3rver } from "./s3rver";

export interface ObjectStore {
  url: string;
  port: number;
  /**
   * Counts the store's changes: it moves when a request that may change objects (anything but
   * GET, HEAD or OPTIONS) arrives and again when it has been answered. While it stays the same, a
   * listing taken meanwhile is still what S3 would answer.
   */
  version(): number;
  close(): Promise<void>;
}

/**
 * s3rver only knows the access key "S3RVER". The handlers sign with whatever the AWS credential
 * chain yields (dummy keys locally, the user's real keys with MODEL=bedrock), so the local store
 * accepts any key id — like local-aws-sqs does. Only this fake server is relaxed; the signing
 * clients are the real ones.
 */
function acceptAnyAccessKey(): void {
  const registry = AWSAccount.registry;
  if ((registry as { acceptsAny?: boolean }).acceptsAny) return;
  const get = registry.get.bind(registry);
  registry.get = (id: string) => get(id) ?? AWSAccount.DUMMY_ACCOUNT;
  (registry as { acceptsAny?: boolean }).acceptsAny = true;
}

export interface ObjectStoreOptions {
  host: string;
  port: number;
  directory: string;
  bucket: string;
  /** The environment variable that moves this server, named when its port is taken. */
  portVariable?: string;
}

export async function startObjectStore(opts: ObjectStoreOptions): Promise<ObjectStore> {
  mkdirSync(opts.directory, { recursive: true });
  acceptAnyAccessKey();
  const s3rver = new S3rver({ directory: opts.directory, silent: true, configureBuckets: [{ name: opts.bucket }] });
  await s3rver.configureBuckets(); // creates the bucket if missing, keeps its objects otherwise
  let version = 0;
  const serve = guardLocalhost(opts.host, s3rver.callback());
  // S3 answers each request as if it ran alone; s3rver's files are not read and written that way,
  // so a change waits for the reads before it and the reads after it wait for the change.
  const gate = createReadWriteGate();
  const server = http.createServer((req, res) => {
    const changes = !READ_ONLY_METHODS.has(req.method ?? "");
    const entered = gate.enter(changes ? "change" : "read");
    let closed = false;
    res.once("close", () => {
      closed = true;
      void entered.then((leave) => leave());
    });
    void entered.then(() => {
      if (closed) return; // the caller went away while it waited
      if (changes) {
        version++;
        res.once("close", () => version++);
      }
      serve(req, res);
    });
  });
  const port = await listen(server, opts.host, opts.port, "object store (s3rver)", opts.portVariable);
  return {
    url: `http://${opts.host}:${port}`,
    port,
    version: () => version,
    close: () => closeServer(server),
  };
}
