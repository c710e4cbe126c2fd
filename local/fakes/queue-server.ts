/**
 * The local queue: local-aws-sqs with the image queue and its dead-letter queue, redriven after
 * the stack's max receive count, made durable by a journal (local/fakes/queue-journal.ts).
 *
 * local-aws-sqs keeps messages in memory only. This server follows every change to its records —
 * send, receive, delete, redrive to the DLQ, purge — through the queues' public `newRecord`,
 * `receive`, `delete`, `changeVisibility` and `clearRecords` members, and appends each to the
 * journal before the request that caused it is answered. At start the journal's messages are put
 * back with their ids (job ids stay valid), bodies, attributes, send times and receive counts.
 * Messages that were in flight are visible again at once: the process that held them is gone, so
 * their visibility timeout has ended. A redelivery cut short by the stop does not count toward the
 * redrive: a message of the image queue comes back with at most maxReceiveCount − 1 receives, so
 * it gets one more delivery (the one that writes its failure record) before the DLQ.
 *
 * `jobs()` lists the image queue's messages (waiting, delayed and in flight) with their bodies, for
 * the gallery's pending cards.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import * as http from "node:http";
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequestHandler } from "local-aws-sqs";
import { closeServer, listen } from "./listen";
import { guardLocalhost } from "./localhost-guard";
import { QueueJournal, type QueueKey, type StoredMessage } from "./queue-journal";

export interface QueueServerOptions {
  host: string;
  port: number;
  /** The environment variable that moves this server, named when its port is taken. */
  portVariable?: string;
  queueName: string;
  dlqName: string;
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
  /** Region used in the queue ARNs (cosmetic). */
  region: string;
  /** The journal that makes the queues durable; without it they live in memory only (tests). */
  journalFile?: string;
  /**
   * `queues.json` as earlier versions saved it at a clean stop: its messages are moved into the
   * journal once, then the file is removed. A file that cannot be read is moved aside.
   */
  legacyStateFile?: string;
  /** Prints a warning line (an unreadable file); default: stderr. */
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
  /** Messages put back from the journal at start, per queue. */
  restored: Record<QueueKey, number>;
  /** Messages the journal holds now, per queue (what the next start puts back). */
  kept(): Record<QueueKey, number>;
  /** The image queue's messages that are not deleted yet, oldest first (at most `limit`). */
  jobs(limit?: number): QueuedJob[];
  /** Receives with a wait (long polls) waiting for a message now. */
  waitingReceives(): number;
  close(): Promise<void>;
}

const ACCOUNT_ID = "000000000000";
/** System attributes local-aws-sqs keeps in a record and gives back on receive. */
const SYSTEM_ATTRIBUTES = ["DeadLetterQueueSourceArn", "AWSTraceHeader"];

/** local-aws-sqs's live record wrapper, as `newRecord` returns it. */
interface LiveRecord {
  visible: boolean;
  delayed: boolean;
  record: {
    MessageId: string;
    MessageBody: string;
    ReceiptHandle: string;
    MessageAttributes?: Record<string, unknown>;
    attributes: Record<string, string>;
  };
}
interface LocalQueue {
  QueueUrl: string;
  DelaySeconds: number;
  ReceiveMessageWaitTimeSeconds: number;
  MessageRetentionPeriod: number;
  setRecord(input: Record<string, unknown>, messageId?: string): LiveRecord;
  newRecord(msg: Record<string, unknown>, delay?: number): LiveRecord;
  receive(params: Record<string, unknown>): Promise<Array<LiveRecord["record"]>>;
  delete(handle: string): boolean;
  changeVisibility(handle: string, timeout: string): boolean;
  clearRecords(): void;
}

/** The message id inside a local-aws-sqs receipt handle (base64 of a uuid followed by JSON). */
function idOfReceiptHandle(handle: string): string | undefined {
  try {
    const text = Buffer.from(handle, "base64").toString("utf8");
    return JSON.parse(text.slice(text.indexOf("{"))).MessageId;
  } catch {
    return undefined;
  }
}

function systemAttributes(attributes: Record<string, string>): Record<string, string> | undefined {
  const found = SYSTEM_ATTRIBUTES.filter((name) => attributes[name]);
  return found.length ? Object.fromEntries(found.map((name) => [name, attributes[name]])) : undefined;
}

/** The journal's form of a record local-aws-sqs just created. */
function storedMessage(w: LiveRecord, delaySeconds: number): StoredMessage {
  const { MessageId: id, MessageBody: body, MessageAttributes: attributes, attributes: a } = w.record;
  const sentAt = Number(a.SentTimestamp);
  const system = systemAttributes(a);
  return {
    id,
    body,
    ...(attributes ? { attributes } : {}),
    ...(system ? { system } : {}),
    sentAt,
    ...(delaySeconds > 0 ? { delayedUntil: sentAt + delaySeconds * 1000 } : {}),
    receiveCount: Number(a.ApproximateReceiveCount) || 0,
  };
}

/** Puts a journal message back into a queue with its id, send time and receive count (at most `maxCount`). */
function restore(queue: LocalQueue, m: StoredMessage, maxCount: number): void {
  const remainingDelayMs = Math.max(0, (m.delayedUntil ?? 0) - Date.now());
  const w = queue.setRecord(
    {
      MessageBody: m.body,
      MessageAttributes: m.attributes,
      ...(m.system
        ? {
            MessageSystemAttributes: Object.fromEntries(
              Object.entries(m.system).map(([k, v]) => [k, { DataType: "String", StringValue: v }]),
            ),
          }
        : {}),
      DelaySeconds: remainingDelayMs / 1000,
    },
    m.id,
  );
  const count = Math.min(m.receiveCount, maxCount);
  Object.assign(w.record.attributes, {
    SentTimestamp: String(m.sentAt),
    ApproximateReceiveCount: String(count),
    ApproximateFirstReceiveTimestamp: count > 0 && m.firstReceiveAt ? String(m.firstReceiveAt) : "",
  });
}

/**
 * Follows a queue's records: `live` holds its current wrappers (for jobs() and receive counts) and
 * the journal, when there is one, gets every change. `from` is the queue whose redrive lands here.
 */
function followRecords(
  key: QueueKey,
  queue: LocalQueue,
  live: Map<string, LiveRecord>,
  journal: () => QueueJournal | undefined,
  from?: Map<string, LiveRecord>,
): void {
  const newRecord = queue.newRecord;
  queue.newRecord = (msg, delay) => {
    const w = newRecord(msg, delay);
    const id = w.record.MessageId;
    live.set(id, w);
    from?.delete(id);
    const j = journal();
    if (from && j?.state.queue.has(id)) j.move(id, Number(w.record.attributes.SentTimestamp), systemAttributes(w.record.attributes));
    else j?.send(key, storedMessage(w, delay === undefined || Number.isNaN(delay) ? queue.DelaySeconds : delay));
    return w;
  };
  const receive = queue.receive.bind(queue);
  queue.receive = async (params) => {
    const records = await receive(params);
    for (const r of records)
      journal()?.receive(
        key,
        r.MessageId,
        Number(r.attributes.ApproximateReceiveCount),
        Number(r.attributes.ApproximateFirstReceiveTimestamp) || Date.now(),
      );
    return records;
  };
  const deleteRecord = queue.delete.bind(queue);
  queue.delete = (handle) => {
    const done = deleteRecord(handle);
    const id = idOfReceiptHandle(handle);
    if (id && live.delete(id)) journal()?.delete(key, id);
    return done;
  };
  // local-aws-sqs counts a visibility change as a receive; the journal keeps the same count.
  const changeVisibility = queue.changeVisibility.bind(queue);
  queue.changeVisibility = (handle, timeout) => {
    const changed = changeVisibility(handle, timeout);
    const w = live.get(idOfReceiptHandle(handle) ?? "");
    if (changed && w) journal()?.receive(key, w.record.MessageId, Number(w.record.attributes.ApproximateReceiveCount), Date.now());
    return changed;
  };
  const clearRecords = queue.clearRecords.bind(queue);
  queue.clearRecords = () => {
    clearRecords();
    live.clear();
    journal()?.purge(key);
  };
}

/** How often a long poll looks for a message it can take: local-aws-sqs's own receive interval. */
const LONG_POLL_TICK_MS = 10;
/** A server's long polls: whether it is closing (they answer at once), and how many wait now. */
interface LongPolls {
  closing: boolean;
  waiting: number;
}
/** The answer of the request being handled, for a long poll to see whether its caller is still there. */
const callers = new AsyncLocalStorage<http.ServerResponse>();

/**
 * SQS's long poll: a receive that may wait answers as soon as at least one message can be taken,
 * with up to MaxNumberOfMessages of them, or empty when the wait ends
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html).
 * local-aws-sqs holds its answer until it has the maximum or the wait is over, and takes the same
 * message twice in one answer when the wait outlasts its visibility timeout. Here the wait happens
 * outside it: one receive of the messages that can be taken now, which fills at its first look. A
 * wait ends empty when its caller has left (a stopped worker must not take messages into an answer
 * nobody reads) or the server closes. A receive with no wait stays local-aws-sqs's own.
 */
function longPollLikeSqs(queue: LocalQueue, live: Map<string, LiveRecord>, polls: LongPolls): void {
  const receive = queue.receive.bind(queue);
  const ready = () => {
    let n = 0;
    for (const w of live.values()) if (w.visible && !w.delayed) n++;
    return n;
  };
  const wait = async (params: Record<string, unknown>, until: number, caller: http.ServerResponse | undefined) => {
    const most = Number(params.MaxNumberOfMessages ?? 1);
    for (;;) {
      const now = ready();
      if (now > 0) {
        const records = await receive({ ...params, WaitTimeSeconds: 0, MaxNumberOfMessages: Math.min(most, now) });
        if (records.length) return records;
      }
      if (polls.closing) caller?.setHeader("Connection", "close"); // its connection must not hold the close
      if (Date.now() >= until || polls.closing || !caller || caller.destroyed) return [];
      await new Promise((r) => setTimeout(r, LONG_POLL_TICK_MS));
    }
  };
  queue.receive = async (params) => {
    const waitSeconds = Number(params.WaitTimeSeconds ?? queue.ReceiveMessageWaitTimeSeconds);
    if (!(waitSeconds > 0)) return receive(params);
    polls.waiting++;
    try {
      return await wait(params, Date.now() + waitSeconds * 1000, callers.getStore());
    } finally {
      polls.waiting--;
    }
  };
}

/**
 * The messages of an earlier version's queues.json, or none. A file that is not a saved state is
 * moved aside (`<file>.corrupt-<time>`) with one warning line, so it is neither reused nor lost.
 */
function readLegacyState(file: string | undefined, warn: (line: string) => void): Record<QueueKey, StoredMessage[]> {
  if (!file || !existsSync(file)) return { queue: [], dlq: [] };
  type Saved = { id: string; body: string; attributes?: Record<string, unknown> };
  const valid = (list: unknown): list is Saved[] | undefined =>
    list === undefined || (Array.isArray(list) && list.every((m) => m && typeof m.id === "string" && typeof m.body === "string"));
  try {
    const state = JSON.parse(readFileSync(file, "utf8")) as { queue?: unknown; dlq?: unknown };
    if (!state || typeof state !== "object" || !valid(state.queue) || !valid(state.dlq)) throw new Error("not a saved queue state");
    const now = Date.now();
    const stored = (list: Saved[] = []) =>
      list.map((m) => ({
        id: m.id,
        body: m.body,
        ...(m.attributes ? { attributes: m.attributes } : {}),
        sentAt: now,
        receiveCount: 0,
      }));
    return { queue: stored(state.queue), dlq: stored(state.dlq) };
  } catch (err) {
    const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    renameSync(file, aside);
    warn(`warning: ${file} could not be read (${(err as Error).message}); moved it to ${aside}`);
    return { queue: [], dlq: [] };
  }
}

/** local-aws-sqs serving the image queue and its dead-letter queue with the stack's redrive policy. */
function sqsService(opts: QueueServerOptions, arn: (name: string) => string) {
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
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: arn(opts.dlqName),
            maxReceiveCount: opts.maxReceiveCount,
          }),
        },
      },
    ],
  });
  const byName = (name: string) => service.Queues.find((q) => q.QueueName === name) as unknown as LocalQueue;
  const queues: Record<QueueKey, LocalQueue> = { queue: byName(opts.queueName), dlq: byName(opts.dlqName) };
  return { service, requestHandler, queues };
}

/**
 * Puts back what the journal and a legacy state file kept. Returns the count per queue and the
 * legacy file's messages the journal does not have yet.
 */
function restoreMessages(
  opts: QueueServerOptions,
  queues: Record<QueueKey, LocalQueue>,
  journal: QueueJournal | undefined,
  warn: (line: string) => void,
) {
  const legacy = readLegacyState(opts.legacyStateFile, warn);
  const restored: Record<QueueKey, number> = { queue: 0, dlq: 0 };
  const imported: Array<[QueueKey, StoredMessage]> = [];
  for (const key of ["queue", "dlq"] as const) {
    const messages = new Map<string, StoredMessage>(journal?.state[key] ?? []);
    for (const m of legacy[key]) {
      if (messages.has(m.id)) continue;
      messages.set(m.id, m);
      imported.push([key, m]);
    }
    const maxCount = key === "queue" ? opts.maxReceiveCount - 1 : Number.MAX_SAFE_INTEGER;
    for (const m of messages.values()) restore(queues[key], m, maxCount);
    restored[key] = messages.size;
  }
  return { restored, imported };
}

/** The legacy state file's messages go into the journal, and the file away. */
function adoptLegacy(
  journal: QueueJournal | undefined,
  imported: Array<[QueueKey, StoredMessage]>,
  legacyStateFile: string | undefined,
): void {
  if (!journal) return;
  for (const [key, m] of imported) journal.send(key, m);
  if (legacyStateFile && existsSync(legacyStateFile)) rmSync(legacyStateFile); // its messages are in the journal now
}

/** Up to `limit` jobs of the queue; drops the expired ones it meets. */
function queuedJobs(live: Map<string, LiveRecord>, queue: LocalQueue, limit: number): QueuedJob[] {
  const retentionMs = queue.MessageRetentionPeriod * 1000;
  const now = Date.now();
  const out: QueuedJob[] = [];
  for (const [id, w] of live) {
    const sentAt = Number(w.record.attributes.SentTimestamp);
    if (now - sentAt > retentionMs)
      live.delete(id); // expired inside the queue
    else if (out.length < limit) {
      const state = w.delayed ? "delayed" : w.visible ? "waiting" : "in-flight";
      out.push({
        id,
        body: w.record.MessageBody,
        state,
        receiveCount: Number(w.record.attributes.ApproximateReceiveCount),
        sentAt,
      });
    }
  }
  return out;
}

export async function startQueueServer(opts: QueueServerOptions): Promise<QueueServer> {
  const arn = (name: string) => `arn:aws:sqs:${opts.region}:${ACCOUNT_ID}:${name}`;
  const warn = opts.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { service, requestHandler, queues } = sqsService(opts, arn);

  const journal = opts.journalFile
    ? QueueJournal.open(opts.journalFile, {
        warn,
        retentionMs: {
          queue: queues.queue.MessageRetentionPeriod * 1000,
          dlq: queues.dlq.MessageRetentionPeriod * 1000,
        },
      })
    : undefined;
  let journaling = false; // not while restoring (those are no new sends), nor after close()
  const live: Record<QueueKey, Map<string, LiveRecord>> = { queue: new Map(), dlq: new Map() };
  const activeJournal = () => (journaling ? journal : undefined);
  followRecords("queue", queues.queue, live.queue, activeJournal);
  followRecords("dlq", queues.dlq, live.dlq, activeJournal, live.queue);
  const polls: LongPolls = { closing: false, waiting: 0 };
  for (const key of ["queue", "dlq"] as const) longPollLikeSqs(queues[key], live[key], polls);

  const { restored, imported } = restoreMessages(opts, queues, journal, warn);
  journaling = true;
  adoptLegacy(journal, imported, opts.legacyStateFile);

  const server = http.createServer(guardLocalhost(opts.host, (req, res) => callers.run(res, () => void requestHandler(req, res))));
  const port = await listen(server, opts.host, opts.port, "queue (local-aws-sqs)", opts.portVariable).catch((err) => {
    journal?.close();
    throw err;
  });
  service.PORT = port; // queue URLs carry the port actually bound

  return {
    url: `http://${opts.host}:${port}`,
    port,
    queueUrl: queues.queue.QueueUrl,
    queueArn: arn(opts.queueName),
    dlqUrl: queues.dlq.QueueUrl,
    dlqArn: arn(opts.dlqName),
    restored,
    kept: () => ({
      queue: journal?.state.queue.size ?? live.queue.size,
      dlq: journal?.state.dlq.size ?? live.dlq.size,
    }),
    jobs: (limit = 100) => queuedJobs(live.queue, queues.queue, limit),
    waitingReceives: () => polls.waiting,
    async close() {
      polls.closing = true;
      await closeServer(server);
      if (journaling) journal?.close();
      journaling = false;
    },
  };
}
