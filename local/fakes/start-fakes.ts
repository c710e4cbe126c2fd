/**
 * The protocol peers together: S3 (s3rver), SQS (local-aws-sqs: the image queue and its DLQ) and,
 * unless the real Bedrock is used, the Bedrock-compatible server. `npm start` (local/app/start.ts)
 * and the tests and benchmarks (tools/peers.ts) both start them here.
 */
import { startBedrockServer, type BedrockServer, type BedrockServerOptions } from "./bedrock-server";
import { startObjectStore, type ObjectStore, type ObjectStoreOptions } from "./object-store";
import { startQueueServer, type QueueServer, type QueueServerOptions } from "./queue-server";

export interface FakesOptions {
  host: string;
  /** Region of the queue ARNs (cosmetic). */
  region: string;
  objectStore: Omit<ObjectStoreOptions, "host">;
  queue: Omit<QueueServerOptions, "host" | "region">;
  /** The local model; without it no Bedrock-compatible server starts (the handlers call Amazon Bedrock). */
  bedrock?: Omit<BedrockServerOptions, "host">;
}

/** The servers' URLs as the handlers' endpoint overrides (HandlerSettings["endpoints"] in runtime/config.ts). */
export interface FakeEndpoints {
  s3: string;
  sqs: string;
  bedrockRuntime?: string;
}

export interface Fakes {
  objectStore: ObjectStore;
  queue: QueueServer;
  bedrock?: BedrockServer;
  endpoints: FakeEndpoints;
  /** Closes the queue, the model and the object store. */
  close(): Promise<void>;
}

type Close = () => Promise<void> | void;

/** Runs each close newest first, each one even when another fails; rejects with the first failure. */
export async function closeNewestFirst(closes: Close[]): Promise<void> {
  const failures: unknown[] = [];
  for (const close of [...closes].reverse())
    await Promise.resolve()
      .then(close)
      .catch((err: unknown) => failures.push(err));
  if (failures.length) throw failures[0];
}

/** Starts each server in turn; when one fails, closes those already started and rethrows. */
export async function startFakes(opts: FakesOptions): Promise<Fakes> {
  const started: Close[] = [];
  try {
    const objectStore = await startObjectStore({ host: opts.host, ...opts.objectStore });
    started.push(objectStore.close);
    const queue = await startQueueServer({ host: opts.host, region: opts.region, ...opts.queue });
    started.push(queue.close);
    const bedrock = opts.bedrock ? await startBedrockServer({ host: opts.host, ...opts.bedrock }) : undefined;
    if (bedrock) started.push(bedrock.close);
    return {
      objectStore,
      queue,
      bedrock,
      endpoints: { s3: objectStore.url, sqs: queue.url, ...(bedrock ? { bedrockRuntime: bedrock.url } : {}) },
      close: () => closeNewestFirst(started),
    };
  } catch (err) {
    await closeNewestFirst(started).catch(() => undefined);
    throw err;
  }
}
