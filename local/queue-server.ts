/**
 * The local queue: local-aws-sqs with the image queue and its dead-letter queue, redriven after
 * the stack's max receive count.
 *
 * local-aws-sqs keeps messages in memory only. So that Ctrl-C loses nothing, `saveMessages`
 * drains both queues into `<dataDir>/queues.json` at shutdown and `startQueueServer` puts them
 * back (same message ids, so job ids stay valid) at the next start; receive counts start over.
 * Once restored, the file is removed: the messages live in the queue again, and only a clean stop
 * writes a new file. (Kept, it would be restored a second time after a crash or a kill, duplicating
 * work and bringing old dead letters back.) A file that cannot be read is moved aside, not reused.
 *
 * `jobs()` lists the image queue's messages (waiting, delayed and in flight) with their bodies, for
 * the gallery's pending cards: local-aws-sqs keeps its records private, so the server follows them
 * through the queue's public `newRecord` / `delete` / `clearRecords` members.
 */
import * as http from "node:http";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { ReceiveMessageCommand, SQSClient, type Message, type MessageAttributeValue } from "@aws-sdk/client-sqs";
import { createRequestHandler } from "local-aws-sqs";
import { closeServer, listen } from "./listen";
import { LOCAL_ENV } from "./config";

export interface QueueServerOptions {
  host: string;
  port: number;
  queueName: string;
  dlqName: string;
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
  /** Region used in the queue ARNs (cosmetic). */
  region: string;
  /** File the queued messages are saved to at shutdown and restored from at start. */
  stateFile?: string;
  /** Prints a warning line (an unreadable state file); default: stderr. */
  warn?: (line: string) => void;
}

/** A message of the image queue as the gallery shows it. */
export interface QueuedJob {
  id: string;
  body: string;
  /** waiting: visible; in-flight: received and not yet deleted; delayed: not deliverable yet. */
  state: "waiting" | "in-flight" | "delayed";
  receiveCount: number;
  /** When it was sent (ms since the epoch). */
  sentAt: number;
}

export interface QueueServer {
  url: string;
  port: number;
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
  dlqArn: string;
  /** Messages put back from the state file at start, per queue. */
  restored: { queue: number; dlq: number };
  /** The image queue's messages that are not deleted yet, oldest first (at most `limit`). */
  jobs(limit?: number): QueuedJob[];
  /**
   * Drains both queues into the state file (call after the worker stopped), adding `held`:
   * messages received but not finished, still invisible in the queue. Returns the counts.
   */
  saveMessages(sqs: SQSClient, held?: SavedMessage[]): Promise<{ queue: number; dlq: number }>;
  close(): Promise<void>;
}

export interface SavedMessage { id: string; body: string; attributes?: Record<string, MessageAttributeValue> }
interface SavedState { queue: SavedMessage[]; dlq: SavedMessage[] }

const ACCOUNT_ID = "000000000000";

/**
 * The saved state, or empty when there is none. A file that is not a saved state is moved aside
 * (`<file>.corrupt-<time>`) with one warning line, so it is neither reused nor overwritten.
 */
function readState(file: string | undefined, warn: (line: string) => void): SavedState & { found: boolean } {
  if (!file || !existsSync(file)) return { queue: [], dlq: [], found: false };
  try {
    const state = JSON.parse(readFileSync(file, "utf8")) as Partial<SavedState>;
    const valid = (list: unknown): list is SavedMessage[] =>
      list === undefined || (Array.isArray(list) && list.every((m) => m && typeof m.id === "string" && typeof m.body === "string"));
    if (!state || typeof state !== "object" || !valid(state.queue) || !valid(state.dlq)) throw new Error("not a saved queue state");
    return { queue: state.queue ?? [], dlq: state.dlq ?? [], found: true };
  } catch (err) {
    const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    renameSync(file, aside);
    warn(`warning: ${file} could not be read (${(err as Error).message}); moved it to ${aside} and started with empty queues`);
    return { queue: [], dlq: [], found: false };
  }
}

/** local-aws-sqs's live record wrapper, as `newRecord` returns it. */
interface LiveRecord {
  visible: boolean;
  delayed: boolean;
  record: { MessageId: string; MessageBody: string; ReceiptHandle: string; attributes: Record<string, string> };
}
type LocalQueue = { newRecord: (msg: Record<string, unknown>, delay?: number) => LiveRecord; delete(handle: string): boolean; clearRecords(): void; MessageRetentionPeriod: number };

/** The message id inside a local-aws-sqs receipt handle (base64 of a uuid followed by JSON). */
function idOfReceiptHandle(handle: string): string | undefined {
  try {
    const text = Buffer.from(handle, "base64").toString("utf8");
    return JSON.parse(text.slice(text.indexOf("{"))).MessageId;
  } catch {
    return undefined;
  }
}

/** Follows a queue's records: added (send, restore), deleted, purged, moved to `dlq`. */
function trackRecords(queue: LocalQueue, dlq: LocalQueue): Map<string, LiveRecord> {
  const live = new Map<string, LiveRecord>();
  const newRecord = queue.newRecord;
  queue.newRecord = (msg, delay) => {
    const wrapper = newRecord(msg, delay);
    live.set(wrapper.record.MessageId, wrapper);
    return wrapper;
  };
  const deleteRecord = queue.delete.bind(queue);
  queue.delete = (handle) => {
    const done = deleteRecord(handle);
    const id = [...live.values()].find((w) => w.record.ReceiptHandle === handle)?.record.MessageId ?? idOfReceiptHandle(handle);
    if (id) live.delete(id);
    return done;
  };
  const clearRecords = queue.clearRecords.bind(queue);
  queue.clearRecords = () => {
    clearRecords();
    live.clear();
  };
  // A redrive re-creates the message (same id) in the dead-letter queue.
  const dlqNewRecord = dlq.newRecord;
  dlq.newRecord = (msg, delay) => {
    const wrapper = dlqNewRecord(msg, delay);
    live.delete(wrapper.record.MessageId);
    return wrapper;
  };
  return live;
}

/** Receives every visible message of a queue (keeping them invisible) and returns them. */
async function drain(sqs: SQSClient, queueUrl: string): Promise<SavedMessage[]> {
  const out = new Map<string, SavedMessage>();
  for (;;) {
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 3600,
        MessageAttributeNames: ["All"],
      }),
    );
    if (!Messages?.length) return [...out.values()];
    for (const m of Messages as Message[]) {
      if (m.MessageId) out.set(m.MessageId, { id: m.MessageId, body: m.Body ?? "", attributes: m.MessageAttributes });
    }
  }
}

export async function startQueueServer(opts: QueueServerOptions): Promise<QueueServer> {
  const arn = (name: string) => `arn:aws:sqs:${opts.region}:${ACCOUNT_ID}:${name}`;
  const { service, requestHandler } = createRequestHandler({
    port: opts.port,
    hostname: opts.host,
    region: opts.region,
    accountId: ACCOUNT_ID,
    emulateQueueCreationLifecycle: false,
    queues: [
      { QueueName: opts.dlqName, Attributes: { MessageRetentionPeriod: 1209600 } },
      {
        QueueName: opts.queueName,
        Attributes: {
          VisibilityTimeout: opts.visibilityTimeoutSeconds,
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn(opts.dlqName), maxReceiveCount: opts.maxReceiveCount }),
        },
      },
    ],
  });
  const server = http.createServer((req, res) => void requestHandler(req, res));
  const port = await listen(server, opts.host, opts.port, "queue (local-aws-sqs)", LOCAL_ENV.sqsPort);
  service.PORT = port; // queue URLs carry the port actually bound

  const byName = (name: string) => service.Queues.find((q) => q.QueueName === name)!;
  const live = trackRecords(byName(opts.queueName) as unknown as LocalQueue, byName(opts.dlqName) as unknown as LocalQueue);
  const state = readState(opts.stateFile, opts.warn ?? ((line) => process.stderr.write(`${line}\n`)));
  for (const m of state.queue) byName(opts.queueName).setRecord({ MessageBody: m.body, MessageAttributes: m.attributes }, m.id);
  for (const m of state.dlq) byName(opts.dlqName).setRecord({ MessageBody: m.body, MessageAttributes: m.attributes }, m.id);
  // The messages are in the queue now; a clean stop writes a new file.
  if (state.found) rmSync(opts.stateFile!, { force: true });

  const queueUrl = byName(opts.queueName).QueueUrl;
  const dlqUrl = byName(opts.dlqName).QueueUrl;
  return {
    url: `http://${opts.host}:${port}`,
    port,
    queueUrl,
    queueArn: arn(opts.queueName),
    dlqUrl,
    dlqArn: arn(opts.dlqName),
    restored: { queue: state.queue.length, dlq: state.dlq.length },
    jobs(limit = 100) {
      const retentionMs = byName(opts.queueName).MessageRetentionPeriod * 1000;
      const now = Date.now();
      const out: QueuedJob[] = [];
      for (const [id, w] of live) {
        const sentAt = Number(w.record.attributes.SentTimestamp);
        if (now - sentAt > retentionMs) live.delete(id); // expired inside the queue
        else if (out.length < limit) {
          const state = w.delayed ? "delayed" : w.visible ? "waiting" : "in-flight";
          out.push({ id, body: w.record.MessageBody, state, receiveCount: Number(w.record.attributes.ApproximateReceiveCount), sentAt });
        }
      }
      return out;
    },
    async saveMessages(sqs, held = []) {
      const queued = new Map([...held, ...(await drain(sqs, queueUrl))].map((m) => [m.id, m]));
      const saved: SavedState = { queue: [...queued.values()], dlq: await drain(sqs, dlqUrl) };
      if (opts.stateFile) {
        mkdirSync(path.dirname(opts.stateFile), { recursive: true });
        const tmp = `${opts.stateFile}.tmp`;
        writeFileSync(tmp, JSON.stringify(saved));
        renameSync(tmp, opts.stateFile);
      }
      return { queue: saved.queue.length, dlq: saved.dlq.length };
    },
    close: () => closeServer(server),
  };
}
