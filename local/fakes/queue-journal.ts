/**
 * The local queue's journal: every send, receive, delete, move to the dead-letter queue and purge,
 * appended as one JSON line before the queue server answers the request that caused it. So
 * whatever moment the process dies (Ctrl-C, `kill -9`, a crash), the file holds every message it
 * accepted and has not deleted, in the queue it was last in, with its receive count.
 *
 * Appends are plain write(2) calls without fsync: the data is in the operating system's cache when
 * the answer goes out, which survives the death of the process (not a power cut; an fsync per
 * message would cost milliseconds each for a guarantee a local fake does not need).
 *
 * The file is rewritten (to a temporary file, then renamed over it, so a kill during the rewrite
 * leaves the old or the new file, never half of one) at every start and whenever the log has grown
 * well past the messages it describes. A line that cannot be read (the last one, cut short by a
 * kill, or damage) is skipped; if any is, the file as found is copied aside first, with a warning.
 *
 * One process at a time: `<file>.lock` holds the owner's pid. A second local mode on the same data
 * directory is refused while that process lives (its rewrite would cut the first one off from its
 * file); the lock of a process that died (a kill) is taken over.
 */
import {
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import * as path from "node:path";
import { processAlive } from "./process-alive";

export type QueueKey = "queue" | "dlq";

/** A message as the journal keeps it: enough to put it back into local-aws-sqs with the same id. */
export interface StoredMessage {
  id: string;
  body: string;
  /** MessageAttributes as local-aws-sqs holds them ({DataType, StringValue, …}). */
  attributes?: Record<string, unknown>;
  /** System attributes local-aws-sqs keeps in the record (DeadLetterQueueSourceArn, AWSTraceHeader). */
  system?: Record<string, string>;
  /** When it was sent (ms since the epoch). */
  sentAt: number;
  /** Not deliverable before this time (DelaySeconds), if later than sentAt. */
  delayedUntil?: number;
  receiveCount: number;
  firstReceiveAt?: number;
}

type Entry =
  | { op: "send"; q: QueueKey; m: StoredMessage }
  | { op: "receive"; q: QueueKey; id: string; count: number; at: number }
  | { op: "delete"; q: QueueKey; id: string }
  /** The redrive: from the queue to the dead-letter queue, as a new record there (same id). */
  | { op: "move"; id: string; sentAt: number; system?: Record<string, string> }
  | { op: "purge"; q: QueueKey };

export type JournalState = Record<QueueKey, Map<string, StoredMessage>>;

/** Rewrite the file once this many lines were appended and they are over twice the messages kept. */
const COMPACT_AFTER_LINES = 1000;

const emptyState = (): JournalState => ({ queue: new Map(), dlq: new Map() });
const isQueueKey = (q: unknown): q is QueueKey => q === "queue" || q === "dlq";

function isStoredMessage(m: unknown): m is StoredMessage {
  const x = m as StoredMessage;
  return !!x && typeof x.id === "string" && typeof x.body === "string" && Number.isFinite(x.sentAt) && Number.isInteger(x.receiveCount);
}

function isEntry(e: unknown): e is Entry {
  const x = e as Record<string, unknown>;
  if (!x || typeof x !== "object") return false;
  switch (x.op) {
    case "send":
      return isQueueKey(x.q) && isStoredMessage(x.m);
    case "receive":
      return isQueueKey(x.q) && typeof x.id === "string" && Number.isInteger(x.count) && Number.isFinite(x.at);
    case "delete":
      return isQueueKey(x.q) && typeof x.id === "string";
    case "move":
      return typeof x.id === "string" && Number.isFinite(x.sentAt);
    case "purge":
      return isQueueKey(x.q);
    default:
      return false;
  }
}

function apply(state: JournalState, e: Entry): void {
  switch (e.op) {
    case "send":
      state[e.q].set(e.m.id, e.m);
      return;
    case "receive": {
      const m = state[e.q].get(e.id);
      if (m) state[e.q].set(e.id, { ...m, receiveCount: e.count, firstReceiveAt: m.firstReceiveAt ?? e.at });
      return;
    }
    case "delete":
      state[e.q].delete(e.id);
      return;
    case "move": {
      const m = state.queue.get(e.id);
      if (!m) return;
      state.queue.delete(e.id);
      const { id, body, attributes } = m;
      state.dlq.set(id, {
        id,
        body,
        ...(attributes ? { attributes } : {}),
        ...(e.system ? { system: e.system } : {}),
        sentAt: e.sentAt,
        receiveCount: 0,
      });
      return;
    }
    case "purge":
      state[e.q].clear();
  }
}

/** What a journal file holds: the messages per queue, and how many lines could not be read. */
export function readJournal(file: string): { state: JournalState; unreadableLines: number } {
  const state = emptyState();
  let unreadableLines = 0;
  if (!existsSync(file)) return { state, unreadableLines };
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      entry = undefined;
    }
    if (isEntry(entry)) apply(state, entry);
    else unreadableLines++;
  }
  return { state, unreadableLines };
}

function lock(file: string): void {
  const lockFile = `${file}.lock`;
  for (;;) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: "wx" });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const owner = Number(readFileSync(lockFile, "utf8"));
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
      throw new Error(`${file} is in use by another local mode (pid ${owner}); stop it, or give this one its own LOCAL_DATA_DIR`);
    }
    rmSync(lockFile, { force: true }); // left by a process that is gone
  }
}

export interface QueueJournalOptions {
  /** Messages older than this are dropped, as the queue drops them (MessageRetentionPeriod). */
  retentionMs: Record<QueueKey, number>;
  warn: (line: string) => void;
}

export class QueueJournal {
  private fd: number;
  private linesSinceRewrite = 0;

  private constructor(
    readonly file: string,
    readonly state: JournalState,
  ) {
    this.fd = this.rewrite();
  }

  /** Takes the lock, reads the file (if any), drops expired messages, rewrites it compactly and opens it for appending. */
  static open(file: string, opts: QueueJournalOptions): QueueJournal {
    mkdirSync(path.dirname(file), { recursive: true });
    lock(file);
    const { state, unreadableLines } = readJournal(file);
    if (unreadableLines) {
      const aside = `${file}.damaged-${new Date().toISOString().replace(/[:.]/g, "-")}`;
      copyFileSync(file, aside);
      opts.warn(
        `warning: ${unreadableLines} line(s) of ${file} could not be read and were skipped (a copy of the file as found is in ${aside}); every other message is kept`,
      );
    }
    const now = Date.now();
    for (const q of ["queue", "dlq"] as const) {
      for (const [id, m] of state[q]) if (now - m.sentAt > opts.retentionMs[q]) state[q].delete(id);
    }
    return new QueueJournal(file, state);
  }

  send(q: QueueKey, m: StoredMessage): void {
    this.append({ op: "send", q, m });
  }

  receive(q: QueueKey, id: string, count: number, at: number): void {
    if (this.state[q].has(id)) this.append({ op: "receive", q, id, count, at });
  }

  delete(q: QueueKey, id: string): void {
    if (this.state[q].has(id)) this.append({ op: "delete", q, id });
  }

  move(id: string, sentAt: number, system?: Record<string, string>): void {
    if (this.state.queue.has(id)) this.append({ op: "move", id, sentAt, ...(system ? { system } : {}) });
  }

  purge(q: QueueKey): void {
    this.append({ op: "purge", q });
  }

  close(): void {
    closeSync(this.fd);
    rmSync(`${this.file}.lock`, { force: true });
  }

  private append(entry: Entry): void {
    apply(this.state, entry);
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
    const kept = this.state.queue.size + this.state.dlq.size;
    if (++this.linesSinceRewrite > COMPACT_AFTER_LINES && this.linesSinceRewrite > 2 * kept) {
      closeSync(this.fd);
      this.fd = this.rewrite();
    }
  }

  /** Writes the current state as one "send" line per message and returns a descriptor appending to it. */
  private rewrite(): number {
    const lines: string[] = [];
    for (const q of ["queue", "dlq"] as const) for (const m of this.state[q].values()) lines.push(JSON.stringify({ op: "send", q, m }));
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, "w");
    try {
      if (lines.length) writeSync(fd, `${lines.join("\n")}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    this.linesSinceRewrite = 0;
    return openSync(this.file, "a");
  }
}
