/**
 * The local event source (local/app/worker.ts) against a real local-aws-sqs: Lambda-shaped events,
 * partial batch responses, redelivery, redrive to the DLQ, and a stop that loses nothing.
 */
import { strict as assert } from "node:assert";
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { startQueueServer, type QueueServer } from "../../local/fakes/queue-server";
import { LOCAL_CREDENTIALS } from "../../local/fakes/credentials";
import { failedIds, startWorker, type Worker } from "../../local/app/worker";
import { waitFor } from "../../tools/local-child";

async function depth(sqs: SQSClient, url: string): Promise<{ visible: number; inFlight: number }> {
  const { Attributes: a = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }));
  return { visible: Number(a.ApproximateNumberOfMessages), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible) };
}

describe("local mode: the queue worker", function () {
  this.timeout(30000);
  let server: QueueServer;
  let sqs: SQSClient;
  let worker: Worker | undefined;
  let n = 0;

  beforeEach(async () => {
    server = await startQueueServer({
      host: "127.0.0.1",
      port: 0,
      queueName: `jobs-${++n}`,
      dlqName: `jobs-${n}-dlq`,
      maxReceiveCount: 2,
      visibilityTimeoutSeconds: 1,
      region: "eu-west-1",
    });
    sqs = new SQSClient({ region: "eu-west-1", endpoint: server.url, credentials: LOCAL_CREDENTIALS });
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    sqs.destroy();
    await server.close();
  });

  const run = (handler: (e: SQSEvent) => Promise<SQSBatchResponse | void>, batchSize = 5) =>
    (worker = startWorker({
      sqs,
      queueUrl: server.queueUrl,
      queueArn: server.queueArn,
      region: "eu-west-1",
      handler,
      batchSize,
      receiveWaitSeconds: 20,
      pollers: 1,
      log: () => undefined,
    }));

  it("delivers Lambda-shaped records and deletes the ones not reported as failures", async () => {
    const seen: SQSRecord[] = [];
    run(async (event) => {
      seen.push(...event.Records);
      return { batchItemFailures: [] };
    });
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: server.queueUrl, MessageBody: "me on top of a pyramid" }));
    await waitFor("the record", async () => (seen.length ? true : undefined));
    const r = seen[0];
    assert.equal(r.messageId, sent.MessageId);
    assert.equal(r.body, "me on top of a pyramid");
    assert.equal(r.eventSource, "aws:sqs");
    assert.equal(r.eventSourceARN, server.queueArn);
    assert.equal(r.attributes.ApproximateReceiveCount, "1");
    assert.ok(r.receiptHandle && r.md5OfBody);
    await waitFor("the message to be deleted", async () => {
      const d = await depth(sqs, server.queueUrl);
      return d.visible + d.inFlight === 0 && worker!.stats.deleted === 1 ? true : undefined;
    });
  });

  it("redelivers a reported failure after the visibility timeout and redrives it to the DLQ after maxReceiveCount", async () => {
    const counts: string[] = [];
    run(async (event) => {
      counts.push(...event.Records.map((r) => r.attributes.ApproximateReceiveCount));
      return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) };
    });
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: server.queueUrl, MessageBody: "always fails" }));
    const moved = await waitFor(
      "the DLQ to hold the message",
      async () => {
        const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: server.dlqUrl, WaitTimeSeconds: 0 }));
        return r.Messages?.[0];
      },
      15000,
      200,
    );
    assert.equal(moved.MessageId, sent.MessageId);
    assert.equal(moved.Body, "always fails");
    assert.deepEqual(counts, ["1", "2"]);
    assert.deepEqual(await depth(sqs, server.queueUrl), { visible: 0, inFlight: 0 });
  });

  it("returns the whole batch when the handler throws", async () => {
    let calls = 0;
    run(async () => {
      calls++;
      if (calls === 1) throw new Error("boom");
      return { batchItemFailures: [] };
    });
    await sqs.send(new SendMessageCommand({ QueueUrl: server.queueUrl, MessageBody: "retry me" }));
    await waitFor("the second delivery to succeed", async () => (worker!.stats.deleted === 1 ? true : undefined), 10000);
    assert.equal(calls, 2);
    assert.equal(worker!.stats.handlerErrors, 1);
  });

  /** Receives what the queue delivers again (after the visibility timeout), until `count` messages came back. */
  async function redelivered(count: number): Promise<Array<[string, string]>> {
    const got = new Map<string, string>();
    await waitFor(
      `${count} message(s) delivered again`,
      async () => {
        const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: server.queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }));
        for (const m of r.Messages ?? []) got.set(m.MessageId!, m.Body!);
        return got.size >= count ? true : undefined;
      },
      10000,
    );
    return [...got].sort();
  }

  it("stop() lets the batch in flight finish; the record it left for redelivery stays in the queue", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = false;
    run(async (event) => {
      started = true;
      await gate;
      return { batchItemFailures: [{ itemIdentifier: event.Records[0].messageId }] };
    });
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: server.queueUrl, MessageBody: "in flight at shutdown" }));
    await waitFor("the batch to start", async () => (started ? true : undefined));
    const stopped = worker!.stop();
    let finished = false;
    void stopped.then(() => (finished = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(finished, false, "stop() waits for the batch in flight");
    release();
    await stopped;
    assert.equal(worker!.stats.failed, 1);
    assert.deepEqual(await redelivered(1), [[sent.MessageId, "in flight at shutdown"]]);
  });

  it("stop() ends the receive that is waiting for messages instead of waiting out its 20 s", async () => {
    run(async () => ({ batchItemFailures: [] }));
    await waitFor("the worker to wait for messages", async () => (worker!.stats.lastPollOutcome === "waiting" ? true : undefined));
    const started = Date.now();
    await worker!.stop();
    assert.ok(Date.now() - started < 10_000, `stop() took ${Date.now() - started} ms`);
    assert.equal(worker!.stats.state, "stopped");
  });

  /**
   * A client for the worker whose n-th call (1-based) of one command fails before reaching the
   * server when `fails(n)` says so (a dropped connection, as far as the worker can tell); the
   * server and every other call stay real.
   */
  function failingClient(command: string, fails: (n: number) => boolean): SQSClient {
    const client = new SQSClient({
      region: "eu-west-1",
      endpoint: server.url,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
    });
    let n = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === command && fails(++n)) throw new Error(`injected ${command} failure`);
        return next(args);
      },
      { step: "initialize", name: "injectFailure" },
    );
    return client;
  }

  it("runs the records already gathered when a later ReceiveMessage of the same batch throws", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 12; i += 6) {
      const out = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: server.queueUrl,
          Entries: Array.from({ length: 6 }, (_, n) => ({ Id: String(n), MessageBody: `m${i + n}` })),
        }),
      );
      for (const s of out.Successful!) ids.add(s.MessageId!);
    }
    // The first receive of a 12-record batch yields 10; the second one (for the last 2) fails once.
    const client = failingClient("ReceiveMessageCommand", (n) => n === 2);
    const batches: SQSRecord[][] = [];
    const logs: string[] = [];
    worker = startWorker({
      sqs: client,
      queueUrl: server.queueUrl,
      queueArn: server.queueArn,
      region: "eu-west-1",
      batchSize: 12,
      receiveWaitSeconds: 20,
      pollers: 1,
      log: (l) => logs.push(l),
      handler: async (event) => {
        batches.push(event.Records);
        return { batchItemFailures: [] };
      },
    });
    await waitFor("all 12 deleted", async () => (worker!.stats.deleted === 12 ? true : undefined), 10000);
    await worker.stop();
    client.destroy();
    assert.equal(batches[0].length, 10, "the 10 records received before the failure are handled at once");
    const seen = batches.flat();
    assert.deepEqual(new Set(seen.map((r) => r.messageId)), ids);
    assert.equal(seen.length, 12, "no record delivered twice");
    assert.ok(seen.every((r) => r.attributes.ApproximateReceiveCount === "1"));
    assert.ok(
      logs.some((l) => /running the 10 record\(s\) already received/.test(l)),
      logs.join("\n"),
    );
  });

  it("leaves in the queue the records whose DeleteMessageBatch threw, and the failures of that batch", async () => {
    const client = failingClient("DeleteMessageBatchCommand", () => true);
    const ok = await sqs.send(new SendMessageCommand({ QueueUrl: server.queueUrl, MessageBody: "done, but the delete fails" }));
    const bad = await sqs.send(new SendMessageCommand({ QueueUrl: server.queueUrl, MessageBody: "reported as failed" }));
    let handled = 0;
    worker = startWorker({
      sqs: client,
      queueUrl: server.queueUrl,
      queueArn: server.queueArn,
      region: "eu-west-1",
      batchSize: 5,
      receiveWaitSeconds: 20,
      pollers: 1,
      log: () => undefined,
      handler: async (event) => {
        handled += event.Records.length;
        return {
          batchItemFailures: event.Records.filter((r) => r.messageId === bad.MessageId).map((r) => ({
            itemIdentifier: r.messageId,
          })),
        };
      },
    });
    await waitFor("both records handled", async () => (handled >= 2 && worker!.stats.inFlight === 0 ? true : undefined));
    await worker.stop();
    client.destroy();
    assert.equal(worker.stats.deleted, 0);
    assert.deepEqual(
      await redelivered(2),
      [
        [ok.MessageId, "done, but the delete fails"],
        [bad.MessageId, "reported as failed"],
      ].sort(),
    );
  });

  it("follows ReportBatchItemFailures: an unknown or empty identifier fails the whole batch", () => {
    const records = [{ messageId: "a" }, { messageId: "b" }] as SQSRecord[];
    assert.deepEqual([...failedIds(records, { response: { batchItemFailures: [{ itemIdentifier: "b" }] } })], ["b"]);
    assert.deepEqual([...failedIds(records, { response: { batchItemFailures: [] } })], []);
    assert.deepEqual([...failedIds(records, { response: undefined })], []);
    assert.deepEqual([...failedIds(records, { response: { batchItemFailures: [{ itemIdentifier: "zzz" }] } })].sort(), ["a", "b"]);
    assert.deepEqual([...failedIds(records, { response: { batchItemFailures: [{ itemIdentifier: "" }] } })].sort(), ["a", "b"]);
    assert.deepEqual([...failedIds(records, { error: new Error("x") })].sort(), ["a", "b"]);
  });
});
