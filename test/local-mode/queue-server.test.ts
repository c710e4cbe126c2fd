/**
 * The local queue server (local/fakes/queue-server.ts) and its journal (local/fakes/queue-journal.ts) against
 * the real SQS client: every message it accepted comes back after the server went away (deleted
 * ones do not), with its id, body, attributes and receive count; dead letters too, also the ones
 * someone was receiving; a damaged journal line or an old queues.json loses nothing else; and the
 * list of queued jobs the gallery shows.
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import {
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from "@aws-sdk/client-sqs";
import { startQueueServer, type QueueServer } from "../../local/fakes/queue-server";
import { LOCAL_CREDENTIALS } from "../../local/fakes/credentials";
import { readJournal } from "../../local/fakes/queue-journal";
import { waitFor } from "../../tools/local-child";
import { receiveAll } from "../../tools/events";

describe("local mode: the queue server's journal and job list", function () {
  this.timeout(30000);
  let dir: string;
  let journalFile: string;
  let server: QueueServer | undefined;
  let sqs: SQSClient | undefined;
  const warnings: string[] = [];

  /** Starts (or restarts, after the previous server went away without any shutdown step) on the same files. */
  const start = async (visibilityTimeoutSeconds = 30, maxReceiveCount = 3) => {
    sqs?.destroy();
    await server?.close();
    server = await startQueueServer({
      host: "127.0.0.1",
      port: 0,
      queueName: "jobs",
      dlqName: "jobs-dlq",
      maxReceiveCount,
      visibilityTimeoutSeconds,
      region: "eu-west-1",
      journalFile,
      legacyStateFile: path.join(dir, "queues.json"),
      warn: (line) => warnings.push(line),
    });
    sqs = new SQSClient({ region: "eu-west-1", endpoint: server.url, credentials: LOCAL_CREDENTIALS });
    return server;
  };
  /** Receives everything visible in `url` (holding it for a minute). */
  const receiveEverything = (url: string): Promise<Message[]> =>
    receiveAll(sqs!, url, { visibilityTimeoutSeconds: 60, messageAttributes: true });
  const send = async (body: string, extra: Partial<ConstructorParameters<typeof SendMessageCommand>[0]> = {}) =>
    (await sqs!.send(new SendMessageCommand({ QueueUrl: server!.queueUrl, MessageBody: body, ...extra }))).MessageId!;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "queue-journal-"));
    journalFile = path.join(dir, "queue-journal.jsonl");
    warnings.length = 0;
  });
  afterEach(async () => {
    sqs?.destroy();
    sqs = undefined;
    await server?.close();
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it("puts back every message not deleted, once, with its id, body, attributes and receive count; in-flight ones visible at once", async () => {
    await start();
    const a = await send("with an attribute", {
      MessageAttributes: { origin: { DataType: "String", StringValue: "gallery" } },
    });
    const b = await send("deleted before the restart");
    const c = await send('{"prompt":"waiting"}');
    const got = await sqs!.send(new ReceiveMessageCommand({ QueueUrl: server!.queueUrl, MaxNumberOfMessages: 2, VisibilityTimeout: 300 }));
    assert.deepEqual(got.Messages!.map((m) => m.MessageId).sort(), [a, b].sort());
    await sqs!.send(
      new DeleteMessageCommand({
        QueueUrl: server!.queueUrl,
        ReceiptHandle: got.Messages!.find((m) => m.MessageId === b)!.ReceiptHandle,
      }),
    );

    const second = await start(); // the first server is gone; nothing was saved at a stop
    assert.deepEqual(second.restored, { queue: 2, dlq: 0 });
    const back = await receiveEverything(second.queueUrl);
    assert.deepEqual(
      back.map((m) => [m.MessageId, m.Body]).sort(),
      [
        [a, "with an attribute"],
        [c, '{"prompt":"waiting"}'],
      ].sort(),
    );
    const again = back.find((m) => m.MessageId === a)!;
    assert.equal(again.MessageAttributes?.origin?.StringValue, "gallery");
    assert.equal(again.Attributes?.ApproximateReceiveCount, "2", "its first delivery counts");
    assert.equal(back.find((m) => m.MessageId === c)!.Attributes?.ApproximateReceiveCount, "1");
    assert.deepEqual(warnings, []);
  });

  it("keeps dead letters, also the ones someone is receiving when the server goes away", async () => {
    await start(1, 1);
    const id = await send("fails once, then dead");
    await sqs!.send(new ReceiveMessageCommand({ QueueUrl: server!.queueUrl, VisibilityTimeout: 1 }));
    const dead = await waitFor(
      "the redrive",
      async () => (await sqs!.send(new ReceiveMessageCommand({ QueueUrl: server!.dlqUrl, VisibilityTimeout: 300 }))).Messages,
      10000,
    );
    assert.deepEqual(
      dead.map((m) => m.MessageId),
      [id],
    ); // in flight in the DLQ now
    assert.deepEqual(server!.kept(), { queue: 0, dlq: 1 });

    const second = await start(1, 1);
    assert.deepEqual(second.restored, { queue: 0, dlq: 1 });
    assert.deepEqual(
      (await receiveEverything(second.dlqUrl)).map((m) => [m.MessageId, m.Body]),
      [[id, "fails once, then dead"]],
    );
    assert.deepEqual(await receiveEverything(second.queueUrl), []);
  });

  it("counts a delivery cut short by the stop at most maxReceiveCount − 1 times, so the message gets its last delivery", async () => {
    await start(30, 3);
    const id = await send("received three times");
    for (const visibility of [0, 0, 300]) {
      const r = await waitFor(
        "a delivery",
        async () => (await sqs!.send(new ReceiveMessageCommand({ QueueUrl: server!.queueUrl, VisibilityTimeout: visibility }))).Messages,
      );
      assert.equal(r[0].MessageId, id);
    }
    const second = await start(30, 3);
    const [back] = await receiveEverything(second.queueUrl);
    assert.equal(back.MessageId, id);
    assert.equal(back.Attributes?.ApproximateReceiveCount, "3", "the third delivery again: the last before the DLQ");
  });

  it("skips a damaged journal line with a warning and a copy of the file, keeping every other message", async () => {
    await start();
    const a = await send("first");
    const b = await send("second");
    appendFileSync(journalFile, '{"op":"send","q":"queue","m":{"id":"cut short by a ki');
    const second = await start();
    assert.deepEqual(second.restored, { queue: 2, dlq: 0 });
    assert.deepEqual((await receiveEverything(second.queueUrl)).map((m) => m.MessageId).sort(), [a, b].sort());
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /1 line\(s\) of .*queue-journal\.jsonl could not be read and were skipped/);
    const copies = readdirSync(dir).filter((f) => f.startsWith("queue-journal.jsonl.damaged-"));
    assert.equal(copies.length, 1);
    assert.match(readFileSync(path.join(dir, copies[0]), "utf8"), /cut short by a ki$/);
    assert.equal(readJournal(journalFile).unreadableLines, 0, "the journal itself is clean again");
  });

  it("rewrites the journal when it grows well past the messages it holds", async () => {
    await start();
    for (let i = 0; i < 1000; i += 10) {
      await sqs!.send(
        new SendMessageBatchCommand({
          QueueUrl: server!.queueUrl,
          Entries: Array.from({ length: 10 }, (_, n) => ({ Id: String(n), MessageBody: `m${i + n}` })),
        }),
      );
    }
    // Receive and delete all but 10: 3 lines each (send, receive, delete).
    for (let left = 990; left > 0;) {
      // A receive may come back empty (as SQS's may): wait for messages rather than assume them.
      const r = await sqs!.send(
        new ReceiveMessageCommand({
          QueueUrl: server!.queueUrl,
          MaxNumberOfMessages: Math.min(10, left),
          VisibilityTimeout: 300,
          WaitTimeSeconds: 1,
        }),
      );
      const messages = r.Messages ?? [];
      if (messages.length === 0) continue;
      await sqs!.send(
        new DeleteMessageBatchCommand({
          QueueUrl: server!.queueUrl,
          Entries: messages.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
      left -= messages.length;
    }
    // 2,990 changes; a rewrite holds at most the 1,000 messages there were, and is followed by at
    // most 1,001 appends before the next one.
    const lines = readFileSync(journalFile, "utf8").split("\n").filter(Boolean).length;
    assert.ok(lines <= 2001, `${lines} lines for 2,990 changes`);
    assert.equal(readJournal(journalFile).state.queue.size, 10);
    assert.equal((await start()).restored.queue, 10);
  });

  it("refuses a journal another living process holds, and takes over the lock of one that died", async () => {
    const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    try {
      writeFileSync(`${journalFile}.lock`, String(other.pid));
      await assert.rejects(start(), new RegExp(`queue-journal\\.jsonl is in use by another local mode \\(pid ${other.pid}\\)`));
    } finally {
      other.kill("SIGKILL");
      await new Promise((r) => other.once("exit", r));
    }
    // The same pid, now gone: a kill left the lock behind.
    const s = await start();
    assert.ok(await send("after the takeover"));
    assert.equal(readFileSync(`${journalFile}.lock`, "utf8"), String(process.pid));
    await s.close();
    server = undefined;
    assert.equal(existsSync(`${journalFile}.lock`), false, "a clean close releases it");
  });

  it("moves the messages of an earlier version's queues.json into the journal once, then removes the file", async () => {
    const file = path.join(dir, "queues.json");
    writeFileSync(file, JSON.stringify({ queue: [{ id: "job-1", body: "saved prompt" }], dlq: [{ id: "dead-1", body: "dead prompt" }] }));
    const first = await start();
    assert.deepEqual(first.restored, { queue: 1, dlq: 1 });
    assert.equal(existsSync(file), false, "the file is gone once its messages are in the journal");
    const second = await start();
    assert.deepEqual(second.restored, { queue: 1, dlq: 1 }, "each once, not twice");
    assert.deepEqual(
      (await receiveEverything(second.queueUrl)).map((m) => [m.MessageId, m.Body]),
      [["job-1", "saved prompt"]],
    );
    assert.deepEqual(
      (await receiveEverything(second.dlqUrl)).map((m) => [m.MessageId, m.Body]),
      [["dead-1", "dead prompt"]],
    );
    assert.deepEqual(warnings, []);
  });

  it("moves an unreadable queues.json aside with one warning instead of treating it as empty", async () => {
    const file = path.join(dir, "queues.json");
    writeFileSync(file, "{ this is not json");
    const s = await start();
    assert.deepEqual(s.restored, { queue: 0, dlq: 0 });
    const aside = readdirSync(dir).filter((f) => f.startsWith("queues.json.corrupt-"));
    assert.equal(aside.length, 1);
    assert.equal(readFileSync(path.join(dir, aside[0]), "utf8"), "{ this is not json", "the file is kept as it was");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], new RegExp(`queues\\.json could not be read .*moved it to .*${aside[0]}`));
    // Valid JSON of the wrong shape is not a saved state either.
    writeFileSync(file, JSON.stringify({ queue: [{ body: 42 }] }));
    await start();
    assert.equal(readdirSync(dir).filter((f) => f.startsWith("queues.json.corrupt-")).length, 2);
    assert.equal(warnings.length, 2);
  });

  it("lists the queue's messages with their bodies: waiting, in flight, gone when deleted or dead-lettered", async () => {
    const s = await start(1, 1);
    const a = await send('{"prompt":"json job"}');
    const b = await send("plain text job");
    await waitFor("both waiting", async () => (s.jobs().filter((j) => j.state === "waiting").length === 2 ? true : undefined));
    assert.deepEqual(
      s.jobs().map((j) => [j.id, j.body]),
      [
        [a, '{"prompt":"json job"}'],
        [b, "plain text job"],
      ],
    );
    const got = await sqs!.send(new ReceiveMessageCommand({ QueueUrl: s.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    assert.equal(got.Messages?.length, 2);
    assert.deepEqual(
      s.jobs().map((j) => [j.state, j.receiveCount]),
      [
        ["in-flight", 1],
        ["in-flight", 1],
      ],
    );
    await sqs!.send(
      new DeleteMessageCommand({
        QueueUrl: s.queueUrl,
        ReceiptHandle: got.Messages!.find((m) => m.MessageId === a)!.ReceiptHandle,
      }),
    );
    assert.deepEqual(
      s.jobs().map((j) => j.id),
      [b],
    );
    // maxReceiveCount 1: when its visibility timeout ends, b moves to the DLQ and leaves the list.
    await waitFor("b dead-lettered", async () => (s.jobs().length === 0 ? true : undefined), 10000);
    const dead = await sqs!.send(new ReceiveMessageCommand({ QueueUrl: s.dlqUrl, WaitTimeSeconds: 0 }));
    assert.equal(dead.Messages?.[0].MessageId, b);
  });
});

describe("local mode: the queue server's long poll answers as SQS's does", function () {
  this.timeout(30000);
  let server: QueueServer;
  let sqs: SQSClient;
  let dir: string;

  const start = async () => {
    server = await startQueueServer({
      host: "127.0.0.1",
      port: 0,
      queueName: "jobs",
      dlqName: "jobs-dlq",
      maxReceiveCount: 3,
      visibilityTimeoutSeconds: 30,
      region: "eu-west-1",
      journalFile: path.join(dir, "queue-journal.jsonl"),
    });
    sqs = new SQSClient({ region: "eu-west-1", endpoint: server.url, credentials: LOCAL_CREDENTIALS });
  };
  const longPoll = (abortSignal?: AbortSignal, WaitTimeSeconds = 20) =>
    sqs.send(new ReceiveMessageCommand({ QueueUrl: server.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds, AttributeNames: ["All"] }), {
      abortSignal,
    });
  const send = (body: string) => sqs.send(new SendMessageCommand({ QueueUrl: server.queueUrl, MessageBody: body }));
  const waitingReceives = (n: number) =>
    waitFor(`${n} waiting receive(s)`, async () => (server.waitingReceives() === n ? true : undefined));

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "queue-long-poll-"));
    await start();
  });
  afterEach(async () => {
    sqs.destroy();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers a 20 s wait as soon as a message is sent, with what there is rather than the 10 asked for", async () => {
    const started = Date.now();
    const polled = longPoll();
    await waitingReceives(1);
    const sent = await send("me at the Taj Mahal");
    const { Messages = [] } = await polled;
    assert.deepEqual(
      Messages.map((m) => [m.MessageId, m.Body]),
      [[sent.MessageId, "me at the Taj Mahal"]],
    );
    assert.ok(Date.now() - started < 10_000, `answered after ${Date.now() - started} ms`);
  });

  it("answers empty when the wait ends with nothing sent", async () => {
    const started = Date.now();
    const { Messages } = await longPoll(undefined, 1);
    assert.equal(Messages, undefined);
    assert.ok(Date.now() - started >= 1000, `answered after ${Date.now() - started} ms`);
  });

  it("takes a message put back from the journal after a restart", async () => {
    const sent = await send("kept across a restart");
    sqs.destroy();
    await server.close();
    await start();
    const { Messages = [] } = await longPoll();
    assert.deepEqual(
      Messages.map((m) => m.MessageId),
      [sent.MessageId],
    );
  });

  it("leaves a message to the next receiver when the caller of a wait has gone: received once, by that receiver", async () => {
    const leaving = new AbortController();
    const abandoned = longPoll(leaving.signal).catch((err: Error) => err.name);
    await waitingReceives(1);
    leaving.abort();
    assert.equal(await abandoned, "AbortError");
    await waitingReceives(0); // once the connection's close has reached the server
    const sent = await send("for whoever asks next");
    const { Messages = [] } = await longPoll();
    assert.deepEqual(
      Messages.map((m) => [m.MessageId, m.Attributes?.ApproximateReceiveCount]),
      [[sent.MessageId, "1"]],
    );
  });

  it("answers a waiting receive (empty) when the server closes, with Connection: close so its connection does not hold the close", async () => {
    const headers: Array<Record<string, string>> = [];
    sqs.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        headers.push((out.response as { headers: Record<string, string> }).headers);
        return out;
      },
      { step: "deserialize", name: "keepResponseHeaders" },
    );
    const polled = longPoll();
    await waitingReceives(1);
    const closed = server.close();
    const { Messages } = await polled;
    assert.equal(Messages, undefined);
    assert.equal(headers.at(-1)?.connection, "close");
    await closed;
  });
});
