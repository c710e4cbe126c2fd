import { strict as assert } from "node:assert";
import { DeleteMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { readPngHeader } from "../../local/fakes/png";
import { createQueueHandler, DEFAULTS, ENV, METRICS, type QueueHandler } from "../../runtime";
import { deliverBatch, receive, sqsEvent, timeLeft } from "../../tools/events";
import { getJson, getObject, listKeys } from "../../tools/objects";
import type { Peers } from "../../tools/peers";
import { drainQueues, quickRetryEnv, sendPrompt, withPeers } from "../support/with-peers";
import { startS3Proxy } from "../support/s3-proxy";
import { assertStabilityTextToImage, TITAN } from "../support/models";

describe("runtime queue handler (s3rver + local-aws-sqs + Bedrock test server)", function () {
  let peers: Peers;
  let logs: string[];
  const worker = (extra: Record<string, string> = {}): QueueHandler =>
    createQueueHandler(quickRetryEnv(peers, extra), { log: (line) => logs.push(line) });
  /** The exam's model, for the tests written around its TEXT_IMAGE shape and 512-character prompts. */
  const titanWorker = (extra: Record<string, string> = {}) => worker({ [ENV.modelId]: TITAN, ...extra });
  const send = (body: string) => sendPrompt(peers, body);
  const jobKeys = (id: string) => listKeys(peers.s3, peers.bucket, `${peers.prefix}/images/${id}`);
  /** The pending-job marker: all a job kept for another delivery leaves behind. */
  const marker = (id: string) => `${peers.prefix}/images/${id}.queued.json`;
  /** Lets the model work again and delivers what is still queued until nothing is left. */
  const settle = async () => {
    peers.bedrock.reset();
    while (await deliverBatch(peers.sqs, peers.queueUrl, worker(), { waitTimeSeconds: 2 })) {
      /* kept records come back after their 1 s visibility timeout */
    }
  };

  withPeers({ maxReceiveCount: 2 }, (started) => (peers = started));
  beforeEach(async () => {
    peers.bedrock.reset();
    peers.bedrock.setLatency(0);
    logs = [];
  });
  afterEach(() => drainQueues(peers));

  it("a plain-text body from today's senders is the prompt: stored at images/<messageId>.png with a sidecar (Titan)", async () => {
    const id = await send("me on top of a pyramid");
    const delivery = await deliverBatch(peers.sqs, peers.queueUrl, titanWorker());
    assert.deepEqual(delivery?.response, { batchItemFailures: [] });
    assert.deepEqual(await jobKeys(id), [`${peers.prefix}/images/${id}.json`, `${peers.prefix}/images/${id}.png`]);
    const png = await getObject(peers.s3, peers.bucket, `${peers.prefix}/images/${id}.png`);
    assert.equal(png.contentType, "image/png");
    assert.deepEqual(readPngHeader(png.body), { width: DEFAULTS.queueImageSize, height: DEFAULTS.queueImageSize });
    const sidecar = await getJson(peers.s3, peers.bucket, `${peers.prefix}/images/${id}.json`);
    assert.equal(sidecar.prompt, "me on top of a pyramid");
    assert.deepEqual([sidecar.source, sidecar.jobId, sidecar.model, sidecar.width], ["queue", id, TITAN, 512]);
    assert.equal(peers.bedrock.calls[0].body.textToImageParams.text, "me on top of a pyramid");
    assert.deepEqual(await receive(peers.sqs, peers.queueUrl), [], "the message was acknowledged");
  });

  it("a JSON body carries the API's parameters (Titan)", async () => {
    const id = await send(JSON.stringify({ prompt: "snowy forest", width: 1024, height: 1024, seed: 5 }));
    assert.deepEqual((await deliverBatch(peers.sqs, peers.queueUrl, titanWorker()))?.response, {
      batchItemFailures: [],
    });
    const png = await getObject(peers.s3, peers.bucket, `${peers.prefix}/images/${id}.png`);
    assert.deepEqual(readPngHeader(png.body), { width: 1024, height: 1024 });
    assert.equal(peers.bedrock.calls[0].body.imageGenerationConfig.seed, 5);
  });

  it("the default model (Stable Image Core): a plain-text prompt becomes a Stability-shaped picture at the size the model chose", async () => {
    const id = await send("Me on top of K2");
    assert.deepEqual((await deliverBatch(peers.sqs, peers.queueUrl, worker()))?.response, { batchItemFailures: [] });
    const [call] = peers.bedrock.calls;
    assert.deepEqual(Object.keys(call.body).sort(), ["aspect_ratio", "mode", "output_format", "prompt", "seed"]);
    assertStabilityTextToImage(call, peers.settings.modelId, "Me on top of K2");
    assert.ok(call.body.seed >= 1 && call.body.seed <= 4294967294);
    const png = await getObject(peers.s3, peers.bucket, `${peers.prefix}/images/${id}.png`);
    assert.deepEqual(readPngHeader(png.body), { width: 1024, height: 1024 });
    const sidecar = await getJson(peers.s3, peers.bucket, `${peers.prefix}/images/${id}.json`);
    assert.deepEqual(
      [sidecar.model, sidecar.seed, sidecar.width, sidecar.height, sidecar.aspectRatio, sidecar.quality, sidecar.cfgScale],
      [peers.settings.modelId, call.body.seed, 1024, 1024, "1:1", undefined, undefined],
    );
  });

  it("a job queued for the previous model (Titan's quality, cfgScale, pixels) still runs on Stability, without those fields", async () => {
    const id = await send(
      JSON.stringify({
        prompt: "harbour at dawn",
        width: 1024,
        height: 576,
        quality: "premium",
        cfgScale: 8,
        seed: 12345,
      }),
    );
    assert.deepEqual((await deliverBatch(peers.sqs, peers.queueUrl, worker()))?.response, { batchItemFailures: [] });
    assert.deepEqual(peers.bedrock.calls[0].body, {
      prompt: "harbour at dawn",
      aspect_ratio: "16:9",
      mode: "text-to-image",
      output_format: "png",
      seed: 12345,
    });
    const png = await getObject(peers.s3, peers.bucket, `${peers.prefix}/images/${id}.png`);
    assert.deepEqual(readPngHeader(png.body), { width: 1344, height: 768 });
  });

  it("text that merely starts with '{' is still a prompt", async () => {
    const id = await send("{curly} castle by the sea");
    assert.deepEqual((await deliverBatch(peers.sqs, peers.queueUrl, worker()))?.response, { batchItemFailures: [] });
    assert.equal((await getJson(peers.s3, peers.bucket, `${peers.prefix}/images/${id}.json`)).prompt, "{curly} castle by the sea");
  });

  it("a mixed batch: only transient failures are returned; permanent ones get a failure record; nothing raises (Titan)", async () => {
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
    // 8 records at the default concurrency (5) run in 2 rounds; the invocation has the storing
    // reserve plus 2 s left, so a first-round record's one try gets 1 s: the held [slow] call
    // outlasts it, a picture does not, even on a machine busy with the whole suite.
    const context = timeLeft(DEFAULTS.storeReserveSeconds * 1000 + 2000);
    const delivery = await deliverBatch(peers.sqs, peers.queueUrl, titanWorker(), {
      visibilityTimeoutSeconds: 1,
      context,
    });
    assert.equal(delivery?.event.Records.length, 8);
    assert.deepEqual(delivery!.response.batchItemFailures.map((f) => f.itemIdentifier).sort(), [ids.busy, ids.garbled, ids.slow].sort());
    const images = `${peers.prefix}/images`;
    assert.deepEqual(await jobKeys(ids.ok), [`${images}/${ids.ok}.json`, `${images}/${ids.ok}.png`]);
    for (const id of [ids.busy, ids.garbled, ids.slow])
      assert.deepEqual(await jobKeys(id), [marker(id)], "nothing stored for a transient failure but the job's marker");
    const expected: [string, string, RegExp][] = [
      [ids.blocked, "content-filtered", /^the model's content filter refused the prompt or the picture$/],
      [ids.refused, "model-error", /^the model reported an error about this request and made no picture$/],
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
    // The model's own words stay in the log, never in the records callers read.
    assert.match(byId.get(ids.blocked).error, /blocked by our content filters/);
    assert.match(byId.get(ids.refused).error, /could not generate an image/);
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
    assert.deepEqual(await jobKeys(id), [marker(id)]);
    const second = await deliverBatch(peers.sqs, peers.queueUrl, worker(), { waitTimeSeconds: 3 });
    assert.deepEqual(second?.response, { batchItemFailures: [] });
    assert.deepEqual(await jobKeys(id), [`${peers.prefix}/images/${id}.json`, `${peers.prefix}/images/${id}.png`]);
  });

  it("a record that keeps failing transiently ends in the DLQ after maxReceiveCount", async () => {
    peers.bedrock.failWhenPromptIncludes("[down]", "server-error");
    const id = await send("[down] always failing");
    for (let i = 0; i < 2; i++) {
      const delivery = await deliverBatch(peers.sqs, peers.queueUrl, worker(), {
        visibilityTimeoutSeconds: 1,
        waitTimeSeconds: 3,
      });
      assert.deepEqual(delivery?.response.batchItemFailures, [{ itemIdentifier: id }]);
    }
    const dead = await receive(peers.sqs, peers.dlqUrl, { waitTimeSeconds: 3 });
    assert.deepEqual(await receive(peers.sqs, peers.queueUrl), []);
    assert.deepEqual(
      dead.map((m) => [m.MessageId, m.Body]),
      [[id, "[down] always failing"]],
    );
    // Without MAX_RECEIVE_COUNT the worker cannot tell the last delivery: no failure record, the job stays pending.
    assert.deepEqual(await jobKeys(id), [marker(id)]);
  });

  it("with MAX_RECEIVE_COUNT, the last transient failure leaves a failure record before the DLQ, and a later success wins", async () => {
    peers.bedrock.failWhenPromptIncludes("[flaky]", "throttle");
    const id = await send("[flaky] harbour at dawn");
    const handler = worker({ [ENV.maxReceiveCount]: "2" });
    const first = await deliverBatch(peers.sqs, peers.queueUrl, handler, {
      visibilityTimeoutSeconds: 1,
      waitTimeSeconds: 3,
    });
    assert.deepEqual(first?.response.batchItemFailures, [{ itemIdentifier: id }]);
    assert.deepEqual(await jobKeys(id), [marker(id)], "not the last delivery yet: no record");
    const last = await deliverBatch(peers.sqs, peers.queueUrl, handler, {
      visibilityTimeoutSeconds: 1,
      waitTimeSeconds: 3,
    });
    assert.equal(last?.event.Records[0].attributes.ApproximateReceiveCount, "2");
    assert.deepEqual(last?.response.batchItemFailures, [{ itemIdentifier: id }], "still returned, so SQS moves it to the DLQ");
    const record = await getJson(peers.s3, peers.bucket, `${peers.prefix}/images/${id}.failed.json`);
    assert.deepEqual([record.kind, record.code], ["transient", "throttled"]);
    assert.match(record.reason, /^gave up after 2 deliveries: /);
    const dead = await receive(peers.sqs, peers.dlqUrl, { waitTimeSeconds: 3 });
    assert.deepEqual(
      dead.map((m) => m.MessageId),
      [id],
    );
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
    // S3 takes the job's marker but answers 503 SlowDown to the failure record.
    const proxy = await startS3Proxy(peers.s3Endpoint);
    proxy.refuse((call) => call.method === "PUT" && call.path.endsWith(".failed.json"));
    try {
      const delivery = await deliverBatch(peers.sqs, peers.queueUrl, worker({ [ENV.s3Endpoint]: proxy.url }));
      assert.deepEqual(delivery?.response.batchItemFailures, [{ itemIdentifier: id }]);
    } finally {
      await proxy.close();
    }
    assert.match(
      JSON.parse(logs[0]).error,
      /failure record not written: the object store \(S3\) did not complete the request \(HTTP 503\)/,
    );
    assert.deepEqual(await jobKeys(id), [marker(id)], "still pending: it comes back");
  });

  it("a misconfigured bucket fails the record at its marker, before the model is called", async () => {
    const id = await send("anything at all");
    const delivery = await deliverBatch(peers.sqs, peers.queueUrl, worker({ [ENV.bucket]: "no-such-bucket" }));
    assert.deepEqual(delivery?.response.batchItemFailures, [{ itemIdentifier: id }]);
    const line = JSON.parse(logs[0]);
    assert.deepEqual([line.code, line.outcome], ["storage-failed", "failed-transient"]);
    assert.match(line.error, /The specified bucket does not exist/, "S3's words in the log");
    assert.equal(peers.bedrock.calls.length, 0);
  });

  it("never throws on malformed events", async () => {
    const handler = worker();
    assert.deepEqual(await handler({} as SQSEvent), { batchItemFailures: [] });
    assert.deepEqual(await handler({ Records: null } as unknown as SQSEvent), { batchItemFailures: [] });
    const odd = {
      Records: [
        { messageId: "../../escape", body: "a prompt" },
        { messageId: "ok-id-1", body: undefined },
      ],
    } as unknown as SQSEvent;
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

  it("Stability finish reasons: a filter is the prompt's fault (record, acknowledged); an inference error is retried; nothing stored for either", async () => {
    peers.bedrock.failWhenPromptIncludes("[prompt]", "filter-prompt");
    peers.bedrock.failWhenPromptIncludes("[output]", "filter-output-image");
    peers.bedrock.failWhenPromptIncludes("[inference]", "inference-error");
    const ids = {
      prompt: await send("[prompt] x"),
      output: await send("[output] y"),
      inference: await send("[inference] z"),
    };
    const delivery = await deliverBatch(peers.sqs, peers.queueUrl, worker(), { visibilityTimeoutSeconds: 1 });
    assert.deepEqual(delivery?.response.batchItemFailures, [{ itemIdentifier: ids.inference }]);
    assert.deepEqual(await jobKeys(ids.inference), [marker(ids.inference)], "an image in an 'Inference error' answer is not stored");
    for (const [id, reason] of [
      [ids.prompt, /Filter reason: prompt/],
      [ids.output, /Filter reason: output image/],
    ] as const) {
      assert.deepEqual(await jobKeys(id), [`${peers.prefix}/images/${id}.failed.json`], "the filtered image is not stored");
      const record = await getJson(peers.s3, peers.bucket, `${peers.prefix}/images/${id}.failed.json`);
      assert.deepEqual([record.kind, record.code, record.redrivable], ["permanent", "content-filtered", false]);
      assert.match(record.reason, reason);
    }
    assert.equal(JSON.parse(logs.find((l) => JSON.parse(l).messageId === ids.inference)!).code, "inference-error");
    // The same request succeeds when the model finishes it.
    await settle();
    assert.ok((await jobKeys(ids.inference)).includes(`${peers.prefix}/images/${ids.inference}.png`));
  });

  describe("operator faults keep the job", () => {
    it("an end-of-life model: kept on every delivery, a redrivable failure record on the last, the message intact in the DLQ, a picture after the fix and a redrive", async () => {
      peers.bedrock.failWhenPromptIncludes("pyramid", "end-of-life");
      const id = await send("me on top of a pyramid");
      const retired = worker({ [ENV.modelId]: TITAN, [ENV.bedrockRegion]: "us-east-1", [ENV.maxReceiveCount]: "2" });
      const first = await deliverBatch(peers.sqs, peers.queueUrl, retired, { visibilityTimeoutSeconds: 1 });
      assert.deepEqual(first?.response.batchItemFailures, [{ itemIdentifier: id }]);
      assert.deepEqual(await jobKeys(id), [marker(id)], "not the last delivery: no record yet");
      const line = JSON.parse(logs[0]);
      assert.deepEqual(
        [line.kind, line.code, line.outcome, line.FailureKind],
        ["operator", "model-retired", "failed-operator", "operator"],
      );
      assert.match(line.error, /amazon\.titan-image-generator-v1 in us-east-1 has reached the end of its life; set the stack's modelId/);
      assert.match(line.error, /This model version has reached the end of its life/, "Bedrock's own words stay in the log");

      const last = await deliverBatch(peers.sqs, peers.queueUrl, retired, {
        visibilityTimeoutSeconds: 1,
        waitTimeSeconds: 3,
      });
      assert.deepEqual(last?.response.batchItemFailures, [{ itemIdentifier: id }], "still returned, so SQS moves it to the DLQ");
      const record = await getJson(peers.s3, peers.bucket, `${peers.prefix}/images/${id}.failed.json`);
      assert.deepEqual([record.kind, record.code, record.redrivable, record.model], ["operator", "model-retired", true, TITAN]);
      assert.match(
        record.reason,
        /^gave up after 2 deliveries: the Bedrock model amazon\.titan-image-generator-v1 in us-east-1 has reached the end of its life/,
      );
      assert.match(
        record.reason,
        /kept in the dead-letter queue; redrive it once the cause is fixed \(aws sqs start-message-move-task --source-arn <dead-letter queue ARN>\)/,
      );

      const dead = await receive(peers.sqs, peers.dlqUrl, { waitTimeSeconds: 3 });
      assert.deepEqual(
        dead.map((m) => [m.MessageId, m.Body]),
        [[id, "me on top of a pyramid"]],
        "the prompt reaches the DLQ intact",
      );
      await peers.sqs.send(new DeleteMessageCommand({ QueueUrl: peers.dlqUrl, ReceiptHandle: dead[0].ReceiptHandle! }));
      // The operator switches to an active model and redrives. SQS gives a redriven message a new id
      // (SQS developer guide, "Configure a dead-letter queue redrive"); its picture is stored under it.
      peers.bedrock.reset();
      const fixed = worker({ [ENV.maxReceiveCount]: "2" });
      const redrivenId = "0b5e0c6e-3d0a-4c47-9d6c-5f2a8e1d7b42";
      assert.deepEqual(await fixed(sqsEvent([{ ...dead[0], MessageId: redrivenId, Attributes: { ApproximateReceiveCount: "1" } }])), {
        batchItemFailures: [],
      });
      assert.ok((await jobKeys(redrivenId)).includes(`${peers.prefix}/images/${redrivenId}.png`));
      assert.equal((await getJson(peers.s3, peers.bucket, `${peers.prefix}/images/${redrivenId}.json`)).prompt, "me on top of a pyramid");
    });

    it("access denied (no agreement, no grant) and an unknown model id are kept too, never acknowledged", async () => {
      peers.bedrock.failWhenPromptIncludes("[denied]", "access-denied");
      const denied = await send("[denied] lighthouse");
      const delivery = await deliverBatch(peers.sqs, peers.queueUrl, worker(), { visibilityTimeoutSeconds: 1 });
      assert.deepEqual(delivery?.response.batchItemFailures, [{ itemIdentifier: denied }]);
      assert.deepEqual(await jobKeys(denied), [marker(denied)]);
      await settle();
      // An id Bedrock does not know in that region (Ultra's retired 1.0) is the operator's too.
      const unknown = await send("lighthouse again");
      const other = await deliverBatch(peers.sqs, peers.queueUrl, worker({ [ENV.modelId]: "stability.stable-image-ultra-v1:0" }), {
        visibilityTimeoutSeconds: 1,
      });
      assert.deepEqual(other?.response.batchItemFailures, [{ itemIdentifier: unknown }]);
      const codes = logs.map((l) => JSON.parse(l)).map((l) => [l.messageId, l.kind, l.code]);
      assert.ok(codes.some(([m, kind, code]) => m === denied && kind === "operator" && code === "access-denied"));
      assert.ok(codes.some(([m, kind, code]) => m === unknown && kind === "operator" && code === "model-not-found"));
      await settle();
    });
  });
});
