/**
 * A job's life as callers see it, against the real local servers with the real SDK clients:
 * honest status from a fixed number of reads (a proxy in front of s3rver counts them), the
 * marker that makes an accepted job "pending" at once, messages from other senders becoming known
 * when the worker first sees them, job ids that survive a real DLQ redrive (StartMessageMoveTask
 * on local-aws-sqs), records of bounded size and reasons in our words.
 */
import { strict as assert } from "node:assert";
import { GetQueueAttributesCommand, SendMessageCommand, StartMessageMoveTaskCommand } from "@aws-sdk/client-sqs";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { createHttpHandler, createQueueHandler, DEFAULTS, ENV, type HttpHandler } from "../../runtime";
import { startSqsPeer, type SqsPeer } from "../client/sqs-peer";
import { deliverBatch, receive, timeLeft } from "../../tools/events";
import { invoke } from "../../tools/http";
import { getJson, getObject, listKeys } from "../../tools/objects";
import type { Peers } from "../../tools/peers";
import { drainQueues, quickRetryEnv, sendPrompt, withPeers } from "../support/with-peers";
import { isListing, startS3Proxy, type S3Proxy } from "../support/s3-proxy";

const json = (value: unknown) => JSON.stringify(value);

describe("runtime jobs: status, markers, redrive, bounded records, clean reasons", function () {
  this.timeout(60000);
  let peers: Peers;
  let logs: string[];
  const api = (extra: Record<string, string> = {}): HttpHandler =>
    createHttpHandler(quickRetryEnv(peers, extra), { log: (line) => logs.push(line) });
  const worker = (extra: Record<string, string> = {}) =>
    createQueueHandler(quickRetryEnv(peers, extra), { log: (line) => logs.push(line) });
  const status = (handler: HttpHandler, id: string) => invoke(handler, { method: "GET", path: `/images/${id}` });
  const images = () => `${peers.prefix}/images`;
  const sendText = (body: string) => sendPrompt(peers, body);

  withPeers({ bedrockTimeoutHangMs: 5000 }, (started) => (peers = started));
  beforeEach(() => {
    peers.bedrock.reset();
    peers.bedrock.setLatency(0);
    logs = [];
  });
  afterEach(() => drainQueues(peers));

  describe("GET /images/{id}: a fixed number of reads of the job's own keys, never a listing", () => {
    let proxy: S3Proxy;
    before(async () => {
      proxy = await startS3Proxy(peers.s3Endpoint);
    });
    after(async () => {
      await proxy.close();
    });

    it("done, pending, failed and unknown each cost the same three reads, however full the prefix is", async () => {
      // A full prefix: a listing would grow with it, the reads of a job's keys do not.
      for (let i = 0; i < 150; i++) {
        await peers.s3.send(new PutObjectCommand({ Bucket: peers.bucket, Key: `${images()}/filler-${i}.png`, Body: Buffer.from("x") }));
      }
      const done = (await invoke(api(), { method: "POST", path: "/images", body: json({ prompt: "lighthouse at dusk" }) })).json.id;
      peers.bedrock.failWhenPromptIncludes("[blocked]", "content-filter");
      const failed = await sendText("[blocked] something");
      assert.deepEqual((await deliverBatch(peers.sqs, peers.queueUrl, worker()))?.response, { batchItemFailures: [] });
      const pending = (await invoke(api(), { method: "POST", path: "/images", body: json({ prompt: "harbour at dawn" }) })).json.id;

      const viaProxy = api({ [ENV.s3Endpoint]: proxy.url });
      const answers: [string, number, string][] = [];
      const cases = [
        [done, "done"],
        [pending, "pending"],
        [failed, "failed"],
        ["3ce3b775-378b-47f5-bada-cc1982527121", "unknown"],
      ] as const;
      for (const [id, expected] of cases) {
        proxy.calls.length = 0;
        const answer = await status(viaProxy, id);
        answers.push([expected, answer.status, answer.json.status ?? answer.json.code]);
        assert.equal(proxy.calls.filter((c) => isListing(c, peers.bucket)).length, 0, `${expected}: no listing`);
        assert.deepEqual(
          proxy.calls.map((c) => `${c.method} ${c.path}`).sort(),
          [
            `GET /${peers.bucket}/${images()}/${id}.failed.json`,
            `GET /${peers.bucket}/${images()}/${id}.queued.json`,
            `HEAD /${peers.bucket}/${images()}/${id}.png`,
          ],
          `${expected}: exactly the job's three keys`,
        );
      }
      assert.deepEqual(answers, [
        ["done", 200, "done"],
        ["pending", 202, "pending"],
        ["failed", 200, "failed"],
        ["unknown", 404, "unknown-job"],
      ]);
    });

    it("an id nobody ever submitted → 404 unknown-job", async () => {
      const answer = await status(api(), "0b5e0c6e-3d0a-4c47-9d6c-5f2a8e1d7b42");
      assert.equal(answer.status, 404);
      assert.equal(answer.json.code, "unknown-job");
      assert.match(answer.json.error, /^no job with id 0b5e0c6e-3d0a-4c47-9d6c-5f2a8e1d7b42/);
      assert.deepEqual(Object.keys(answer.json).sort(), ["code", "error"]);
    });

    it("S3 refusing one of the reads → 503 storage-failed, never a false 404 or 'pending'", async () => {
      proxy.refuse((call) => call.path.endsWith(".failed.json"));
      try {
        const answer = await status(api({ [ENV.s3Endpoint]: proxy.url }), "3ce3b775-378b-47f5-bada-cc1982527121");
        assert.deepEqual([answer.status, answer.json.code], [503, "storage-failed"]);
        assert.doesNotMatch(answer.raw.body, /SlowDown|reduce your request rate/);
      } finally {
        proxy.refuse(undefined);
      }
    });
  });

  describe("the marker: pending from the moment a job is accepted or first seen", () => {
    it("POST /images → GET at once answers pending, before any worker ran; the job id rides in the body", async () => {
      const handler = api();
      const accepted = await invoke(handler, {
        method: "POST",
        path: "/images",
        body: json({ prompt: "me on a beach" }),
      });
      assert.equal(accepted.status, 202, accepted.raw.body);
      const { id } = accepted.json;
      const now = await status(handler, id);
      assert.deepEqual([now.status, now.json], [202, { id, status: "pending" }]);
      const marker = await getJson(peers.s3, peers.bucket, `${images()}/${id}.queued.json`);
      assert.deepEqual([marker.jobId, marker.markedBy], [id, "api"]);
      const [message] = await receive(peers.sqs, peers.queueUrl);
      assert.deepEqual(JSON.parse(message.Body!), {
        prompt: "me on a beach",
        aspectRatio: "1:1",
        seed: accepted.json.seed,
        jobId: id,
      });
      assert.notEqual(message.MessageId, id);
    });

    it("SQS refusing the message → 503, and the marker is taken back: the id claims nothing", async () => {
      const proxy = await startS3Proxy(peers.s3Endpoint);
      try {
        const refused = api({
          [ENV.queueUrl]: `${peers.sqsEndpoint}/000000000000/missing`,
          [ENV.s3Endpoint]: proxy.url,
        });
        const answer = await invoke(refused, { method: "POST", path: "/images", body: json({ prompt: "x" }) });
        assert.deepEqual([answer.status, answer.json.code], [503, "queue-failed"]);
        const markers = proxy.calls.filter((c) => c.path.endsWith(".queued.json")).map((c) => c.method);
        assert.deepEqual(markers, ["PUT", "DELETE"], "written before the send, deleted after the refusal");
        const id = proxy.calls[0].path.split("/").pop()!.replace(".queued.json", "");
        assert.equal((await status(api(), id)).status, 404);
        assert.equal(JSON.parse(logs[0]).jobId, id, "the log names the job that was not queued");
      } finally {
        await proxy.close();
      }
    });

    it("S3 refusing the marker → 503 storage-failed and nothing is queued", async () => {
      const answer = await invoke(api({ [ENV.bucket]: "no-such-bucket" }), {
        method: "POST",
        path: "/images",
        body: json({ prompt: "x" }),
      });
      assert.deepEqual([answer.status, answer.json.code], [503, "storage-failed"]);
      assert.deepEqual(await receive(peers.sqs, peers.queueUrl), []);
    });

    it("a plain-text message sent straight to the queue: unknown until the worker sees it, then pending, then done", async () => {
      const id = await sendText("me on top of a pyramid");
      const handler = api();
      assert.equal((await status(handler, id)).status, 404, "nobody has seen it yet");
      peers.bedrock.failNext("throttle");
      const first = await deliverBatch(peers.sqs, peers.queueUrl, worker(), { visibilityTimeoutSeconds: 1 });
      assert.deepEqual(first?.response.batchItemFailures, [{ itemIdentifier: id }]);
      assert.deepEqual((await status(handler, id)).json, { id, status: "pending" });
      assert.equal((await getJson(peers.s3, peers.bucket, `${images()}/${id}.queued.json`)).markedBy, "worker");
      assert.deepEqual((await deliverBatch(peers.sqs, peers.queueUrl, worker(), { waitTimeSeconds: 3 }))?.response, {
        batchItemFailures: [],
      });
      assert.equal((await status(handler, id)).json.status, "done");
      assert.deepEqual(
        await listKeys(peers.s3, peers.bucket, `${images()}/${id}`),
        [`${images()}/${id}.json`, `${images()}/${id}.png`],
        "the marker is gone",
      );
    });
  });

  describe("job ids in JSON bodies from other senders", () => {
    it("a usable jobId names the job; one that is not an id fails the message under its own id, before the model", async () => {
      const named = await sendText(json({ prompt: "fjord at noon", jobId: "my-own-job-1" }));
      const bad = await sendText(json({ prompt: "fjord at dusk", jobId: "../../other-prefix/x" }));
      assert.deepEqual((await deliverBatch(peers.sqs, peers.queueUrl, worker()))?.response, { batchItemFailures: [] });
      assert.equal((await status(api(), "my-own-job-1")).json.status, "done");
      assert.equal((await status(api(), named)).status, 404, "the message id is not the job's");
      const failed = (await status(api(), bad)).json;
      assert.deepEqual([failed.status, failed.code], ["failed", "invalid-request"]);
      assert.match(failed.reason, /"jobId" must be 1-128 letters, digits/);
      assert.equal(peers.bedrock.calls.length, 1);
      assert.deepEqual(await listKeys(peers.s3, peers.bucket, "other-prefix"), []);
    });
  });

  describe("a real DLQ redrive (StartMessageMoveTask on local-aws-sqs)", () => {
    let sqsPeer: SqsPeer;
    let queueUrl: string;
    let dlqUrl: string;
    let dlqArn: string;
    let env: Record<string, string>;

    before(async () => {
      sqsPeer = await startSqsPeer();
      dlqUrl = await sqsPeer.createQueue("jobs-dlq");
      dlqArn = (await sqsPeer.admin.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }))).Attributes!
        .QueueArn!;
      queueUrl = await sqsPeer.createQueue("jobs", {
        RedrivePolicy: json({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }),
      });
      env = { [ENV.queueUrl]: queueUrl, [ENV.sqsEndpoint]: sqsPeer.endpoint, [ENV.maxReceiveCount]: "1" };
    });
    after(async () => {
      await sqsPeer?.close();
    });

    /** Delivers once with a retired model: the last delivery writes a redrivable record, SQS moves the message to the DLQ. */
    async function deadLetter(): Promise<{ messageId: string }> {
      peers.bedrock.failWhenPromptIncludes("pyramid", "end-of-life");
      const delivery = await deliverBatch(sqsPeer.admin, queueUrl, worker(env), { visibilityTimeoutSeconds: 1 });
      assert.equal(delivery?.response.batchItemFailures.length, 1);
      // local-aws-sqs moves a message past maxReceiveCount to the DLQ when it is received next.
      assert.deepEqual(await receive(sqsPeer.admin, queueUrl, { waitTimeSeconds: 2 }), []);
      const depth = await sqsPeer.admin.send(
        new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["ApproximateNumberOfMessages"] }),
      );
      assert.equal(depth.Attributes!.ApproximateNumberOfMessages, "1");
      return { messageId: delivery!.event.Records[0].messageId };
    }

    async function redrive(): Promise<void> {
      peers.bedrock.reset();
      await sqsPeer.admin.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn }));
    }

    it("POST /images: the redriven message has a new message id and the same jobId; GET /images/{id} goes failed → pending → done", async () => {
      const handler = api(env);
      const id = (await invoke(handler, { method: "POST", path: "/images", body: json({ prompt: "me on top of a pyramid" }) })).json.id;
      const { messageId } = await deadLetter();
      const failed = (await status(handler, id)).json;
      assert.deepEqual([failed.status, failed.code, failed.redrivable], ["failed", "model-retired", true]);
      assert.doesNotMatch(failed.reason, /new message id/, "its job id comes back with it");

      await redrive();
      // The model takes a while: GET /images/{id} is asked while the redriven job is being drawn.
      peers.bedrock.setLatency(1500);
      const delivering = deliverBatch(sqsPeer.admin, queueUrl, worker(env), { waitTimeSeconds: 5 });
      let seenPending = false;
      for (const deadline = Date.now() + 6000; !seenPending && Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
        seenPending = (await status(handler, id)).json.status === "pending";
      }
      const again = await delivering;
      assert.ok(seenPending, "the marker written after the failure record wins: pending again");
      assert.deepEqual(again?.response, { batchItemFailures: [] });
      const [record] = again!.event.Records;
      assert.notEqual(record.messageId, messageId, "SQS gave the moved message a new id");
      assert.equal(JSON.parse(record.body).jobId, id, "the body, with its jobId, moved with it");

      const done = (await status(handler, id)).json;
      assert.deepEqual([done.status, done.key], ["done", `${images()}/${id}.png`]);
      assert.deepEqual(await listKeys(peers.s3, peers.bucket, `${images()}/${record.messageId}`), [], "nothing under the message's new id");
    });

    it("a plain-text message from another sender comes back under its new message id, and its record says so", async () => {
      const oldId = (await sqsPeer.admin.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "me on top of a pyramid, plain" })))
        .MessageId!;
      await deadLetter();
      const failed = (await status(api(env), oldId)).json;
      assert.match(failed.reason, /SQS gives it a new message id then, and its picture is stored under that id$/);
      await redrive();
      const moved = await deliverBatch(sqsPeer.admin, queueUrl, worker(env), { waitTimeSeconds: 5 });
      const newId = moved!.event.Records[0].messageId;
      assert.notEqual(newId, oldId);
      assert.equal((await status(api(env), newId)).json.status, "done");
      assert.equal((await status(api(env), oldId)).json.status, "failed", "the old id keeps its record");
    });
  });

  describe("bounded records and reasons in our words", () => {
    it("a 256 KB plain-text message: its failure record keeps 2,000 characters of it and its length", async () => {
      const body = `${"\u{1F981}".repeat(1000)}${"savanna ".repeat(32000)}end`; // 1,000 lions (two UTF-16 units each), then text
      const id = await sendText(body);
      assert.deepEqual((await deliverBatch(peers.sqs, peers.queueUrl, worker()))?.response, { batchItemFailures: [] });
      const key = `${images()}/${id}.failed.json`;
      const record = await getJson(peers.s3, peers.bucket, key);
      assert.equal(record.code, "invalid-request");
      assert.equal([...record.prompt].length, 2000);
      assert.equal(record.prompt, body.slice(0, 2000 + 1000), "the first 2,000 characters, lions counted once");
      assert.equal(record.promptLength, 257003);
      const size = (await getObject(peers.s3, peers.bucket, key)).body.length;
      assert.ok(size < 12 * 1024, `the record is ${size} bytes`);
      assert.match(record.reason, /at most 10000 characters \(got 257003\)/);
      assert.equal(JSON.parse(logs[0]).promptLength, 257003, "the log counts characters too");
    });

    it("a JSON message without a prompt: the record keeps the start of its body and the body's length", async () => {
      const body = json({ pad: "p".repeat(100000) });
      const id = await sendText(body);
      await deliverBatch(peers.sqs, peers.queueUrl, worker());
      const record = await getJson(peers.s3, peers.bucket, `${images()}/${id}.failed.json`);
      assert.deepEqual(
        [record.code, record.body, record.bodyLength, "prompt" in record],
        ["invalid-request", body.slice(0, 2000), body.length, false],
      );
    });

    it("a 10,000-character prompt reaches the model whole; its sidecar keeps 2,000 characters and the length", async () => {
      const prompt = "a very long walk along the Great Wall ".repeat(300).slice(0, 10000);
      const answer = await invoke(api(), {
        method: "POST",
        path: "/generate",
        body: json({ prompt, negativeText: "n".repeat(5000) }),
      });
      assert.equal(answer.status, 201, answer.raw.body);
      assert.equal(peers.bedrock.calls[0].body.prompt, prompt);
      const sidecar = await getJson(peers.s3, peers.bucket, answer.json.key.replace(/\.png$/, ".json"));
      assert.deepEqual([sidecar.prompt, sidecar.promptLength], [prompt.slice(0, 2000), 10000]);
      assert.deepEqual([sidecar.negativeText.length, sidecar.negativeTextLength], [2000, 5000]);
    });

    it("a model that never answers: the record and GET /images/{id} say how long we waited, the SDK's words stay in the log", async () => {
      peers.bedrock.failWhenPromptIncludes("[hang]", "timeout");
      const handler = api();
      const id = (await invoke(handler, { method: "POST", path: "/images", body: json({ prompt: "[hang] desert at noon" }) })).json.id;
      const hung = worker({ [ENV.maxReceiveCount]: "1" });
      // The invocation has the storing reserve plus 1 s left: 1 s for the record's one try.
      const context = timeLeft(DEFAULTS.storeReserveSeconds * 1000 + 1000);
      await deliverBatch(peers.sqs, peers.queueUrl, hung, { visibilityTimeoutSeconds: 1, context });
      const reason = (await status(handler, id)).json.reason as string;
      assert.match(
        reason,
        /^gave up after 1 delivery: the model stability\.stable-image-core-v1:1 did not answer within 1 s, 1 try\. The job is kept in the dead-letter queue/,
      );
      assert.doesNotMatch(reason, /@smithy|\[ERROR\]|requestTimeout|exceeded/);
      const line = logs.map((l) => JSON.parse(l)).find((l) => l.msg === "record");
      assert.match(line.error, /@smithy\/node-http-handler - \[ERROR\] a request has exceeded the configured 1000 ms requestTimeout/);
    });
  });
});
