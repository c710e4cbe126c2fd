import { strict as assert } from "node:assert";
import { readPngHeader } from "../../local/fakes/png";
import { createHttpHandler, createQueueHandler, DEFAULTS, ENV, METRICS, type HttpHandler } from "../../runtime";
import { deliverBatch, receive, timeLeft } from "../../tools/events";
import { invoke, PAYLOAD_FORMATS } from "../../tools/http";
import { getJson, getObject, listKeys } from "../../tools/objects";
import type { Peers } from "../../tools/peers";
import { quickRetryEnv, withPeers } from "../support/with-peers";
import { assertStabilityTextToImage, TITAN } from "../support/models";

const json = (value: unknown) => JSON.stringify(value);

describe("runtime HTTP handler (s3rver + local-aws-sqs + Bedrock test server)", function () {
  let peers: Peers;
  let logs: string[];
  /** A handler with the SDK retrying at most once more than asked, so failure tests stay quick. */
  const handlerWith = (extra: Record<string, string> = {}): HttpHandler =>
    createHttpHandler(quickRetryEnv(peers, extra), { log: (line) => logs.push(line) });
  const titanWith = (extra: Record<string, string> = {}): HttpHandler => handlerWith({ [ENV.modelId]: TITAN, ...extra });
  const generatedKeys = () => listKeys(peers.s3, peers.bucket, `${peers.prefix}/generated_images/`);

  withPeers({ bedrockTimeoutHangMs: 5000 }, (started) => (peers = started));
  beforeEach(() => {
    peers.bedrock.reset();
    logs = [];
  });

  describe("validation against Titan's limits: clear 400s, nothing reaches the model or the bucket", () => {
    const long = "a".repeat(DEFAULTS.maxPromptLength + 1);
    const cases: { name: string; body?: string; headers?: Record<string, string>; message: RegExp }[] = [
      { name: "missing prompt", body: json({}), message: /"prompt" is required/ },
      { name: "empty body", body: "", message: /"prompt" is required/ },
      { name: "blank prompt", body: json({ prompt: "   \n\t" }), message: /"prompt" must not be blank/ },
      { name: "non-string prompt", body: json({ prompt: 42 }), message: /"prompt" must be a string/ },
      {
        name: "prompt over 512 characters",
        body: json({ prompt: long }),
        message: /at most 512 characters \(got 513\)/,
      },
      { name: "malformed JSON", body: '{"prompt": "unterminated', message: /not valid JSON/ },
      { name: "JSON that is not an object", body: json(["a prompt"]), message: /must be a JSON object/ },
      { name: "unknown field", body: json({ prompt: "beach", widht: 512 }), message: /unknown field\(s\): widht/ },
      {
        name: "size the model does not support",
        body: json({ prompt: "beach", width: 500, height: 500 }),
        message: /size 500x500 is not supported/,
      },
      {
        name: "side above the API limit",
        body: json({ prompt: "beach", width: 1408, height: 768 }),
        message: /"width" must be an integer between 1 and 1024/,
      },
      {
        name: "seed out of the model's range",
        body: json({ prompt: "beach", seed: 2147483648 }),
        message: /"seed" must be an integer between 0 and 2147483647/,
      },
      {
        name: "unknown quality",
        body: json({ prompt: "beach", quality: "ultra" }),
        message: /"quality" must be "standard" or "premium"/,
      },
      {
        name: "cfgScale out of range",
        body: json({ prompt: "beach", cfgScale: 11 }),
        message: /"cfgScale" must be a number between 1.1 and 10/,
      },
      {
        name: "blank text/plain prompt",
        body: "  \n",
        headers: { "content-type": "text/plain" },
        message: /"prompt" must not be blank/,
      },
    ];
    for (const path of ["/generate", "/images"]) {
      for (const format of PAYLOAD_FORMATS) {
        for (const c of cases) {
          it(`POST ${path} (${format}): ${c.name} → 400`, async () => {
            const before = await listKeys(peers.s3, peers.bucket);
            const answer = await invoke(titanWith(), { method: "POST", path, body: c.body, headers: c.headers }, format);
            assert.equal(answer.status, 400);
            assert.equal(answer.json.code, "invalid-request");
            assert.match(answer.json.error, c.message);
            assert.equal(peers.bedrock.calls.length, 0);
            assert.deepEqual(await listKeys(peers.s3, peers.bucket), before);
          });
        }
      }
    }

    for (const path of ["/generate", "/images"]) {
      for (const format of PAYLOAD_FORMATS) {
        it(`POST ${path} (${format}): body over the size cap → 413, nothing reaches the model or the bucket`, async () => {
          const before = await listKeys(peers.s3, peers.bucket);
          const body = json({ prompt: "x", pad: "p".repeat(DEFAULTS.maxBodyBytes) });
          const answer = await invoke(titanWith(), { method: "POST", path, body }, format);
          assert.equal(answer.status, 413);
          assert.equal(answer.json.code, "payload-too-large");
          assert.match(answer.json.error, /limit is 16384 bytes/);
          assert.equal(peers.bedrock.calls.length, 0);
          assert.deepEqual(await listKeys(peers.s3, peers.bucket), before);
        });
      }
    }

    it("a base64-encoded oversized body is measured after decoding", async () => {
      const body = json({ prompt: "x".repeat(DEFAULTS.maxBodyBytes) });
      const answer = await invoke(titanWith(), { method: "POST", path: "/generate", body, base64: true }, "rest-1.0");
      assert.equal(answer.status, 413);
      assert.match(answer.json.error, new RegExp(`request body is ${Buffer.byteLength(body)} bytes`));
    });
  });

  describe("routing", () => {
    it("unknown route → 404 naming the routes", async () => {
      for (const format of PAYLOAD_FORMATS) {
        const answer = await invoke(handlerWith(), { method: "GET", path: "/nope" }, format);
        assert.equal(answer.status, 404);
        assert.equal(answer.json.code, "not-found");
        assert.match(answer.json.error, /POST \/generate/);
      }
    });

    it("wrong method → 405 with an Allow header", async () => {
      const get = await invoke(handlerWith(), { method: "GET", path: "/generate" });
      assert.equal(get.status, 405);
      assert.equal(get.headers.allow, "POST");
      assert.match(get.json.error, /GET is not allowed on \/generate/);
      const del = await invoke(handlerWith(), { method: "DELETE", path: "/images/abc" }, "rest-1.0");
      assert.equal(del.status, 405);
      assert.equal(del.headers.allow, "GET");
    });

    it("GET /images/{id} refuses ids that could leave the prefix", async () => {
      for (const id of ["..%2F..%2Fsecret", "%2E%2E", "a%00b", "%E0%A4%A"]) {
        const answer = await invoke(handlerWith(), { method: "GET", path: `/images/${id}` });
        assert.equal(answer.status, 400, id);
        assert.equal(answer.json.code, "invalid-request");
      }
      assert.equal((await invoke(handlerWith(), { method: "GET", path: "/images/a/b" })).status, 404);
    });
  });

  describe("POST /generate stores a PNG and its sidecar under the prefix (Titan: TEXT_IMAGE, exact pixels)", () => {
    for (const format of PAYLOAD_FORMATS) {
      it(`JSON body (${format}) → 201 {key, s3Uri, url, seed, model}`, async () => {
        const answer = await invoke(
          titanWith(),
          { method: "POST", path: "/generate", body: json({ prompt: "me at a Parisian café, old polaroid look" }) },
          format,
        );
        assert.equal(answer.status, 201, answer.raw.body);
        const { key, s3Uri, url, seed, model } = answer.json;
        assert.match(key, new RegExp(`^${peers.prefix}/generated_images/\\d{8}T\\d{9}Z-${seed}\\.png$`));
        assert.equal(s3Uri, `s3://${peers.bucket}/${key}`);
        assert.equal(model, TITAN);

        const stored = await getObject(peers.s3, peers.bucket, key);
        assert.equal(stored.contentType, "image/png");
        assert.deepEqual(readPngHeader(stored.body), { width: 512, height: 512 });
        const sidecar = await getJson(peers.s3, peers.bucket, key.replace(/\.png$/, ".json"));
        assert.equal(sidecar.prompt, "me at a Parisian café, old polaroid look");
        assert.deepEqual([sidecar.model, sidecar.seed, sidecar.width, sidecar.height, sidecar.source], [TITAN, seed, 512, 512, "api"]);
        assert.ok(!Number.isNaN(Date.parse(sidecar.createdAt)));

        // The presigned URL really serves the picture.
        const fetched = await fetch(url);
        assert.equal(fetched.status, 200);
        assert.ok(Buffer.from(await fetched.arrayBuffer()).equals(stored.body));

        // What went to Bedrock: the TEXT_IMAGE shape of the original code, with the returned seed.
        const [call] = peers.bedrock.calls;
        assert.equal(call.modelId, TITAN);
        assert.deepEqual(call.body, {
          taskType: "TEXT_IMAGE",
          textToImageParams: { text: "me at a Parisian café, old polaroid look" },
          imageGenerationConfig: { numberOfImages: 1, quality: "standard", cfgScale: 8, height: 512, width: 512, seed },
        });
      });
    }

    it("base64 body with a REST stage", async () => {
      const answer = await invoke(
        titanWith(),
        { method: "POST", path: "/generate", body: json({ prompt: "snowy mountain" }), base64: true, stage: "dev" },
        "rest-1.0",
      );
      assert.equal(answer.status, 201, answer.raw.body);
      assert.equal(peers.bedrock.calls[0].body.textToImageParams.text, "snowy mountain");
    });

    it("HTTP API with a named stage in rawPath", async () => {
      const answer = await invoke(
        titanWith(),
        { method: "POST", path: "/generate", body: json({ prompt: "desert pyramid" }), stage: "prod" },
        "http-2.0",
      );
      assert.equal(answer.status, 201, answer.raw.body);
    });

    it("a text/plain body is the prompt itself (curl users)", async () => {
      const answer = await invoke(titanWith(), {
        method: "POST",
        path: "/generate",
        body: "me on top of a pyramid",
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
      assert.equal(answer.status, 201, answer.raw.body);
      const sidecar = await getJson(peers.s3, peers.bucket, answer.json.key.replace(/\.png$/, ".json"));
      assert.equal(sidecar.prompt, "me on top of a pyramid");
    });

    it("curl's plain -d (form-urlencoded): raw text is the prompt, prompt=… is the field, a JSON object stays JSON", async () => {
      const form = { "content-type": "application/x-www-form-urlencoded" };
      const cases: [string, string][] = [
        ["me on a beach", "me on a beach"],
        ["prompt=sunset%20over%20Oslo&unused=1", "sunset over Oslo"],
        [json({ prompt: "snowy cabin" }), "snowy cabin"],
      ];
      for (const [body, prompt] of cases) {
        const answer = await invoke(titanWith(), { method: "POST", path: "/generate", body, headers: form });
        assert.equal(answer.status, 201, answer.raw.body);
        assert.equal((await getJson(peers.s3, peers.bucket, answer.json.key.replace(/\.png$/, ".json"))).prompt, prompt);
      }
    });

    it("a prompt of exactly 512 characters is accepted", async () => {
      const answer = await invoke(titanWith(), {
        method: "POST",
        path: "/generate",
        body: json({ prompt: "b".repeat(512) }),
      });
      assert.equal(answer.status, 201, answer.raw.body);
    });

    it("characters are code points: 512 emoji pass, 513 are refused as 513 characters (not 1026)", async () => {
      const emoji = "\u{1F42A}"; // 🐪, two UTF-16 units
      const ok = await invoke(titanWith(), {
        method: "POST",
        path: "/images",
        body: json({ prompt: emoji.repeat(512) }),
      });
      assert.equal(ok.status, 202, ok.raw.body);
      assert.equal(JSON.parse(logs[0]).promptLength, 512);
      const over = await invoke(titanWith(), {
        method: "POST",
        path: "/images",
        body: json({ prompt: emoji.repeat(513) }),
      });
      assert.equal(over.status, 400);
      assert.match(over.json.error, /at most 512 characters \(got 513\)/);
      await receive(peers.sqs, peers.queueUrl); // the accepted job leaves the queue for the tests after this one
    });

    it("1024×1024 on request, and a given seed reproduces the same picture", async () => {
      const body = json({
        prompt: "sunset over the sea",
        width: 1024,
        height: 1024,
        seed: 1234,
        quality: "premium",
        cfgScale: 6.5,
        negativeText: "people",
      });
      const first = await invoke(titanWith(), { method: "POST", path: "/generate", body });
      const second = await invoke(titanWith(), { method: "POST", path: "/generate", body });
      assert.equal(first.status, 201, first.raw.body);
      assert.equal(first.json.seed, 1234);
      const a = await getObject(peers.s3, peers.bucket, first.json.key);
      const b = await getObject(peers.s3, peers.bucket, second.json.key);
      assert.deepEqual(readPngHeader(a.body), { width: 1024, height: 1024 });
      assert.ok(a.body.equals(b.body));
      const sent = peers.bedrock.calls[0].body;
      assert.equal(sent.textToImageParams.negativeText, "people");
      assert.deepEqual(sent.imageGenerationConfig, {
        numberOfImages: 1,
        quality: "premium",
        cfgScale: 6.5,
        height: 1024,
        width: 1024,
        seed: 1234,
      });
    });

    it("Nova Canvas: same request shape, its lower seed cap is enforced", async () => {
      const handler = handlerWith({ [ENV.modelId]: "amazon.nova-canvas-v1:0" });
      const tooBig = await invoke(handler, {
        method: "POST",
        path: "/generate",
        body: json({ prompt: "forest", seed: 858993460 }),
      });
      assert.equal(tooBig.status, 400);
      assert.match(tooBig.json.error, /between 0 and 858993459/);
      const ok = await invoke(handler, { method: "POST", path: "/generate", body: json({ prompt: "forest" }) });
      assert.equal(ok.status, 201, ok.raw.body);
      assert.equal(ok.json.model, "amazon.nova-canvas-v1:0");
      assert.ok(ok.json.seed <= 858993459);
      assert.equal(peers.bedrock.calls.at(-1)!.modelId, "amazon.nova-canvas-v1:0");
    });

    it("writes one JSON log line per request carrying EMF metrics", async () => {
      await invoke(titanWith(), { method: "POST", path: "/generate", body: json({ prompt: "city at night" }) });
      assert.equal(logs.length, 1);
      const line = JSON.parse(logs[0]);
      assert.equal(line.route, "POST /generate");
      assert.equal(line.status, 201);
      assert.equal(line.promptLength, "city at night".length);
      assert.equal(line.model, TITAN);
      assert.equal(typeof line.latencyMs, "number");
      assert.match(line.key, /generated_images/);
      assert.equal(line[METRICS.imagesGenerated.name], 1);
      assert.equal(typeof line[METRICS.generationLatency.name], "number");
      const directive = line._aws.CloudWatchMetrics[0];
      assert.equal(directive.Namespace, METRICS.namespace);
      assert.deepEqual(
        directive.Metrics.map((m: { Name: string }) => m.Name),
        [METRICS.generationLatency.name, METRICS.imagesGenerated.name],
      );
    });
  });

  describe("model failures become clear answers and store nothing (Titan)", () => {
    const generate = (handler: HttpHandler, prompt = "beach at sunset") =>
      invoke(handler, { method: "POST", path: "/generate", body: json({ prompt }) });
    let before: string[];
    beforeEach(async () => {
      before = await generatedKeys();
    });
    afterEach(async function () {
      if (this.currentTest?.state === "passed") assert.deepEqual(await generatedKeys(), before, "nothing stored after a failure");
    });

    const unavailable: [string, Parameters<Peers["bedrock"]["failNext"]>[0], string][] = [
      ["throttling", "throttle", "throttled"],
      ["model not ready", "model-not-ready", "model-not-ready"],
      ["5xx", "server-error", "service-unavailable"],
    ];
    for (const [name, mode, code] of unavailable) {
      it(`${name} → 503 with Retry-After`, async () => {
        peers.bedrock.failNext(mode);
        const answer = await generate(titanWith());
        assert.equal(answer.status, 503);
        assert.equal(answer.headers["retry-after"], String(DEFAULTS.retryAfterSeconds));
        assert.equal(answer.json.code, code);
        if (code === "throttled")
          assert.match(
            answer.json.error,
            /the Bedrock model amazon\.titan-image-generator-v1 in us-west-2 is throttling calls; retry later/,
          );
        assert.deepEqual(Object.keys(answer.json).sort(), ["code", "error"]);
        assert.doesNotMatch(answer.raw.body, /\bat \S+:\d+|Exception/);
        const line = JSON.parse(logs[0]);
        assert.equal(line.FailureKind, "transient");
        assert.equal(line.Failures, 1);
      });
    }

    const rejected: [string, Parameters<Peers["bedrock"]["failNext"]>[0], string, RegExp, RegExp][] = [
      [
        "content filter",
        "content-filter",
        "content-filtered",
        /^the model's content filter refused the prompt or the picture$/,
        /blocked by our content filters/,
      ],
      [
        "the model's error field",
        "model-error-field",
        "model-error",
        /^the model reported an error about this request and made no picture$/,
        /could not generate an image/,
      ],
    ];
    for (const [name, mode, code, reason, modelsWords] of rejected) {
      it(`${name} → 422 with the reason in our words, the model's in the log`, async () => {
        peers.bedrock.failNext(mode);
        const answer = await generate(titanWith());
        assert.equal(answer.status, 422);
        assert.equal(answer.json.code, code);
        assert.match(answer.json.error, reason);
        assert.doesNotMatch(answer.raw.body, modelsWords);
        assert.match(JSON.parse(logs[0]).error, modelsWords);
        assert.equal(JSON.parse(logs[0]).FailureKind, "permanent");
      });
    }

    it("garbage bodies (HTML, a non-PNG image) → 503 bad-response", async () => {
      peers.bedrock.failNext("garbage", 2);
      for (let i = 0; i < 2; i++) {
        const answer = await generate(titanWith());
        assert.equal(answer.status, 503);
        assert.equal(answer.json.code, "bad-response");
      }
      assert.match(JSON.parse(logs[0]).error, /unreadable body/);
      assert.match(JSON.parse(logs[1]).error, /not a PNG/);
    });

    it("wrong image count (0 or 2) → 503 bad-response", async () => {
      peers.bedrock.failNext("wrong-count", 2);
      for (let i = 0; i < 2; i++) assert.equal((await generate(titanWith())).json.code, "bad-response");
      assert.match(JSON.parse(logs[0]).error, /returned 0 images/);
      assert.match(JSON.parse(logs[1]).error, /returned 2 images/);
    });

    it("access denied → 502 naming the model and the setting to change, without leaking AWS's details", async () => {
      peers.bedrock.failNext("access-denied");
      const answer = await generate(titanWith());
      assert.equal(answer.status, 502);
      assert.equal(answer.json.code, "access-denied");
      assert.match(
        answer.json.error,
        /may not invoke the Bedrock model amazon\.titan-image-generator-v1 in us-west-2; accept the model's agreement \(stack setting acceptModelAgreement/,
      );
      assert.doesNotMatch(answer.raw.body, /don't have access|Exception/);
      assert.match(JSON.parse(logs[0]).error, /don't have access/);
      assert.equal(JSON.parse(logs[0]).FailureKind, "operator");
    });

    it("a model that does not answer in time → 503 timeout", async () => {
      peers.bedrock.failNext("timeout");
      // The invocation has the storing reserve plus 0.3 s left: 0.3 s for the one try.
      const context = timeLeft(DEFAULTS.storeReserveSeconds * 1000 + 300);
      const answer = await invoke(
        titanWith(),
        { method: "POST", path: "/generate", body: json({ prompt: "beach at sunset" }) },
        "http-2.0",
        context,
      );
      assert.equal(answer.status, 503);
      assert.equal(answer.json.code, "timeout");
    });

    it("the SDK retries transient errors a bounded number of times", async () => {
      peers.bedrock.failNext("throttle", 2);
      const recovered = await generate(titanWith({ [ENV.bedrockMaxAttempts]: "3" }));
      assert.equal(recovered.status, 201, recovered.raw.body);
      assert.equal(peers.bedrock.calls.length, 3);
      before = await generatedKeys();

      peers.bedrock.reset();
      peers.bedrock.failNext("server-error", 5);
      const gaveUp = await generate(titanWith({ [ENV.bedrockMaxAttempts]: "2" }));
      assert.equal(gaveUp.status, 503);
      assert.equal(peers.bedrock.calls.length, 2);
    });

    it("permanent errors are not retried", async () => {
      peers.bedrock.failNext("content-filter", 3);
      assert.equal((await generate(titanWith({ [ENV.bedrockMaxAttempts]: "3" }))).status, 422);
      assert.equal(peers.bedrock.calls.length, 1);
    });

    it("S3 refusing the write → 503 storage-failed", async () => {
      const answer = await generate(titanWith({ [ENV.bucket]: "no-such-bucket" }));
      assert.equal(answer.status, 503);
      assert.equal(answer.json.code, "storage-failed");
    });
  });

  describe("POST /images → queue → GET /images/{id} (Titan)", () => {
    const worker = () => createQueueHandler({ ...peers.env, [ENV.modelId]: TITAN }, { log: () => undefined });

    for (const format of PAYLOAD_FORMATS) {
      it(`pending, then done with a URL (${format})`, async () => {
        const api = titanWith();
        const accepted = await invoke(api, { method: "POST", path: "/images", body: json({ prompt: "me on a beach", seed: 77 }) }, format);
        assert.equal(accepted.status, 202, accepted.raw.body);
        const { id, key, statusUrl } = accepted.json;
        assert.equal(key, `${peers.prefix}/images/${id}.png`);
        assert.equal(statusUrl, format === "rest-1.0" ? `/prod/images/${id}` : `/images/${id}`);
        assert.equal(peers.bedrock.calls.length, 0, "POST /images does not wait for the model");

        const pending = await invoke(api, { method: "GET", path: `/images/${id}` }, format);
        assert.equal(pending.status, 202);
        assert.deepEqual(pending.json, { id, status: "pending" });

        const delivery = await deliverBatch(peers.sqs, peers.queueUrl, worker());
        assert.deepEqual(delivery?.response, { batchItemFailures: [] });
        // The job's id rides along in the body; the message has an id of its own.
        assert.equal(JSON.parse(delivery!.event.Records[0].body).jobId, id);
        assert.notEqual(delivery?.event.Records[0].messageId, id);
        assert.deepEqual(JSON.parse(delivery!.event.Records[0].body).prompt, "me on a beach");

        const done = await invoke(api, { method: "GET", path: `/images/${id}` }, format);
        assert.equal(done.status, 200);
        assert.equal(done.json.status, "done");
        assert.equal(done.json.key, key);
        const picture = Buffer.from(await (await fetch(done.json.url)).arrayBuffer());
        assert.deepEqual(readPngHeader(picture), { width: 512, height: 512 });
        assert.equal((await getJson(peers.s3, peers.bucket, key.replace(/\.png$/, ".json"))).seed, 77);
      });
    }

    it("a permanent failure is reported as failed with the reason", async () => {
      peers.bedrock.failWhenPromptIncludes("[blocked]", "content-filter");
      const api = titanWith();
      const { json: accepted } = await invoke(api, {
        method: "POST",
        path: "/images",
        body: json({ prompt: "[blocked] something" }),
      });
      assert.deepEqual((await deliverBatch(peers.sqs, peers.queueUrl, worker()))?.response, { batchItemFailures: [] });
      const failed = await invoke(api, { method: "GET", path: `/images/${accepted.id}` });
      assert.equal(failed.status, 200);
      assert.equal(failed.json.status, "failed");
      assert.match(failed.json.reason, /content filter refused/);
      assert.equal(failed.json.code, "content-filtered");
    });

    it("without QUEUE_URL: POST /images → 500 generic, details only in the log", async () => {
      const env = { ...peers.env };
      delete env[ENV.queueUrl];
      const answer = await invoke(createHttpHandler(env, { log: (l) => logs.push(l) }), {
        method: "POST",
        path: "/images",
        body: json({ prompt: "x" }),
      });
      assert.equal(answer.status, 500);
      assert.deepEqual(answer.json, { error: "internal error", code: "internal" });
      assert.match(JSON.parse(logs[0]).error, /QUEUE_URL/);
    });

    it("S3 failing the status lookup → 503 storage-failed, not a false 'pending'", async () => {
      const answer = await invoke(handlerWith({ [ENV.bucket]: "no-such-bucket" }), {
        method: "GET",
        path: "/images/3ce3b775-378b-47f5-bada-cc1982527121",
      });
      assert.equal(answer.status, 503);
      assert.equal(answer.json.code, "storage-failed");
    });

    it("SQS refusing the message → 503 queue-failed", async () => {
      const answer = await invoke(handlerWith({ [ENV.queueUrl]: `${peers.sqsEndpoint}/123456789012/missing` }), {
        method: "POST",
        path: "/images",
        body: json({ prompt: "x" }),
      });
      assert.equal(answer.status, 503);
      assert.equal(answer.json.code, "queue-failed");
      assert.deepEqual(await receive(peers.sqs, peers.queueUrl), []);
    });
  });

  describe("the default model (Stable Image Core): Stability's request, the pixels it chose, its finish reasons", () => {
    const generate = (body: unknown) => invoke(handlerWith(), { method: "POST", path: "/generate", body: json(body) });

    it("curl's 'Me on top of K2' → 201 with the PNG's real size and the model's seed; Stability's body, no Titan field", async () => {
      const answer = await invoke(handlerWith(), {
        method: "POST",
        path: "/generate",
        body: '{"prompt":"Me on top of K2"}',
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      assert.equal(answer.status, 201, answer.raw.body);
      const [call] = peers.bedrock.calls;
      assertStabilityTextToImage(call, peers.settings.modelId, "Me on top of K2");
      assert.deepEqual(
        [answer.json.model, answer.json.width, answer.json.height, answer.json.seed],
        [peers.settings.modelId, 1024, 1024, call.body.seed],
      );
      const stored = await getObject(peers.s3, peers.bucket, answer.json.key);
      assert.deepEqual(readPngHeader(stored.body), { width: 1024, height: 1024 });
      const sidecar = await getJson(peers.s3, peers.bucket, answer.json.key.replace(/\.png$/, ".json"));
      assert.deepEqual(
        [sidecar.model, sidecar.seed, sidecar.width, sidecar.height, sidecar.aspectRatio, "quality" in sidecar, "cfgScale" in sidecar],
        [peers.settings.modelId, call.body.seed, 1024, 1024, "1:1", false, false],
      );
    });

    it("aspectRatio, or width/height mapped to the nearest documented ratio; negativeText goes as negative_prompt; a given seed is kept", async () => {
      const wide = await generate({
        prompt: "beach at sunset",
        aspectRatio: "21:9",
        negativeText: "people",
        seed: 4294967294,
      });
      assert.equal(wide.status, 201, wide.raw.body);
      assert.deepEqual([wide.json.width, wide.json.height, wide.json.seed], [1536, 640, 4294967294]);
      assert.deepEqual(peers.bedrock.calls[0].body, {
        prompt: "beach at sunset",
        negative_prompt: "people",
        aspect_ratio: "21:9",
        mode: "text-to-image",
        output_format: "png",
        seed: 4294967294,
      });
      const hd = await generate({ prompt: "city at night", width: 1280, height: 720 });
      assert.equal(hd.status, 201, hd.raw.body);
      assert.equal(peers.bedrock.calls[1].body.aspect_ratio, "16:9");
      assert.deepEqual([hd.json.width, hd.json.height], [1344, 768], "the size the model chose, read from the PNG");
    });

    const invalid: [string, unknown, RegExp][] = [
      ["Titan-only fields", { prompt: "x", quality: "premium", cfgScale: 7 }, /Stable Image Core does not take "quality", "cfgScale"/],
      ["seed 0 (the model's 'random')", { prompt: "x", seed: 0 }, /"seed" must be an integer between 1 and 4294967294/],
      ["an undocumented ratio", { prompt: "x", aspectRatio: "4:3" }, /"aspectRatio" must be one of/],
      ["a ratio and a size", { prompt: "x", aspectRatio: "1:1", height: 512 }, /not both/],
      ["a prompt over the model's 10,000 characters", { prompt: "p".repeat(10001) }, /at most 10000 characters \(got 10001\)/],
    ];
    for (const [what, body, message] of invalid) {
      it(`rejects ${what} with a 400, before the model`, async () => {
        const answer = await generate(body);
        assert.equal(answer.status, 400);
        assert.match(answer.json.error, message);
        assert.equal(peers.bedrock.calls.length, 0);
      });
    }

    const refused: [Parameters<Peers["bedrock"]["failNext"]>[0], number, string, RegExp][] = [
      ["filter-prompt", 422, "content-filtered", /content filter refused the picture \(Filter reason: prompt\)/],
      ["filter-output-image", 422, "content-filtered", /Filter reason: output image/],
      ["content-filter", 422, "content-filtered", /Filter reason: prompt/],
      ["inference-error", 503, "inference-error", /failed to finish the picture; retry later/],
    ];
    for (const [mode, status, code, message] of refused) {
      it(`finish reason via ${mode} (HTTP 200 from Bedrock) → ${status} ${code}, nothing stored`, async () => {
        const before = await generatedKeys();
        peers.bedrock.failNext(mode);
        const answer = await generate({ prompt: "a harmless prompt" });
        assert.equal(answer.status, status, answer.raw.body);
        assert.equal(answer.json.code, code);
        assert.match(answer.json.error, message);
        if (status === 503) assert.equal(answer.headers["retry-after"], String(DEFAULTS.retryAfterSeconds));
        assert.equal(peers.bedrock.calls[0].status, 200);
        assert.deepEqual(await generatedKeys(), before);
      });
    }

    it("POST /images → worker → GET /images/{id}: done, at the size the model chose", async () => {
      const api = handlerWith();
      const accepted = await invoke(api, {
        method: "POST",
        path: "/images",
        body: json({ prompt: "snowy cabin", aspectRatio: "9:16" }),
      });
      assert.equal(accepted.status, 202, accepted.raw.body);
      const delivery = await deliverBatch(peers.sqs, peers.queueUrl, createQueueHandler(peers.env, { log: () => undefined }));
      assert.deepEqual(delivery?.response, { batchItemFailures: [] });
      assert.deepEqual(JSON.parse(delivery!.event.Records[0].body), {
        prompt: "snowy cabin",
        aspectRatio: "9:16",
        seed: accepted.json.seed,
        jobId: accepted.json.id,
      });
      const done = await invoke(api, { method: "GET", path: `/images/${accepted.json.id}` });
      assert.equal(done.json.status, "done");
      assert.deepEqual(readPngHeader(Buffer.from(await (await fetch(done.json.url)).arrayBuffer())), {
        width: 768,
        height: 1344,
      });
    });
  });

  describe("operator faults: the deployment's to fix, never the caller's", () => {
    /** The exam's configuration, after Titan's end of life. */
    const retiredEnv = { [ENV.modelId]: TITAN, [ENV.bedrockRegion]: "us-east-1" };

    it("an end-of-life model: POST /generate → 502 naming the model, its region and the setting; nothing stored", async () => {
      const before = await generatedKeys();
      peers.bedrock.failNext("end-of-life");
      const answer = await invoke(handlerWith(retiredEnv), {
        method: "POST",
        path: "/generate",
        body: json({ prompt: "me on top of a pyramid" }),
      });
      assert.equal(answer.status, 502);
      assert.equal(answer.json.code, "model-retired");
      assert.match(
        answer.json.error,
        /^the Bedrock model amazon\.titan-image-generator-v1 in us-east-1 has reached the end of its life; set the stack's modelId \(MODEL_ID\) to an active model such as stability\.stable-image-core-v1:1/,
      );
      assert.doesNotMatch(answer.raw.body, /Exception|\bat \S+:\d+/);
      assert.equal(JSON.parse(logs[0]).FailureKind, "operator");
      assert.deepEqual(await generatedKeys(), before);
    });

    it("an end-of-life model: the job is kept (batchItemFailures) and, after the last delivery, GET /images/{id} says it can be redriven", async () => {
      peers.bedrock.failWhenPromptIncludes("pyramid", "end-of-life");
      const api = handlerWith(retiredEnv);
      const accepted = await invoke(api, {
        method: "POST",
        path: "/images",
        body: json({ prompt: "me on top of a pyramid" }),
      });
      assert.equal(accepted.status, 202);
      const worker = createQueueHandler({ ...peers.env, ...retiredEnv, [ENV.maxReceiveCount]: "1" }, { log: () => undefined });
      const delivery = await deliverBatch(peers.sqs, peers.queueUrl, worker, { visibilityTimeoutSeconds: 1 });
      const [record] = delivery!.event.Records;
      assert.equal(JSON.parse(record.body).jobId, accepted.json.id);
      assert.deepEqual(delivery?.response.batchItemFailures, [{ itemIdentifier: record.messageId }], "kept: it goes to the DLQ intact");
      const failed = await invoke(api, { method: "GET", path: `/images/${accepted.json.id}` });
      assert.equal(failed.status, 200);
      assert.deepEqual([failed.json.status, failed.json.code, failed.json.redrivable], ["failed", "model-retired", true]);
      assert.match(failed.json.reason, /amazon\.titan-image-generator-v1 in us-east-1 has reached the end of its life/);
      assert.match(failed.json.reason, /kept in the dead-letter queue; redrive it once the cause is fixed/);
      // Delivered again from the work queue (its redrive limit is higher than this worker's last
      // delivery), the same job turns into a picture once the model is an active one.
      peers.bedrock.reset();
      const redrive = await deliverBatch(peers.sqs, peers.queueUrl, createQueueHandler(peers.env, { log: () => undefined }), {
        waitTimeSeconds: 3,
      });
      assert.deepEqual(redrive?.response, { batchItemFailures: [] });
      assert.equal((await invoke(api, { method: "GET", path: `/images/${accepted.json.id}` })).json.status, "done");
    });

    it("a model id Bedrock does not know there → 502 model-not-found naming modelId and bedrockRegion", async () => {
      const answer = await invoke(handlerWith({ [ENV.modelId]: "stability.stable-image-ultra-v1:0" }), {
        method: "POST",
        path: "/generate",
        body: json({ prompt: "x" }),
      });
      assert.equal(answer.status, 502);
      assert.equal(answer.json.code, "model-not-found");
      assert.match(
        answer.json.error,
        /stability\.stable-image-ultra-v1:0 in us-west-2 does not exist there; check the stack's modelId and bedrockRegion/,
      );
    });
  });

  describe("configuration errors", () => {
    it("missing BUCKET_NAME → 500 generic answer, the variable named in the log", async () => {
      const handler = createHttpHandler({ [ENV.prefix]: "p" }, { log: (l) => logs.push(l) });
      const answer = await invoke(handler, { method: "POST", path: "/generate", body: json({ prompt: "x" }) });
      assert.equal(answer.status, 500);
      assert.deepEqual(answer.json, { error: "internal error", code: "internal" });
      assert.ok(logs.some((l) => /BUCKET_NAME/.test(JSON.parse(l).error)));
    });

    it("a model id without an adapter → 500, named in the log", async () => {
      const handler = createHttpHandler({ ...peers.env, [ENV.modelId]: "stability.sd3-large-v1:0" }, { log: (l) => logs.push(l) });
      const answer = await invoke(handler, { method: "POST", path: "/generate", body: json({ prompt: "x" }) });
      assert.equal(answer.status, 500);
      assert.ok(logs.some((l) => /no request adapter for model "stability.sd3-large-v1:0"/.test(JSON.parse(l).error)));
    });

    it("routing answers still work while misconfigured", async () => {
      const handler = createHttpHandler({}, { log: () => undefined });
      assert.equal((await invoke(handler, { method: "GET", path: "/nope" })).status, 404);
      assert.equal((await invoke(handler, { method: "PUT", path: "/generate" })).status, 405);
    });
  });
});
