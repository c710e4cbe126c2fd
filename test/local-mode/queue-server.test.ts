/**
 * The local queue server's saved state (local/queue-server.ts): restored once, then removed so a
 * crash cannot restore it again; an unreadable file is moved aside with one warning; and the list
 * of queued jobs the gallery shows.
 */
import { strict as assert } from "node:assert";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { startQueueServer, type QueueServer } from "../../local/queue-server";
import { waitFor } from "./helpers";

const credentials = { accessKeyId: "test", secretAccessKey: "test" };

describe("local mode: the queue server's saved messages and job list", function () {
  this.timeout(30000);
  let dir: string;
  let server: QueueServer | undefined;
  let sqs: SQSClient | undefined;
  const warnings: string[] = [];
  const start = async (visibilityTimeoutSeconds = 30, maxReceiveCount = 3) => {
    server = await startQueueServer({
      host: "127.0.0.1",
      port: 0,
      queueName: "jobs",
      dlqName: "jobs-dlq",
      maxReceiveCount,
      visibilityTimeoutSeconds,
      region: "eu-west-1",
      stateFile: path.join(dir, "queues.json"),
      warn: (line) => warnings.push(line),
    });
    sqs = new SQSClient({ region: "eu-west-1", endpoint: server.url, credentials });
    return server;
  };
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "queue-state-"));
    warnings.length = 0;
  });
  afterEach(async () => {
    sqs?.destroy();
    await server?.close();
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it("restores the saved messages once and removes the file, so a crash cannot restore them again", async () => {
    const file = path.join(dir, "queues.json");
    writeFileSync(file, JSON.stringify({ queue: [{ id: "job-1", body: "saved prompt" }], dlq: [{ id: "dead-1", body: "dead prompt" }] }));
    const first = await start();
    assert.deepEqual(first.restored, { queue: 1, dlq: 1 });
    assert.equal(existsSync(file), false, "the file is gone once its messages are in the queue");
    const got = await sqs!.send(new ReceiveMessageCommand({ QueueUrl: first.queueUrl, WaitTimeSeconds: 0 }));
    assert.equal(got.Messages?.[0].MessageId, "job-1");
    // A crash: the server goes away without saveMessages. The next start finds nothing to restore.
    sqs!.destroy();
    await first.close();
    const second = await start();
    assert.deepEqual(second.restored, { queue: 0, dlq: 0 });
    assert.deepEqual(warnings, []);
    // A clean stop writes the file again, with what is queued then.
    await sqs!.send(new SendMessageCommand({ QueueUrl: second.queueUrl, MessageBody: "queued at stop" }));
    assert.deepEqual(await second.saveMessages(sqs!), { queue: 1, dlq: 0 });
    assert.equal(JSON.parse(readFileSync(file, "utf8")).queue[0].body, "queued at stop");
  });

  it("moves an unreadable file aside with one warning instead of treating it as empty", async () => {
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
    sqs!.destroy();
    await s.close();
    await start();
    assert.equal(readdirSync(dir).filter((f) => f.startsWith("queues.json.corrupt-")).length, 2);
    assert.equal(warnings.length, 2);
  });

  it("lists the queue's messages with their bodies: waiting, in flight, gone when deleted or dead-lettered", async () => {
    const s = await start(1, 1);
    const a = await sqs!.send(new SendMessageCommand({ QueueUrl: s.queueUrl, MessageBody: '{"prompt":"json job"}' }));
    const b = await sqs!.send(new SendMessageCommand({ QueueUrl: s.queueUrl, MessageBody: "plain text job" }));
    await waitFor("both waiting", async () => (s.jobs().filter((j) => j.state === "waiting").length === 2 ? true : undefined));
    assert.deepEqual(s.jobs().map((j) => [j.id, j.body]), [[a.MessageId, '{"prompt":"json job"}'], [b.MessageId, "plain text job"]]);
    const got = await sqs!.send(new ReceiveMessageCommand({ QueueUrl: s.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    assert.equal(got.Messages?.length, 2);
    assert.deepEqual(s.jobs().map((j) => [j.state, j.receiveCount]), [["in-flight", 1], ["in-flight", 1]]);
    await sqs!.send(new DeleteMessageCommand({ QueueUrl: s.queueUrl, ReceiptHandle: got.Messages!.find((m) => m.MessageId === a.MessageId)!.ReceiptHandle }));
    assert.deepEqual(s.jobs().map((j) => j.id), [b.MessageId]);
    // maxReceiveCount 1: when its visibility timeout ends, b moves to the DLQ and leaves the list.
    await waitFor("b dead-lettered", async () => (s.jobs().length === 0 ? true : undefined), 10000);
    const dead = await sqs!.send(new ReceiveMessageCommand({ QueueUrl: s.dlqUrl, WaitTimeSeconds: 0 }));
    assert.equal(dead.Messages?.[0].MessageId, b.MessageId);
  });
});
