import { strict as assert } from "node:assert";
import { encodePng } from "../../local/png";
import {
  adapterFor,
  classifyBedrockError,
  ConfigError,
  DEFAULTS,
  ENV,
  GenerationError,
  mapWithConcurrency,
  METRICS,
  parseQueueBody,
  readConfig,
  validateImageRequest,
} from "../../runtime";
import { decodeModelAnswer } from "../../runtime/bedrock";
import { seedFromJobId } from "../../runtime/jobs";
import { emfFields } from "../../runtime/metrics";
import { pngSize } from "../../runtime/png";

describe("runtime building blocks", () => {
  describe("model adapters", () => {
    it("one TEXT_IMAGE adapter family per model, chosen by id (inference profiles included)", () => {
      assert.equal(adapterFor("amazon.titan-image-generator-v1").family, "Titan Image Generator v1");
      assert.equal(adapterFor("amazon.titan-image-generator-v2:0").family, "Titan Image Generator v2");
      assert.equal(adapterFor("amazon.nova-canvas-v1:0").family, "Nova Canvas");
      assert.equal(adapterFor("us.amazon.nova-canvas-v1:0").family, "Nova Canvas");
      assert.throws(() => adapterFor("amazon.titan-image-generator-v10"), ConfigError);
      assert.throws(() => adapterFor("stability.sd3-large-v1:0"), /no request adapter/);
    });

    it("each model keeps its own seed range and sizes", () => {
      const titan = adapterFor(DEFAULTS.modelId);
      const nova = adapterFor("amazon.nova-canvas-v1:0");
      assert.deepEqual(titan.seed, { min: 0, max: 2147483647 });
      assert.deepEqual(nova.seed, { min: 0, max: 858993459 });
      assert.ok(titan.isAllowedSize(1173, 640) && !titan.isAllowedSize(1024, 512));
      assert.ok(nova.isAllowedSize(1024, 512) && !nova.isAllowedSize(1000, 1000) && !nova.isAllowedSize(2048, 320));
    });

    it("reads images and the model's error field; rejects unknown shapes", () => {
      const titan = adapterFor(DEFAULTS.modelId);
      assert.deepEqual(titan.parseResponse({ images: ["QQ=="], error: null }), { images: ["QQ=="] });
      assert.deepEqual(titan.parseResponse({ images: [], error: "nope" }), { images: [], error: "nope" });
      assert.throws(() => titan.parseResponse([1]), /not a JSON object/);
      assert.throws(() => titan.parseResponse({ artifacts: [] }), /no images array/);
    });
  });

  describe("decoding the model's answer", () => {
    const titan = adapterFor(DEFAULTS.modelId);
    const params = { prompt: "p", width: 2, height: 2, quality: "standard" as const, cfgScale: 8, seed: 1 };
    const answer = (body: unknown) => Buffer.from(JSON.stringify(body));
    const png = encodePng(2, 2, Buffer.alloc(16, 255));

    it("returns the PNG of the requested size", () => {
      assert.ok(decodeModelAnswer(titan, answer({ images: [png.toString("base64")], error: null }), params).equals(png));
    });

    it("classifies each bad answer", () => {
      const cases: [Uint8Array, string, string, RegExp][] = [
        [Buffer.from("<html>"), "transient", "bad-response", /unreadable body/],
        [answer({ images: [], error: "filtered" }), "permanent", "model-error", /filtered/],
        [answer({ images: [png.toString("base64"), png.toString("base64")] }), "transient", "bad-response", /2 images/],
        [answer({ images: [Buffer.from("GIF89a").toString("base64")] }), "transient", "bad-response", /not a PNG/],
        [answer({ images: [encodePng(3, 2, Buffer.alloc(24)).toString("base64")] }), "transient", "bad-response", /3x2 PNG, expected 2x2/],
      ];
      for (const [raw, kind, code, message] of cases) {
        assert.throws(() => decodeModelAnswer(titan, raw, params), (err: GenerationError) => {
          assert.deepEqual([err.kind, err.code], [kind, code]);
          assert.match(err.message, message);
          return true;
        });
      }
    });

    it("pngSize reads IHDR and refuses anything else", () => {
      assert.deepEqual(pngSize(png), { width: 2, height: 2 });
      assert.equal(pngSize(Buffer.from("not a png at all, long enough to have a header")), undefined);
      assert.equal(pngSize(png.subarray(0, 20)), undefined);
    });
  });

  describe("error classification", () => {
    const sdkError = (name: string, status: number, message = name) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
    const cases: [unknown, string, string][] = [
      [sdkError("ThrottlingException", 429), "transient", "throttled"],
      [sdkError("ModelNotReadyException", 429), "transient", "model-not-ready"],
      [sdkError("ModelTimeoutException", 408), "transient", "timeout"],
      [sdkError("InternalServerException", 500), "transient", "service-unavailable"],
      [sdkError("ServiceUnavailableException", 503), "transient", "service-unavailable"],
      [sdkError("ValidationException", 400, "This request has been blocked by our content filters."), "permanent", "content-filtered"],
      [sdkError("ValidationException", 400, "Malformed input request"), "permanent", "invalid-request"],
      [sdkError("AccessDeniedException", 403), "permanent", "access-denied"],
      [sdkError("ResourceNotFoundException", 404), "permanent", "model-not-found"],
      [sdkError("SomethingNew", 418), "permanent", "invalid-request"],
      [sdkError("SomethingNew", 502), "transient", "service-unavailable"],
      [Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), "transient", "service-unavailable"],
      [Object.assign(new Error("timed out"), { name: "TimeoutError" }), "transient", "timeout"],
      ["a string", "transient", "service-unavailable"],
    ];
    for (const [err, kind, code] of cases) {
      it(`${(err as Error).name ?? err} ${(err as { $metadata?: { httpStatusCode: number } }).$metadata?.httpStatusCode ?? ""} → ${kind} ${code}`, () => {
        const classified = classifyBedrockError(err);
        assert.deepEqual([classified.kind, classified.code], [kind, code]);
      });
    }
  });

  describe("requests", () => {
    const titan = adapterFor(DEFAULTS.modelId);
    const opts = { defaultSize: 512, maxSide: 1024 };

    it("fills in the original code's defaults and a random seed in range", () => {
      const result = validateImageRequest({ prompt: "  beach  " }, titan, opts);
      assert.ok(result.ok);
      const { seed, ...rest } = result.params;
      assert.deepEqual(rest, { prompt: "beach", width: 512, height: 512, quality: "standard", cfgScale: 8 });
      assert.ok(Number.isInteger(seed) && seed >= 0 && seed <= 2147483647);
    });

    it("one given side makes a square", () => {
      const result = validateImageRequest({ prompt: "x", width: 1024 }, titan, opts);
      assert.ok(result.ok && result.params.height === 1024);
    });

    it("a job id gives the same seed every time, inside the model's range", () => {
      const nova = adapterFor("amazon.nova-canvas-v1:0");
      const a = seedFromJobId("3ce3b775-378b-47f5-bada-cc1982527121");
      assert.equal(a(nova), a(nova));
      assert.ok(a(nova) <= nova.seed.max);
      assert.notEqual(a(titan), seedFromJobId("another-id")(titan));
    });

    it("queue bodies: plain text is a prompt, a JSON object is a request", () => {
      assert.deepEqual(parseQueueBody("me on top of a pyramid"), { input: { prompt: "me on top of a pyramid" }, format: "text" });
      assert.deepEqual(parseQueueBody('{"prompt":"x","width":1024}'), { input: { prompt: "x", width: 1024 }, format: "json" });
      assert.deepEqual(parseQueueBody('{not json'), { input: { prompt: "{not json" }, format: "text" });
      assert.deepEqual(parseQueueBody('"quoted"'), { input: { prompt: '"quoted"' }, format: "text" });
      assert.deepEqual(parseQueueBody(undefined), { input: { prompt: "" }, format: "text" });
    });
  });

  describe("configuration", () => {
    const base = { [ENV.bucket]: "b", [ENV.prefix]: "/cand/" };

    it("requires BUCKET_NAME and IMAGE_PREFIX, naming the missing one", () => {
      assert.throws(() => readConfig({ [ENV.prefix]: "p" }), /BUCKET_NAME is required/);
      assert.throws(() => readConfig({ [ENV.bucket]: "b", [ENV.prefix]: "  " }), /IMAGE_PREFIX is required/);
      assert.throws(() => readConfig({ [ENV.bucket]: "b", [ENV.prefix]: "a/../b" }), ConfigError);
      assert.throws(() => readConfig({ [ENV.bucket]: "b", [ENV.prefix]: "cand/*" }), /IMAGE_PREFIX must be a non-empty key prefix without "\*" or "\.\."/);
      assert.throws(() => readConfig({ [ENV.bucket]: "b", [ENV.prefix]: "///" }), /IMAGE_PREFIX must be a non-empty key prefix/);
    });

    it("applies DEFAULTS and trims the prefix", () => {
      const config = readConfig(base);
      assert.equal(config.prefix, "cand");
      assert.deepEqual(
        [config.modelId, config.bedrockRegion, config.urlExpirySeconds, config.workerConcurrency, config.bedrockMaxAttempts, config.queueUrl],
        [DEFAULTS.modelId, DEFAULTS.bedrockRegion, DEFAULTS.urlExpirySeconds, DEFAULTS.workerConcurrency, DEFAULTS.bedrockMaxAttempts, undefined],
      );
    });

    it("rejects numbers that make no sense", () => {
      assert.throws(() => readConfig({ ...base, [ENV.workerConcurrency]: "0" }), /WORKER_CONCURRENCY must be an integer in \[1, 50\], got "0"/);
      assert.throws(() => readConfig({ ...base, [ENV.urlExpirySeconds]: "soon" }), /URL_EXPIRY_SECONDS/);
    });
  });

  describe("embedded metric format", () => {
    it("success: latency and count with the Service dimension only", () => {
      const fields = emfFields({ generationLatencyMs: 812.4, imagesGenerated: 1 }, "couch-explorers-dev", 1700000000000) as any;
      assert.deepEqual(fields._aws, {
        Timestamp: 1700000000000,
        CloudWatchMetrics: [
          { Namespace: "CouchExplorers", Dimensions: [["Service"]], Metrics: [{ Name: "GenerationLatency", Unit: "Milliseconds" }, { Name: "ImagesGenerated", Unit: "Count" }] },
        ],
      });
      assert.equal(fields.GenerationLatency, 812);
      assert.equal(fields.ImagesGenerated, 1);
      assert.equal(fields.Service, "couch-explorers-dev");
    });

    it("failure: Failures with the Service and FailureKind dimensions (Service defaults)", () => {
      const fields = emfFields({ failureKind: "transient" }) as any;
      assert.deepEqual(fields._aws.CloudWatchMetrics, [
        { Namespace: METRICS.namespace, Dimensions: [["Service", "FailureKind"]], Metrics: [{ Name: "Failures", Unit: "Count" }] },
      ]);
      assert.deepEqual([fields.FailureKind, fields.Failures, fields.Service], ["transient", 1, DEFAULTS.metricsService]);
      assert.deepEqual(emfFields({}), {});
    });
  });

  describe("mapWithConcurrency", () => {
    it("keeps order and never exceeds the limit", async () => {
      let inFlight = 0;
      let most = 0;
      const results = await mapWithConcurrency([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
        inFlight++;
        most = Math.max(most, inFlight);
        for (let i = 0; i < n; i++) await Promise.resolve();
        inFlight--;
        return n * 10;
      });
      assert.deepEqual(results, [50, 10, 40, 20, 30, 0, 60]);
      assert.equal(most, 3);
      assert.deepEqual(await mapWithConcurrency([], 4, async () => 1), []);
    });
  });
});
