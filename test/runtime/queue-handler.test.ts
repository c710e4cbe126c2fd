import { strict as assert } from "node:assert";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { readPngHeader } from "../../local/png";
import { createQueueHandler, DEFAULTS, ENV, METRICS, type QueueHandler } from "../../runtime";
import { deliverBatch, receive, sqsEvent } from "../support/events";
import { getJson, getObject, listKeys } from "../support/objects";
import { startPeers, type Peers } from "../support/peers";

describe("runtime queue handler (s3rver + local-aws-sqs + Bedrock test server)", function () {
  let peers: Peers;
  let logs: string[];
  const worker = (extra: Record<string, string> = {}): QueueHandler =>
    createQueueHandler({ ...peers.env, [ENV.bedrockMaxAttempts]: "1", ...extra }, { log: (line) => logs.push(line) });
  const send = async (body: string): Promise<string> =>
    (await peers.sqs.send(new SendMessageCommand({ QueueUrl: peers.queueUrl, MessageBody: body }))).MessageId!;
  const jobKeys = (id: string) => listKeys(peers.s3, peers.bucket, `${peers.prefix}/images/${id}`);
  const drain = async (url: string) => {
    while ((await receive(peers.sqs, url)).length) {
      /* messages become invisible; the queue is then empty for this test */
    }
  };

  before(async () => {
    peers = await startPeers({ maxReceiveCount: 2 });
  });
  after(async () => {
    await peers?.stop();
  });
  beforeEach(async () => {
    peers.bedrock.reset();
    peers.bedrock.setLatency(0);
    logs = [];
  });
  afterEach(async () => {
    await drain(peers.queueUrl);
    await drain(peers.dlqUrl);
  });

  it("a plain-text body from today's senders is the prompt: stored at images/<messageId>.png with a sidecar", async () => {
    const id = await send("me on top of a pyramid");
    const delivery = await deliverBatch(peers.sqs, peers.queueUrl, worker());
    assert.deepEqual(delivery?.response, { batchItemFailures: [] });
    assert.deepEqual(await jobKeys(id), [`${peers.prefix}/images/${id}.json`, `${peers.prefix}/images/${id}.png`]);
    const png = await getObject(peers.s3, peers.bucket, `${peers.prefix}/images/${id}.png`);
    assert.equal(png.contentType, "image/png");
    assert.deepEqual(readPngHeader(png.body), { width: DEFAULTS.queueImageSize, height: DEFAULTS.queueImageSize });
    const sidecar = await getJson(peers.s3, peers.bucket, `${peers.prefix}/images/${id}.json`);
    assert.equal(sidecar.prompt, "me on top of a pyramid");
    assert.deepEqual([sidecar.source, sidecar.jobId, sidecar.model, sidecar.width], ["queue", id, DEFAULTS.modelId, 512]);
    assert.equal(peers.bedrock.calls[0].body.textToImageParams.text, "me on top of a pyramid");
    assert.deepEqual(await receive(peers.sqs, peers.queueUrl), [], "the message was acknowledged");
  });

  it("a JSON body carries the API's parameters", async () => {
    const id = await send(JSON.stringify({ prompt: "snowy forest", width: 1024, height: 1024, seed: 5 }));
    assert.deepEqual((await deliverBatch(peers.sqs, peers.queueUrl, worker()))?.response, { batchItemFailures: [] });
    const png = await getObject(peers.s3, peers.bucket, `${peers.prefix}/images/${id}.png`);
    assert.deepEqual(readPngHeader(png.body), { width: 1024, height: 1024 });
    assert.equal(peers.bedrock.calls[0].body.imageGenerationConfig.seed, 5);
  });

  it("text that merely starts with '{' is still a prompt", async () => {
    const id = await send("{curly} castle by the sea");
    assert.deepEqual((await deliverBatch(peers.sqs, peers.queueUrl, worker()))?.response, { batchItemFailures: [] });
    assert.equal((await getJson(peers.s3, peers.bucket, `${peers.prefix}/images/${id}.json`)).prompt, "{curly} castle by the sea");
  });

  it("a mixed batch: only transient failures are returned; permanent ones get a failure record; nothing raises", async () => {
    peers.bedrock.failWhenPromptIncludes("[busy]", "throttle");
    peers.bedrock.failWhenPromptIncludes("[garbled]", "garbage");
    peers.bedrock.failWhenPromptIncludes("[slow]", "timeout");
    peers.bedrock.failWhenPromptIncludes("[blocked]", "content-filter");
    peers.bedrock.failWhenPromptIncludes("[refused]", "model-error-field");
    const ids = {
      ok: await send("sunset at the beach"),
      busy: await send("[busy] city at night"),
      garbled: await send("[garbled] desert"),
      slow: await send("[slow] mountain"),
      blocked: await send("[blocked] something"),
      refused: await send("[refused] something else"),
      blank: await send(JSON.stringify({ prompt: "   " })),
      tooLong: await send("x".repeat(600)),
    };
    const delivery = await deliverBatch(peers.sqs, peers.queueUrl, worker({ [ENV.bedrockTimeoutMs]: "300" }), { visibilityTimeoutSeconds: 1 });
    assert.equal(delivery?.event.Records.length, 8);
    assert.deepEqual(
      delivery!.response.batchItemFailures.map((f) => f.itemIdentifier).sort(),
      [ids.busy, ids.garbled, ids.slow].sort(),
    );
    const images = `${peers.prefix}/images`;
    assert.deepEqual(await jobKeys(ids.ok), [`${images}/${ids.ok}.json`, `${images}/${ids.ok}.png`]);
    for (const id of [ids.busy, ids.garbled, ids.slow]) assert.deepEqual(await jobKeys(id), [], "nothing stored for a transient failure");
    const expected: [string, string, RegExp][] = [
      [ids.blocked, "content-filtered", /content filters/],
      [ids.refused, "model-error", /could not generate an image/],
      [ids.blank, "invalid-request", /"prompt" must not be blank/],
      [ids.tooLong, "invalid-request", /at most 512 characters \(got 600\)/],
    ];
    for (const [id, code, reason] of expected) {
      assert.deepEqual(await jobKeys(id), [`${images}/${id}.failed.json`]);
      const record = await getJson(peers.s3, peers.bucket, `${images}/${id}.failed.json`);
      assert.equal(record.kind, "permanent");
      assert.equal(record.code, code);
      assert.equal(record.jobId, id);
      assert.match(record.reason, reason);
    }
    // Invalid prompts never reached the model.
    assert.equal(peers.bedrock.calls.length, 6);

    // One log line per record, with outcome and metrics.
    const lines = logs.map((l) => JSON.parse(l));
    assert.equal(lines.length, 8);
    assert.deepEqual(lines.map((l) => l.messageId).sort(), Object.values(ids).sort());
    const byId = new Map(lines.map((l) => [l.messageId, l]));
    assert.equal(byId.get(ids.ok).outcome, "stored");
    assert.equal(byId.get(ids.ok)[METRICS.imagesGenerated.name], 1);
    assert.equal(byId.get(ids.busy).outcome, "failed-transient");
    assert.equal(byId.get(ids.busy)[METRICS.failures.dimension], "transient");
    assert.equal(byId.get(ids.slow).code, "timeout");
    assert.equal(byId.get(ids.blocked).outcome, "failed-permanent");
    assert.equal(byId.get(ids.blocked)[METRICS.failures.dimension], "permanent");
    assert.equal(byId.get(ids.tooLong).promptLength, 600);

    // SQS redelivers exactly the transient ones.
    const again = await receive(peers.sqs, peers.queueUrl, { waitTimeSeconds: 3 });
    assert.deepEqual(again.map((m) => m.MessageId).sort(), [ids.busy, ids.garbled, ids.slow].sort());
  });

  it("a redelivered message overwrites its own picture: exactly one object, same bytes", async () => {
    const id = await send("Eiffel tower in Paris");
    const [message] = await receive(peers.sqs, peers.queueUrl);
    const event = sqsEvent([message]);
    const handler = worker();
    assert.deepEqual(await handler(event), { batchItemFailures: [] });
    const first = await getObject(peers.s3, peers.bucket, `${peers.prefix}/images/${id}.png`);
    assert.deepEqual(await handler(event), { batchItemFailures: [] });
    assert.deepEqual(await jobKeys(id), [`${peers.prefix}/images/${id}.json`, `${peers.prefix}/images/${id}.png`]);
    const second = await getObject(peers.s3, peers.bucket, `${peers.prefix}/images/${id}.png`);
    assert.ok(first.body.equals(second.body), "the seed derives from the message id, so the picture is the same");
    assert.equal(peers.bedrock.calls.length, 2);
  });

  it("a transient failure succeeds on redelivery", async () => {
    const id = await send("polaroid of a lake");
    peers.bedrock.failNext("throttle");
    const first = await deliverBatch(peers.sqs, peers.queueUrl, worker(), { visibilityTimeoutSeconds: 1 });
    assert.deepEqual(first?.response.batchItemFailures, [{ itemIdentifier: id }]);
    assert.deepEqual(await jobKeys(id), []);
    const second = await deliverBatch(peers.sqs, peers.queueUrl, worker(), { waitTimeSeconds: 3 });
    assert.deepEqual(second?.response, { batchItemFailures: [] });
    assert.deepEqual(await jobKeys(id), [`${peers.prefix}/images/${id}.json`, `${peers.prefix}/images/${id}.png`]);
  });

  it("a record that keeps failing transiently ends in the DLQ after maxReceiveCount", async () => {
    peers.bedrock.failWhenPromptIncludes("[down]", "server-error");
    const id = await send("[down] always failing");
    for (let i = 0; i < 2; i++) {
      const delivery = await deliverBatch(peers.sqs, peers.queueUrl, worker(), { visibilityTimeoutSeconds: 1, waitTimeSeconds: 3 });
      assert.deepEqual(delivery?.response.batchItemFailures, [{ itemIdentifier: id }]);
    }
    const dead = await receive(peers.sqs, peers.dlqUrl, { waitTimeSeconds: 3 });
    assert.deepEqual(await receive(peers.sqs, peers.queueUrl), []);
    assert.deepEqual(dead.map((m) => [m.MessageId, m.Body]), [[id, "[down] always failing"]]);
    assert.deepEqual(await jobKeys(id), []);
  });

  it("with MAX_RECEIVE_COUNT, the last transient failure leaves a failure record before the DLQ, and a later success wins", async () => {
    peers.bedrock.failWhenPromptIncludes("[flaky]", "throttle");
    const id = await send("[flaky] harbour at dawn");
    const handler = worker({ [ENV.maxReceiveCount]: "2" });
    const first = await deliverBatch(peers.sqs, peers.queueUrl, handler, { visibilityTimeoutSeconds: 1, waitTimeSeconds: 3 });
    assert.deepEqual(first?.response.batchItemFailures, [{ itemIdentifier: id }]);
    assert.deepEqual(await jobKeys(id), [], "not the last delivery yet: no record");
    const last = await deliverBatch(peers.sqs, peers.queueUrl, handler, { visibilityTimeoutSeconds: 1, waitTimeSeconds: 3 });
    assert.equal(last?.event.Records[0].attributes.ApproximateReceiveCount, "2");
    assert.deepEqual(last?.response.batchItemFailures, [{ itemIdentifier: id }], "still returned, so SQS moves it to the DLQ");
    const record = await getJson(peers.s3, peers.bucket, `${peers.prefix}/images/${id}.failed.json`);
    assert.deepEqual([record.kind, record.code], ["transient", "throttled"]);
    assert.match(record.reason, /^gave up after 2 deliveries: /);
    const dead = await receive(peers.sqs, peers.dlqUrl, { waitTimeSeconds: 3 });
    assert.deepEqual(dead.map((m) => m.MessageId), [id]);
    // Redriven from the DLQ once the model is back, the same message id becomes its picture.
    peers.bedrock.reset();
    const redriven = await handler(sqsEvent([{ ...dead[0], Attributes: { ApproximateReceiveCount: "1" } }]));
    assert.deepEqual(redriven, { batchItemFailures: [] });
    assert.ok((await jobKeys(id)).includes(`${peers.prefix}/images/${id}.png`));
  });

  it("records run concurrently, never more than WORKER_CONCURRENCY at once", async () => {
    peers.bedrock.setLatency(150);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await send(`postcard number ${i}`));
    let maxInFlight = 0;
    const probe = setInterval(() => {
      maxInFlight = Math.max(maxInFlight, peers.bedrock.calls.filter((c) => c.status === 0).length);
    }, 5);
    try {
      const delivery = await deliverBatch(peers.sqs, peers.queueUrl, worker({ [ENV.workerConcurrency]: "3" }));
      assert.equal(delivery?.event.Records.length, 10);
      assert.deepEqual(delivery?.response, { batchItemFailures: [] });
    } finally {
      clearInterval(probe);
    }
    assert.equal(peers.bedrock.calls.length, 10);
    assert.ok(maxInFlight <= 3, `at most 3 calls in flight, saw ${maxInFlight}`);
    assert.ok(maxInFlight >= 2, `calls overlap, saw at most ${maxInFlight} in flight`);
    for (const id of ids) assert.equal((await jobKeys(id)).length, 2);
  });

  it("S3 failing to take the failure record turns a permanent failure into a retry", async () => {
    peers.bedrock.failWhenPromptIncludes("[blocked]", "content-filter");
    const id = await send("[blocked] again");
    const delivery = await deliverBatch(peers.sqs, peers.queueUrl, worker({ [ENV.bucket]: "no-such-bucket" }));
    assert.deepEqual(delivery?.response.batchItemFailures, [{ itemIdentifier: id }]);
    assert.match(JSON.parse(logs[0]).error, /failure record not written/);
  });

  it("never throws on malformed events", async () => {
    const handler = worker();
    assert.deepEqual(await handler({} as SQSEvent), { batchItemFailures: [] });
    assert.deepEqual(await handler({ Records: null } as unknown as SQSEvent), { batchItemFailures: [] });
    const odd = { Records: [{ messageId: "../../escape", body: "a prompt" }, { messageId: "ok-id-1", body: undefined }] } as unknown as SQSEvent;
    const answer = await handler(odd);
    assert.deepEqual(answer.batchItemFailures, [{ itemIdentifier: "../../escape" }]);
    assert.deepEqual(await listKeys(peers.s3, peers.bucket, `${peers.prefix}/escape`), []);
    assert.equal((await getJson(peers.s3, peers.bucket, `${peers.prefix}/images/ok-id-1.failed.json`)).code, "invalid-request");
  });

  it("a misconfigured function keeps every message for a retry and says why", async () => {
    const handler = createQueueHandler({ [ENV.prefix]: "p" }, { log: (l) => logs.push(l) });
    const id = await send("anything");
    const delivery = await deliverBatch(peers.sqs, peers.queueUrl, handler);
    assert.deepEqual(delivery?.response.batchItemFailures, [{ itemIdentifier: id }]);
    assert.ok(logs.some((l) => /BUCKET_NAME/.test(JSON.parse(l).error)));
    assert.equal(peers.bedrock.calls.length, 0);
  });
});
