/**
 * The local stand-in for Lambda's SQS event source mapping: receive a batch, hand the runtime's
 * queue handler an SQS event shaped like Lambda's, delete what succeeded, and leave the records
 * listed in `batchItemFailures` to reappear after the visibility timeout (local-aws-sqs moves them
 * to the dead-letter queue after the max receive count, as SQS does).
 */
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSMessageAttributes, SQSRecord } from "aws-lambda";
import type { QueueHandler } from "../../runtime/queue-handler";
import { clockUntil, type InvocationClock } from "../../runtime/time-budget";

/**
 * What Lambda's event source mapping accepts: the runtime's QueueHandler, or any handler that
 * returns nothing when the whole batch succeeded.
 */
export type SqsBatchHandler = (...args: Parameters<QueueHandler>) => Promise<Awaited<ReturnType<QueueHandler>> | void>;

export interface WorkerOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  handler: SqsBatchHandler;
  /** Records per handler call (the event source mapping's batch size). */
  batchSize: number;
  /**
   * How long one handler call may take, counted from the batch's first receive (its records'
   * visibility clock): the handler gets a context counting down from it, as Lambda gives one
   * counting down from the function timeout. Unset, it gets none.
   */
  timeLimitSeconds?: number;
  /**
   * How long a receive waits for a message (SQS long polling, as Lambda's event source mapping
   * polls a standard queue). The first receive of a batch waits; the ones that fill it up don't.
   */
  receiveWaitSeconds: number;
  /** Receive loops running side by side (Lambda's event source mapping also polls in parallel). */
  pollers: number;
  /** Called with a one-line description of anything unusual (default: console.error). */
  log?: (line: string) => void;
}

export interface WorkerStats {
  batches: number;
  received: number;
  deleted: number;
  failed: number;
  handlerErrors: number;
  /** Records handed to the handler and not finished yet. */
  inFlight: number;
  /** When a receive last started waiting or finished (ISO time), and how: waiting, messages, empty, or error. */
  lastPollAt?: string;
  lastPollOutcome?: "waiting" | "messages" | "empty" | "error";
  /** The last receive or delete error, kept while the poll loop keeps failing. */
  lastError?: string;
  /** Receives that failed in a row (0 once one succeeds). */
  consecutiveErrors: number;
  state: "running" | "stopping" | "stopped";
}

export interface Worker {
  stats: WorkerStats;
  /**
   * Stops receiving and waits for the batches in flight to finish. The records they leave for
   * redelivery stay in the queue (and its journal), so the next start delivers them again.
   */
  stop(): Promise<void>;
}

function lambdaAttributes(attrs: Record<string, MessageAttributeValue> | undefined): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [name, a] of Object.entries(attrs ?? {})) {
    out[name] = {
      dataType: a.DataType ?? "String",
      stringValue: a.StringValue,
      binaryValue: a.BinaryValue ? Buffer.from(a.BinaryValue).toString("base64") : undefined,
      stringListValues: a.StringListValues ?? [],
      binaryListValues: (a.BinaryListValues ?? []).map((b) => Buffer.from(b).toString("base64")),
    };
  }
  return out;
}

/** One received SQS message as Lambda's event source mapping delivers it. */
export function toSqsRecord(m: Message, queueArn: string, region: string): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? "",
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? "1",
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? "LOCAL",
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(a.AWSTraceHeader ? { AWSTraceHeader: a.AWSTraceHeader } : {}),
    },
    messageAttributes: lambdaAttributes(m.MessageAttributes),
    md5OfBody: m.MD5OfBody ?? "",
    ...(m.MD5OfMessageAttributes ? { md5OfMessageAttributes: m.MD5OfMessageAttributes } : {}),
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/**
 * The ids to leave in the queue, per Lambda's ReportBatchItemFailures rules: a thrown error, or a
 * response naming an id that is empty or not in the batch, fails the whole batch.
 */
export function failedIds(records: SQSRecord[], outcome: { response?: SQSBatchResponse | void; error?: unknown }): Set<string> {
  const all = new Set(records.map((r) => r.messageId));
  if (outcome.error !== undefined) return all;
  const failures = outcome.response?.batchItemFailures ?? [];
  const ids = new Set<string>();
  for (const f of failures) {
    if (!f?.itemIdentifier || !all.has(f.itemIdentifier)) return all;
    ids.add(f.itemIdentifier);
  }
  return ids;
}

/** What the pollers of one worker share. */
interface Run {
  opts: WorkerOptions;
  log: (line: string) => void;
  stats: WorkerStats;
  stopping: boolean;
  /** Ends the receives still waiting when the worker stops. */
  stop: AbortController;
}

const messageOf = (error: unknown) => (error as Error)?.message ?? error;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Lambda-like context whose remaining time ends `timeLimitSeconds` after `startedAt`. */
function invocationClock(opts: WorkerOptions, startedAt: number): InvocationClock | undefined {
  if (opts.timeLimitSeconds === undefined) return undefined;
  return clockUntil(startedAt + opts.timeLimitSeconds * 1000);
}

async function receiveUpTo({ opts, stop }: Run, wanted: number, waitSeconds: number): Promise<Message[]> {
  const { Messages } = await opts.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: opts.queueUrl,
      MaxNumberOfMessages: wanted,
      WaitTimeSeconds: waitSeconds,
      // Both spellings: newer SDKs send MessageSystemAttributeNames, local-aws-sqs reads AttributeNames.
      AttributeNames: ["All"],
      MessageSystemAttributeNames: ["All"],
      MessageAttributeNames: ["All"],
    }),
    { abortSignal: stop.signal },
  );
  return Messages ?? [];
}

/**
 * Up to a batch of messages, and when the first of them arrived: their visibility clock started a
 * moment before (within the store reserve the handler keeps, DEFAULTS.storeReserveSeconds).
 */
async function receiveBatch(run: Run): Promise<{ messages: Message[]; receivedAt: number }> {
  const batch: Message[] = [];
  let receivedAt = 0;
  // SQS hands out at most 10 per call; bigger batch sizes gather several calls, like Lambda.
  while (batch.length < run.opts.batchSize && !run.stopping) {
    const wanted = Math.min(10, run.opts.batchSize - batch.length);
    let messages: Message[];
    try {
      messages = await receiveUpTo(run, wanted, batch.length ? 0 : run.opts.receiveWaitSeconds);
    } catch (error) {
      if (!batch.length) throw error;
      // What was gathered is received (invisible) already: run it rather than drop it.
      if (!run.stopping) run.log(`worker: a receive failed (${messageOf(error)}); running the ${batch.length} record(s) already received`);
      break;
    }
    if (!batch.length) receivedAt = Date.now();
    batch.push(...messages);
    if (messages.length < wanted) break; // the queue has no more right now
  }
  return { messages: batch, receivedAt };
}

/** Deletes up to 10 records in one call; a record that could not be deleted stays in the queue. */
async function deleteChunk({ opts, log, stats }: Run, chunk: SQSRecord[]): Promise<void> {
  try {
    const res = await opts.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: opts.queueUrl,
        Entries: chunk.map((r, n) => ({ Id: String(n), ReceiptHandle: r.receiptHandle })),
      }),
    );
    stats.deleted += res.Successful?.length ?? 0;
    for (const f of res.Failed ?? []) {
      log(`worker: could not delete a processed message (${f.Code}: ${f.Message}); it comes back after the visibility timeout`);
    }
  } catch (error) {
    stats.lastError = `delete: ${messageOf(error)}`;
    log(`worker: could not delete ${chunk.length} processed message(s) (${messageOf(error)}); they come back after the visibility timeout`);
  }
}

/** Deletes `done`; a record that could not be deleted stays in the queue. */
async function deleteRecords(run: Run, done: SQSRecord[]): Promise<void> {
  for (let i = 0; i < done.length; i += 10) await deleteChunk(run, done.slice(i, i + 10));
}

/** The handler's answer to one batch, or what it threw. */
async function invokeHandler(
  run: Run,
  records: SQSRecord[],
  receivedAt: number,
): Promise<{ response?: SQSBatchResponse | void; error?: unknown }> {
  try {
    return { response: await run.opts.handler({ Records: records }, invocationClock(run.opts, receivedAt)) };
  } catch (error) {
    run.stats.handlerErrors++;
    run.log(`worker: the queue handler threw (${messageOf(error)}); the whole batch of ${records.length} returns to the queue`);
    return { error };
  }
}

async function runBatch(run: Run, messages: Message[], receivedAt: number): Promise<void> {
  const { stats } = run;
  const records = messages.map((m) => toSqsRecord(m, run.opts.queueArn, run.opts.region));
  stats.batches++;
  stats.received += records.length;
  stats.inFlight += records.length;
  const outcome = await invokeHandler(run, records, receivedAt);
  try {
    const failed = failedIds(records, outcome);
    // What is not deleted stays in the queue and comes back after the visibility timeout.
    await deleteRecords(
      run,
      records.filter((r) => !failed.has(r.messageId)),
    );
    stats.failed += failed.size;
  } finally {
    stats.inFlight -= records.length;
  }
}

/** Records a poll's outcome in the stats. */
function notePoll(stats: WorkerStats, outcome: WorkerStats["lastPollOutcome"], error?: unknown): void {
  stats.consecutiveErrors = error === undefined ? 0 : stats.consecutiveErrors + 1;
  stats.lastError = error === undefined ? undefined : `receive: ${messageOf(error)}`;
  stats.lastPollAt = new Date().toISOString();
  stats.lastPollOutcome = outcome;
}

async function poll(run: Run): Promise<void> {
  while (!run.stopping) {
    let received: Awaited<ReturnType<typeof receiveBatch>>;
    try {
      if (!run.stats.consecutiveErrors) notePoll(run.stats, "waiting");
      received = await receiveBatch(run);
      notePoll(run.stats, received.messages.length ? "messages" : "empty");
    } catch (error) {
      if (run.stopping) break;
      notePoll(run.stats, "error", error);
      run.log(`worker: ${messageOf(error)}; retrying in 1 s`);
      await sleep(1000);
      continue;
    }
    if (received.messages.length) await runBatch(run, received.messages, received.receivedAt);
  }
}

/** A worker's counters before its first receive. */
export function initialWorkerStats(): WorkerStats {
  return {
    batches: 0,
    received: 0,
    deleted: 0,
    failed: 0,
    handlerErrors: 0,
    inFlight: 0,
    consecutiveErrors: 0,
    state: "running",
  };
}

export function startWorker(opts: WorkerOptions): Worker {
  const stats = initialWorkerStats();
  const run: Run = { opts, log: opts.log ?? ((line: string) => console.error(line)), stats, stopping: false, stop: new AbortController() };
  const loops = Array.from({ length: opts.pollers }, () => poll(run));
  return {
    stats,
    async stop() {
      run.stopping = true;
      run.stop.abort();
      stats.state = "stopping";
      await Promise.all(loops);
      stats.state = "stopped";
    },
  };
}
