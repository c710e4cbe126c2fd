import { strict as assert } from "node:assert";
import { encodePng } from "../../local/fakes/png";
import {
  adapterFor,
  classifyBedrockError,
  ConfigError,
  DEFAULTS,
  ENV,
  ClassifiedError,
  mapWithConcurrency,
  METRICS,
  parseQueueBody,
  readConfig,
  requireSettings,
  toHandlerEnv,
  validateImageRequest,
} from "../../runtime";
import { decodeModelAnswer } from "../../runtime/bedrock";
import { toClassifiedError, logMessage } from "../../runtime/errors";
import { jobOfRecord, nearestAspectRatio, seedFromJobId } from "../../runtime/jobs";
import { codePointLength, excerpt } from "../../runtime/text";
import type { ModelAdapter } from "../../runtime/models";
import { emfFields } from "../../runtime/metrics";
import { pngSize } from "../../runtime/png";
import { TITAN } from "../support/models";

const allowed = (adapter: ModelAdapter, w: number, h: number) => adapter.sizing.kind === "pixels" && adapter.sizing.isAllowed(w, h);
const png = encodePng(2, 2, Buffer.alloc(16, 255));
const answer = (body: unknown) => Buffer.from(JSON.stringify(body));

/** Runs `fn` and checks the ClassifiedError it throws. */
function throwsClassifiedError(fn: () => unknown, kind: string, code: string, message: RegExp): void {
  assert.throws(fn, (err: ClassifiedError) => {
    assert.ok(err instanceof ClassifiedError, String(err));
    assert.deepEqual([err.kind, err.code], [kind, code]);
    assert.match(err.message, message);
    return true;
  });
}

/** Stability AI's Stable Image Core, the model most of these tests are about. */
const STABLE_IMAGE_CORE = "stability.stable-image-core-v1:1";

describe("runtime building blocks", () => {
  describe("model adapters", () => {
    it("one adapter family per model, chosen by id (inference profiles included)", () => {
      assert.equal(adapterFor(STABLE_IMAGE_CORE).family, "Stable Image Core");
      assert.equal(adapterFor("stability.stable-image-ultra-v1:1").family, "Stable Image Ultra");
      assert.equal(adapterFor("stability.sd3-5-large-v1:0").family, "Stable Diffusion 3.5 Large");
      assert.equal(adapterFor("amazon.titan-image-generator-v1").family, "Titan Image Generator v1");
      assert.equal(adapterFor("amazon.titan-image-generator-v2:0").family, "Titan Image Generator v2");
      assert.equal(adapterFor("amazon.nova-canvas-v1:0").family, "Nova Canvas");
      assert.equal(adapterFor("us.amazon.nova-canvas-v1:0").family, "Nova Canvas");
      assert.throws(() => adapterFor("amazon.titan-image-generator-v10"), ConfigError);
      assert.throws(() => adapterFor("stability.sd3-large-v1:0"), /no request adapter/);
    });

    it("each model keeps its own seed range and sizes", () => {
      const titan = adapterFor(TITAN);
      const nova = adapterFor("amazon.nova-canvas-v1:0");
      const core = adapterFor(STABLE_IMAGE_CORE);
      assert.deepEqual(titan.seed, { min: 0, max: 2147483647 });
      assert.deepEqual(nova.seed, { min: 0, max: 858993459 });
      // 0 would ask Stability's models for a random seed, so a chosen seed is never 0.
      assert.deepEqual(core.seed, { min: 1, max: 4294967294 });
      assert.ok(allowed(titan, 1173, 640) && !allowed(titan, 1024, 512));
      assert.ok(allowed(nova, 1024, 512) && !allowed(nova, 1000, 1000) && !allowed(nova, 2048, 320));
      assert.equal(core.sizing.kind, "aspect-ratio");
      assert.deepEqual(core.sizing.kind === "aspect-ratio" && [...core.sizing.ratios].sort(), [
        "16:9",
        "1:1",
        "21:9",
        "2:3",
        "3:2",
        "4:5",
        "5:4",
        "9:16",
        "9:21",
      ]);
      assert.equal(core.maxPromptLength, 10000);
    });

    it("only Stability's models are sold through AWS Marketplace, and only Titan / Nova take quality and cfgScale", () => {
      for (const id of [STABLE_IMAGE_CORE, "stability.stable-image-ultra-v1:1", "stability.sd3-5-large-v1:0"]) {
        const a = adapterFor(id);
        assert.deepEqual([a.marketplace, a.takesQuality, a.cfgScale, a.negativeText], [true, false, undefined, { min: 1, max: 10000 }], id);
      }
      for (const id of [TITAN, "amazon.titan-image-generator-v2:0", "amazon.nova-canvas-v1:0"]) {
        const a = adapterFor(id);
        assert.deepEqual([a.marketplace, a.takesQuality, a.cfgScale], [false, true, { min: 1.1, max: 10 }], id);
      }
    });

    it("TEXT_IMAGE: reads images; the model's error field is a permanent model-error; rejects unknown shapes", () => {
      const titan = adapterFor(TITAN);
      assert.deepEqual(titan.parseResponse({ images: ["QQ=="], error: null }), { images: ["QQ=="] });
      throwsClassifiedError(
        () => titan.parseResponse({ images: [], error: "nope" }),
        "permanent",
        "model-error",
        /^the model reported an error about this request and made no picture$/,
      );
      assert.throws(
        () => titan.parseResponse({ images: [], error: "nope" }),
        (err: ClassifiedError) => (err.cause as Error).message === "nope",
      );
      assert.throws(() => titan.parseResponse([1]), /not a JSON object/);
      assert.throws(() => titan.parseResponse({ artifacts: [] }), /no images array/);
    });

    it("Stability: builds the documented body, never a Titan field", () => {
      const core = adapterFor(STABLE_IMAGE_CORE);
      assert.deepEqual(core.buildBody({ prompt: "K2", negativeText: "fog", aspectRatio: "16:9", seed: 7 }), {
        prompt: "K2",
        negative_prompt: "fog",
        aspect_ratio: "16:9",
        mode: "text-to-image",
        output_format: "png",
        seed: 7,
      });
      assert.deepEqual(core.buildBody({ prompt: "K2", seed: 7 }), {
        prompt: "K2",
        aspect_ratio: "1:1",
        mode: "text-to-image",
        output_format: "png",
        seed: 7,
      });
    });

    it("Stability: reads seeds[0]; a non-null finish reason is a failure even with an image", () => {
      const core = adapterFor(STABLE_IMAGE_CORE);
      assert.deepEqual(core.parseResponse({ seeds: [42], finish_reasons: [null], images: ["QQ=="] }), {
        images: ["QQ=="],
        seed: 42,
      });
      assert.deepEqual(core.parseResponse({ seeds: ["43"], finish_reasons: [null], images: ["QQ=="] }), {
        images: ["QQ=="],
        seed: 43,
      });
      for (const reason of ["Filter reason: prompt", "Filter reason: output image", "Filter reason: input image"]) {
        throwsClassifiedError(
          () => core.parseResponse({ seeds: [1], finish_reasons: [reason], images: ["QQ=="] }),
          "permanent",
          "content-filtered",
          new RegExp(reason),
        );
      }
      throwsClassifiedError(
        () => core.parseResponse({ finish_reasons: ["Filter reason: prompt"] }),
        "permanent",
        "content-filtered",
        /content filter/,
      );
      throwsClassifiedError(
        () => core.parseResponse({ seeds: [1], finish_reasons: ["Inference error"], images: ["QQ=="] }),
        "transient",
        "inference-error",
        /Inference error/,
      );
      assert.throws(() => core.parseResponse({ seeds: [1], finish_reasons: [null] }), /no images array/);
    });
  });

  describe("decoding the model's answer", () => {
    const titan = adapterFor(TITAN);
    const params = { prompt: "p", width: 2, height: 2, quality: "standard" as const, cfgScale: 8, seed: 1 };

    it("returns the PNG of the requested size, its size and the seed", () => {
      const image = decodeModelAnswer(titan, answer({ images: [png.toString("base64")], error: null }), params);
      assert.ok(image.png.equals(png));
      assert.deepEqual([image.width, image.height, image.seed], [2, 2, 1]);
    });

    it("Stability: any valid PNG is accepted at the size the model chose, with the model's seed", () => {
      const core = adapterFor(STABLE_IMAGE_CORE);
      const wide = encodePng(3, 2, Buffer.alloc(24, 255));
      const image = decodeModelAnswer(core, answer({ seeds: [99], finish_reasons: [null], images: [wide.toString("base64")] }), {
        prompt: "p",
        aspectRatio: "3:2",
        seed: 5,
      });
      assert.deepEqual([image.width, image.height, image.seed], [3, 2, 99]);
      throwsClassifiedError(
        () =>
          decodeModelAnswer(
            core,
            answer({ seeds: [99], finish_reasons: ["Filter reason: output image"], images: [wide.toString("base64")] }),
            { prompt: "p", seed: 5 },
          ),
        "permanent",
        "content-filtered",
        /output image/,
      );
    });

    it("classifies each bad answer", () => {
      const cases: [Uint8Array, string, string, RegExp][] = [
        [Buffer.from("<html>"), "transient", "bad-response", /unreadable body/],
        [answer({ images: [], error: "filtered" }), "permanent", "model-error", /reported an error about this request/],
        [answer({ images: [png.toString("base64"), png.toString("base64")] }), "transient", "bad-response", /2 images/],
        [answer({ images: [Buffer.from("GIF89a").toString("base64")] }), "transient", "bad-response", /not a PNG/],
        [answer({ images: [encodePng(3, 2, Buffer.alloc(24)).toString("base64")] }), "transient", "bad-response", /3x2 PNG, expected 2x2/],
      ];
      for (const [raw, kind, code, message] of cases) {
        assert.throws(
          () => decodeModelAnswer(titan, raw, params),
          (err: ClassifiedError) => {
            assert.deepEqual([err.kind, err.code], [kind, code]);
            assert.match(err.message, message);
            return true;
          },
        );
      }
    });

    it("pngSize reads IHDR and refuses anything else", () => {
      assert.deepEqual(pngSize(png), { width: 2, height: 2 });
      assert.equal(pngSize(Buffer.from("not a png at all, long enough to have a header")), undefined);
      assert.equal(pngSize(png.subarray(0, 20)), undefined);
    });
  });

  describe("error classification", () => {
    const sdkError = (name: string, status: number, message = name) =>
      Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
    const cases: [unknown, string, string][] = [
      [sdkError("ThrottlingException", 429), "transient", "throttled"],
      [sdkError("ModelNotReadyException", 429), "transient", "model-not-ready"],
      [sdkError("ModelTimeoutException", 408), "transient", "timeout"],
      [sdkError("InternalServerException", 500), "transient", "service-unavailable"],
      [sdkError("ServiceUnavailableException", 503), "transient", "service-unavailable"],
      [sdkError("ValidationException", 400, "This request has been blocked by our content filters."), "permanent", "content-filtered"],
      [sdkError("ValidationException", 400, "Malformed input request"), "permanent", "invalid-request"],
      [sdkError("AccessDeniedException", 403), "operator", "access-denied"],
      [sdkError("ResourceNotFoundException", 404), "operator", "model-not-found"],
      [
        sdkError(
          "ResourceNotFoundException",
          404,
          "This model version has reached the end of its life. Please refer to the AWS documentation for more details.",
        ),
        "operator",
        "model-retired",
      ],
      [sdkError("ValidationException", 400, "Operation not allowed"), "operator", "access-denied"],
      [sdkError("UnrecognizedClientException", 403), "operator", "access-denied"],
      [sdkError("SomethingNew", 418), "permanent", "invalid-request"],
      [sdkError("SomethingNew", 502), "transient", "service-unavailable"],
      [Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), "transient", "service-unavailable"],
      [Object.assign(new Error("timed out"), { name: "TimeoutError" }), "transient", "timeout"],
      ["a string", "transient", "service-unavailable"],
    ];
    for (const [err, kind, code] of cases) {
      it(`${(err as Error).name ?? err} ${(err as { $metadata?: { httpStatusCode: number } }).$metadata?.httpStatusCode ?? ""} ${code === "model-retired" ? "(end of life) " : ""}→ ${kind} ${code}`, () => {
        const classified = classifyBedrockError(err);
        assert.deepEqual([classified.kind, classified.code], [kind, code]);
      });
    }

    it("operator faults and throttling name the model, its region and the setting to change; the service's words stay in the cause", () => {
      const model = { modelId: TITAN, region: "us-east-1" };
      const retired = classifyBedrockError(
        sdkError("ResourceNotFoundException", 404, "This model version has reached the end of its life."),
        model,
      );
      assert.match(
        retired.message,
        /amazon\.titan-image-generator-v1 in us-east-1 has reached the end of its life; set the stack's modelId \(MODEL_ID\) to an active model such as stability\.stable-image-core-v1:1/,
      );
      assert.equal((retired.cause as Error).message, "This model version has reached the end of its life.");
      const denied = classifyBedrockError(
        sdkError("AccessDeniedException", 403, "User: arn:aws:sts::123456789012:assumed-role/x is not authorized"),
        model,
      );
      assert.match(
        denied.message,
        /may not invoke the Bedrock model amazon\.titan-image-generator-v1 in us-east-1; accept the model's agreement \(stack setting acceptModelAgreement/,
      );
      assert.doesNotMatch(denied.message, /123456789012/);
      const missing = classifyBedrockError(sdkError("ResourceNotFoundException", 404), model);
      assert.match(missing.message, /check the stack's modelId and bedrockRegion \(MODEL_ID, BEDROCK_REGION\)/);
      const throttled = classifyBedrockError(sdkError("ThrottlingException", 429), model);
      assert.match(throttled.message, /amazon\.titan-image-generator-v1 in us-east-1 is throttling calls; retry later/);
    });

    it("every message is ours: how long we waited and how often we tried; the SDK's and the service's words only in the log", () => {
      const model = { modelId: STABLE_IMAGE_CORE, region: "us-west-2", timeoutMs: 8666, attempts: 3 };
      const smithy = "@smithy/node-http-handler - [ERROR] a request has exceeded the configured 8666 ms requestTimeout.";
      const cases: [unknown, RegExp][] = [
        [
          Object.assign(new Error(smithy), { name: "TimeoutError", $metadata: { attempts: 3 } }),
          /^the model stability\.stable-image-core-v1:1 did not answer within 8\.7 s, 3 tries$/,
        ],
        [Object.assign(new Error("aborted"), { name: "AbortError", $metadata: { attempts: 1 } }), /did not answer within 8\.7 s, 1 try$/],
        [
          sdkError("ModelTimeoutException", 408, "Model has timed out in processing the request."),
          /timed out while drawing the picture, 3 tries$/,
        ],
        [sdkError("ModelNotReadyException", 429, "Model is not ready"), /was not ready to take calls, 3 tries$/],
        [
          sdkError("InternalServerException", 500, "We encountered an internal error at arn:aws:bedrock"),
          /^the Bedrock service did not answer usefully \(HTTP 500\), 3 tries$/,
        ],
        [Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), /\(no connection\), 3 tries$/],
        [
          sdkError("ValidationException", 400, "Malformed input request: #/prompt: expected maxLength: 10000"),
          /^the model refused the request as invalid; check the prompt and its parameters$/,
        ],
        [
          sdkError("ValidationException", 400, "This request has been blocked by our content filters."),
          /^the model's content filter refused the prompt or the picture$/,
        ],
        [sdkError("SomethingNew", 418, "I'm a teapot at arn:aws:x"), /^the Bedrock service refused the request \(HTTP 418\)/],
      ];
      for (const [err, ours] of cases) {
        const classified = classifyBedrockError(err, model);
        assert.match(classified.message, ours);
        const raw = (err as Error).message;
        assert.ok(!classified.message.includes(raw), `${raw} reached the message`);
        assert.ok(logMessage(classified).includes(raw), "the raw words are in the log line");
      }
      // Without a configured wait (a caller that does not say), still our words.
      assert.match(
        classifyBedrockError(Object.assign(new Error(smithy), { name: "TimeoutError" })).message,
        /^the model did not answer in time$/,
      );
    });

    it("failures outside the model call say which step failed, with S3's or SQS's words only in the cause", () => {
      const s3 = toClassifiedError(
        Object.assign(new Error("The specified bucket does not exist"), { $metadata: { httpStatusCode: 404 } }),
        "storage-failed",
      );
      assert.deepEqual(
        [s3.kind, s3.code, s3.message],
        ["transient", "storage-failed", "the object store (S3) did not complete the request (HTTP 404)"],
      );
      assert.match(logMessage(s3), /\(The specified bucket does not exist\)$/);
      assert.equal(toClassifiedError(new Error("x"), "queue-failed").message, "the queue (SQS) did not take the job");
      assert.equal(toClassifiedError("a string").message, "an internal error stopped the job");
      assert.equal(logMessage(toClassifiedError("a string")), "an internal error stopped the job (a string)");
    });
  });

  describe("requests", () => {
    const titan = adapterFor(TITAN);
    const core = adapterFor(STABLE_IMAGE_CORE);
    const opts = { defaultSize: 512, maxSide: 1024 };
    const params = (input: unknown, adapter = core, options: Parameters<typeof validateImageRequest>[2] = opts) => {
      const result = validateImageRequest(input, adapter, options);
      if (!result.ok) assert.fail(result.message);
      return result.params;
    };
    const rejection = (input: unknown, adapter = core) => {
      const result = validateImageRequest(input, adapter, opts);
      assert.ok(!result.ok, "expected a rejection");
      return result.message;
    };

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

    it("Stability: aspect ratio 1:1 by default, never quality or cfgScale, a random seed in 1..4294967294", () => {
      const { seed, ...rest } = params({ prompt: "  me on top of K2  " });
      assert.deepEqual(rest, { prompt: "me on top of K2", aspectRatio: "1:1" });
      assert.ok(Number.isInteger(seed) && seed >= 1 && seed <= 4294967294);
      assert.match(rejection({ prompt: "x", seed: 0 }), /"seed" must be an integer between 1 and 4294967294/);
      assert.equal(params({ prompt: "x", seed: 4294967294 }).seed, 4294967294);
    });

    it("Stability: a documented aspectRatio, or width/height mapped to the nearest ratio", () => {
      assert.equal(params({ prompt: "x", aspectRatio: "9:21" }).aspectRatio, "9:21");
      const mapped: [number, number, string][] = [
        [512, 512, "1:1"],
        [1024, 576, "16:9"],
        [1280, 720, "16:9"],
        [1536, 640, "21:9"],
        [768, 1152, "2:3"],
        [1152, 768, "3:2"],
        [1280, 1024, "5:4"],
        [800, 1000, "4:5"],
        [720, 1280, "9:16"],
        [640, 1536, "9:21"],
        [1000, 1, "21:9"],
      ];
      for (const [width, height, ratio] of mapped) {
        const p = params({ prompt: "x", width, height });
        assert.deepEqual([p.aspectRatio, p.width, p.height], [ratio, undefined, undefined], `${width}x${height}`);
      }
      assert.equal(params({ prompt: "x", width: 1024 }).aspectRatio, "1:1");
      assert.equal(nearestAspectRatio(2, 1, ["1:1", "21:9", "16:9"]), "16:9");
      assert.match(
        rejection({ prompt: "x", aspectRatio: "4:3" }),
        /"aspectRatio" must be one of 21:9, 16:9, 3:2, 5:4, 1:1, 4:5, 2:3, 9:16, 9:21/,
      );
      assert.match(rejection({ prompt: "x", aspectRatio: "1:1", width: 512 }), /give "aspectRatio" or "width"\/"height", not both/);
      assert.match(rejection({ prompt: "x", width: 2048, height: 1024 }), /"width" must be an integer between 1 and 1536/);
    });

    it("Stability: Titan-only fields are refused by the API and dropped from queued jobs", () => {
      assert.match(rejection({ prompt: "x", quality: "premium", cfgScale: 6 }), /Stable Image Core does not take "quality", "cfgScale"/);
      const queued = params({ prompt: "x", width: 512, height: 512, quality: "standard", cfgScale: 8, seed: 5 }, core, {
        ...opts,
        dropUnsupported: true,
      });
      assert.deepEqual(queued, { prompt: "x", aspectRatio: "1:1", seed: 5 });
      assert.match(rejection({ prompt: "x", aspectRatio: "1:1" }, titan), /Titan Image Generator v1 does not take "aspectRatio"/);
      assert.equal(params({ prompt: "x".repeat(10000), negativeText: "n" }).negativeText, "n");
      assert.match(rejection({ prompt: "x".repeat(10001) }), /at most 10000 characters/);
    });

    it("prompt lengths count characters (code points): 512 emoji are 512 characters", () => {
      const emoji = "\u{1F5FB}"; // 🗻, two UTF-16 units
      assert.equal(params({ prompt: emoji.repeat(512) }, titan).prompt, emoji.repeat(512));
      assert.match(rejection({ prompt: emoji.repeat(513) }, titan), /at most 512 characters \(got 513\)/);
      assert.match(rejection({ prompt: "ok", negativeText: "\u{1F981}\u{1F981}" }, titan), /"negativeText" must be at least 3 characters/);
      assert.equal(codePointLength("e\u0301\u{1F5FB}x"), 4, "combining marks are characters of their own; an astral one is one");
    });

    it("records keep the first characters and the whole length, never half a character", () => {
      const lion = "\u{1F981}";
      assert.deepEqual(excerpt("short", 2000), { text: "short", length: 5 });
      const cut = excerpt(`${"a".repeat(1999)}${lion}${lion}tail`, 2000);
      assert.deepEqual(cut, { text: `${"a".repeat(1999)}${lion}`, length: 2005 });
      assert.deepEqual(excerpt(lion.repeat(3000), 2000), { text: lion.repeat(2000), length: 3000 });
    });

    it("a queue record's job: the body's jobId, else the message id; the request comes back without it", () => {
      const id = "3ce3b775-378b-47f5-bada-cc1982527121";
      assert.deepEqual(jobOfRecord({ prompt: "x" }, "m-1"), { jobId: "m-1", input: { prompt: "x" } });
      assert.deepEqual(jobOfRecord({ prompt: "x", seed: 5, jobId: id }, "m-1"), {
        jobId: id,
        input: { prompt: "x", seed: 5 },
      });
      const bad = jobOfRecord({ prompt: "x", jobId: "../../escape" }, "m-1");
      assert.deepEqual([bad.jobId, bad.input], ["m-1", { prompt: "x" }], "a jobId that is not an id never becomes a key");
      assert.match(bad.error ?? "", /"jobId" must be 1-128 letters, digits/);
      assert.ok(jobOfRecord({ prompt: "x", jobId: 7 }, "m-1").error);
    });

    it("queue bodies: plain text is a prompt, a JSON object is a request", () => {
      assert.deepEqual(parseQueueBody("me on top of a pyramid"), {
        input: { prompt: "me on top of a pyramid" },
        format: "text",
      });
      assert.deepEqual(parseQueueBody('{"prompt":"x","width":1024}'), {
        input: { prompt: "x", width: 1024 },
        format: "json",
      });
      assert.deepEqual(parseQueueBody("{not json"), { input: { prompt: "{not json" }, format: "text" });
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
      assert.throws(
        () => readConfig({ [ENV.bucket]: "b", [ENV.prefix]: "cand/*" }),
        /IMAGE_PREFIX must be a non-empty key prefix without "\*" or "\.\."/,
      );
      assert.throws(() => readConfig({ [ENV.bucket]: "b", [ENV.prefix]: "///" }), /IMAGE_PREFIX must be a non-empty key prefix/);
    });

    it("requires the model, reads the rest as toHandlerEnv wrote it, and trims the prefix", () => {
      // Defaults live in Pulumi.yaml alone: the environment always carries the model and its region.
      assert.throws(() => readConfig(base), /MODEL_ID is required/);
      assert.throws(() => readConfig({ ...base, [ENV.modelId]: STABLE_IMAGE_CORE }), /BEDROCK_REGION is required/);
      const minimal = readConfig({ ...base, [ENV.modelId]: STABLE_IMAGE_CORE, [ENV.bedrockRegion]: "us-west-2" });
      assert.equal(minimal.prefix, "cand");
      // Tries per model call stay unset: each handler has its own (the API 2, the worker 3).
      assert.deepEqual(
        [
          minimal.modelId,
          minimal.bedrockRegion,
          minimal.urlExpirySeconds,
          minimal.workerConcurrency,
          minimal.bedrockMaxAttempts,
          minimal.queueUrl,
        ],
        [STABLE_IMAGE_CORE, "us-west-2", undefined, undefined, undefined, undefined],
      );
      const settings = {
        bucket: "b",
        prefix: "/cand/",
        modelId: STABLE_IMAGE_CORE,
        bedrockRegion: "us-west-2",
        urlExpirySeconds: 3600,
        workerConcurrency: 5,
        queueUrl: "http://q",
      };
      const config = readConfig(toHandlerEnv(settings));
      assert.deepEqual(
        [config.prefix, config.modelId, config.bedrockRegion, config.urlExpirySeconds, config.workerConcurrency, config.queueUrl],
        ["cand", STABLE_IMAGE_CORE, "us-west-2", 3600, 5, "http://q"],
      );
      assert.throws(() => requireSettings(minimal, ["queueUrl"]), /environment variable QUEUE_URL is required but not set/);
    });

    it("rejects numbers that make no sense", () => {
      const model = { [ENV.modelId]: STABLE_IMAGE_CORE, [ENV.bedrockRegion]: "us-west-2" };
      assert.throws(
        () => readConfig({ ...base, ...model, [ENV.workerConcurrency]: "0" }),
        /WORKER_CONCURRENCY must be an integer in \[1, 50\], got "0"/,
      );
      assert.throws(() => readConfig({ ...base, ...model, [ENV.urlExpirySeconds]: "soon" }), /URL_EXPIRY_SECONDS/);
    });
  });

  describe("embedded metric format", () => {
    it("success: latency and count with the Service dimension only", () => {
      const fields = emfFields({ generationLatencyMs: 812.4, imagesGenerated: 1 }, "couch-explorers-dev", 1700000000000) as any;
      assert.deepEqual(fields._aws, {
        Timestamp: 1700000000000,
        CloudWatchMetrics: [
          {
            Namespace: "CouchExplorers",
            Dimensions: [["Service"]],
            Metrics: [
              { Name: "GenerationLatency", Unit: "Milliseconds" },
              { Name: "ImagesGenerated", Unit: "Count" },
            ],
          },
        ],
      });
      assert.equal(fields.GenerationLatency, 812);
      assert.equal(fields.ImagesGenerated, 1);
      assert.equal(fields.Service, "couch-explorers-dev");
    });

    it("failure: Failures with the Service and FailureKind dimensions (Service defaults)", () => {
      const fields = emfFields({ failureKind: "transient" }) as any;
      assert.deepEqual(fields._aws.CloudWatchMetrics, [
        {
          Namespace: METRICS.namespace,
          Dimensions: [["Service", "FailureKind"]],
          Metrics: [{ Name: "Failures", Unit: "Count" }],
        },
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
