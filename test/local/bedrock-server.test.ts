import { strict as assert } from "node:assert";
import { BedrockClient, GetFoundationModelCommand } from "@aws-sdk/client-bedrock";
import { BedrockRuntimeClient, InvokeModelCommand } from "@aws-sdk/client-bedrock-runtime";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { decodePng, readPngHeader } from "../../local/fakes/png";
import { STABILITY_PIXELS } from "../../local/fakes/bedrock-models";
import { CONTENT_FILTER_MESSAGE, startBedrockServer, type BedrockServer } from "../../local/fakes/bedrock-server";

const TITAN_V1 = "amazon.titan-image-generator-v1";
const TITAN_V2 = "amazon.titan-image-generator-v2:0";
const NOVA = "amazon.nova-canvas-v1:0";
const CORE = "stability.stable-image-core-v1:1";
const ULTRA = "stability.stable-image-ultra-v1:1";
const SD35 = "stability.sd3-5-large-v1:0";
const END_OF_LIFE = /This model version has reached the end of its life/;

/** A Stability AI text-to-image body as the docs describe it. */
function stabilityBody(prompt: string, extra: Record<string, unknown> = {}) {
  return { prompt, aspect_ratio: "1:1", mode: "text-to-image", output_format: "png", seed: 42, ...extra };
}

function textImage(prompt: string, config: Record<string, unknown> = {}) {
  return {
    taskType: "TEXT_IMAGE",
    textToImageParams: { text: prompt },
    imageGenerationConfig: {
      numberOfImages: 1,
      quality: "standard",
      cfgScale: 8.0,
      width: 512,
      height: 512,
      seed: 42,
      ...config,
    },
  };
}

describe("local/bedrock-server with the real BedrockRuntimeClient", function () {
  this.timeout(30000);
  let server: BedrockServer;
  let client: BedrockRuntimeClient;

  const makeClient = (handler: NodeHttpHandler) =>
    new BedrockRuntimeClient({
      endpoint: server.url,
      region: "us-east-1",
      credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test-secret" },
      requestHandler: handler,
      maxAttempts: 1,
    });

  async function invoke(body: unknown, modelId = TITAN_V1, c = client) {
    const out = await c.send(
      new InvokeModelCommand({
        modelId,
        contentType: "application/json",
        accept: "application/json",
        body: JSON.stringify(body),
      }),
    );
    return { out, json: JSON.parse(Buffer.from(out.body).toString("utf8")) };
  }

  /** Invokes and returns the error the SDK threw (fails if it did not throw). */
  async function invokeError(body: unknown, modelId = TITAN_V1, c = client): Promise<any> {
    try {
      await invoke(body, modelId, c);
    } catch (e) {
      return e;
    }
    assert.fail("expected the call to fail");
  }

  before(async () => {
    server = await startBedrockServer({ timeoutHangMs: 10000 });
    client = makeClient(new NodeHttpHandler());
  });
  afterEach(() => server.reset());
  after(async () => {
    client?.destroy();
    await server?.close();
  });

  it("listens on 127.0.0.1 on an ephemeral port", () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(server.port > 0);
  });

  it("answers a valid Titan request with a decodable PNG of the asked size, like Bedrock", async () => {
    const { out, json } = await invoke(textImage("me on top of a pyramid", { width: 768, height: 1152 }));
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.equal(out.contentType, "application/json");
    assert.match(out.$metadata.requestId ?? "", /^[0-9a-f-]{36}$/);
    assert.equal(json.error, null);
    assert.equal(json.images.length, 1);
    const png = Buffer.from(json.images[0], "base64");
    assert.deepEqual(readPngHeader(png), { width: 768, height: 1152 });
    assert.equal(decodePng(png).rgba.length, 768 * 1152 * 4);
    assert.equal(server.calls.length, 1);
    assert.deepEqual(server.calls[0], {
      modelId: TITAN_V1,
      body: textImage("me on top of a pyramid", { width: 768, height: 1152 }),
      status: 200,
      failure: undefined,
    });
  });

  it("serves Titan v2 and Nova Canvas (model ids with ':' are URL-encoded on the wire), numberOfImages, and Nova's longer prompts", async () => {
    const v2 = await invoke(textImage("a beach", { numberOfImages: 2 }), TITAN_V2);
    assert.equal(v2.json.images.length, 2);
    assert.notDeepEqual(v2.json.images[0], v2.json.images[1]);
    const nova = await invoke(textImage("a beach ".repeat(100), { width: 1024, height: 576, seed: 858993459 }), NOVA);
    assert.deepEqual(readPngHeader(Buffer.from(nova.json.images[0], "base64")), { width: 1024, height: 576 });
    assert.deepEqual(
      server.calls.map((c) => c.modelId),
      [TITAN_V2, NOVA],
    );
  });

  it("counts prompt characters as code points, as the runtime does: 512 emoji pass Titan's limit, 513 do not", async () => {
    const emoji = "\u{1F5FB}"; // two UTF-16 units each
    const ok = await invoke(textImage(emoji.repeat(512)), TITAN_V1);
    assert.equal(ok.json.images.length, 1);
    await assert.rejects(invoke(textImage(emoji.repeat(513)), TITAN_V1), /expected maxLength: 512, actual: 513/);
  });

  it("gives the same picture for the same prompt and seed, another for another seed", async () => {
    const a = await invoke(textImage("sunset over the sea", { seed: 5 }));
    const b = await invoke(textImage("sunset over the sea", { seed: 5 }));
    const c = await invoke(textImage("sunset over the sea", { seed: 6 }));
    assert.equal(a.json.images[0], b.json.images[0]);
    assert.notEqual(a.json.images[0], c.json.images[0]);
  });

  describe("validation (400 ValidationException, Bedrock-style messages)", () => {
    const cases: Array<[string, unknown, string, RegExp]> = [
      [
        "a Nova Canvas seed above 858993459",
        textImage("x", { seed: 858993460 }),
        NOVA,
        /seed: 858993460 is not less or equal to 858993459/,
      ],
      [
        "a Titan seed above 2147483647",
        textImage("x", { seed: 2147483648 }),
        TITAN_V1,
        /seed: 2147483648 is not less or equal to 2147483647/,
      ],
      ["a negative seed", textImage("x", { seed: -1 }), TITAN_V2, /seed: -1 is not greater or equal to 0/],
      [
        "a Titan prompt over 512 characters",
        textImage("a".repeat(513)),
        TITAN_V1,
        /textToImageParams\/text: expected maxLength: 512, actual: 513/,
      ],
      [
        "a Nova Canvas prompt over 1024 characters",
        textImage("a".repeat(1025)),
        NOVA,
        /textToImageParams\/text: expected maxLength: 1024, actual: 1025/,
      ],
      ["an empty prompt", textImage(""), TITAN_V1, /expected minLength: 1/],
      ["a size Titan does not support", textImage("x", { width: 500, height: 500 }), TITAN_V1, /500x500 is not a supported image size/],
      ["a Nova size not divisible by 16", textImage("x", { width: 1000, height: 1000 }), NOVA, /divisible by 16/],
      ["another task type", { ...textImage("x"), taskType: "INPAINTING" }, TITAN_V1, /taskType: "INPAINTING" is not a valid enum value/],
      ["a cfgScale out of range", textImage("x", { cfgScale: 11 }), TITAN_V1, /cfgScale/],
      ["too many images", textImage("x", { numberOfImages: 6 }), TITAN_V1, /numberOfImages/],
    ];
    for (const [what, body, model, message] of cases) {
      it(`rejects ${what}`, async () => {
        const e = await invokeError(body, model);
        assert.equal(e.name, "ValidationException");
        assert.equal(e.$metadata.httpStatusCode, 400);
        assert.match(e.message, message);
        assert.match(e.message, /^Malformed input request/);
        assert.equal(server.calls.at(-1)?.status, 400);
      });
    }

    it("rejects a body that is not JSON", async () => {
      const e = await client
        .send(new InvokeModelCommand({ modelId: TITAN_V1, contentType: "application/json", body: "{not json" }))
        .catch((err) => err);
      assert.equal(e.name, "ValidationException");
      assert.equal(e.$metadata.httpStatusCode, 400);
      assert.equal(server.calls[0].body, "{not json");
    });

    it("does not spend an injected failure on an invalid request", async () => {
      server.failNext("throttle");
      assert.equal((await invokeError(textImage(""))).name, "ValidationException");
      assert.equal((await invokeError(textImage("fine"))).name, "ThrottlingException");
    });
  });

  it("answers an unknown model with 404 ResourceNotFoundException", async () => {
    const e = await invokeError(textImage("x"), "amazon.titan-image-generator-v9");
    assert.equal(e.name, "ResourceNotFoundException");
    assert.equal(e.$metadata.httpStatusCode, 404);
  });

  describe("injected failures surface in the SDK as Bedrock's exceptions", () => {
    const cases: Array<[Parameters<BedrockServer["failNext"]>[0], string, number]> = [
      ["throttle", "ThrottlingException", 429],
      ["model-not-ready", "ModelNotReadyException", 429],
      ["access-denied", "AccessDeniedException", 403],
      ["content-filter", "ValidationException", 400],
    ];
    for (const [mode, name, status] of cases) {
      it(`${mode} → ${name} ${status}`, async () => {
        server.failNext(mode);
        const e = await invokeError(textImage("a harmless prompt"));
        assert.equal(e.name, name);
        assert.equal(e.$metadata.httpStatusCode, status);
        assert.deepEqual(
          server.calls.map((c) => [c.status, c.failure]),
          [[status, mode]],
        );
        // only the next call failed
        assert.equal((await invoke(textImage("a harmless prompt"))).out.$metadata.httpStatusCode, 200);
      });
    }

    it("the content filter's message says the request was blocked by content filters", async () => {
      server.failNext("content-filter");
      const e = await invokeError(textImage("something"));
      assert.equal(e.message, CONTENT_FILTER_MESSAGE);
      assert.match(e.message, /blocked by our content filters/);
    });

    it("server-error alternates InternalServerException 500 and ServiceUnavailableException 503", async () => {
      server.failNext("server-error", 3);
      const errors = [await invokeError(textImage("x")), await invokeError(textImage("x")), await invokeError(textImage("x"))];
      assert.deepEqual(
        errors.map((e) => [e.name, e.$metadata.httpStatusCode]),
        [
          ["InternalServerException", 500],
          ["ServiceUnavailableException", 503],
          ["InternalServerException", 500],
        ],
      );
    });

    it("garbage returns 200 bodies a caller must reject: not JSON, then JSON whose image is not a PNG", async () => {
      server.failNext("garbage", 2);
      const first = await client.send(
        new InvokeModelCommand({
          modelId: TITAN_V1,
          contentType: "application/json",
          body: JSON.stringify(textImage("x")),
        }),
      );
      assert.equal(first.$metadata.httpStatusCode, 200);
      assert.throws(() => JSON.parse(Buffer.from(first.body).toString("utf8")), SyntaxError);
      const second = await invoke(textImage("x"));
      assert.equal(second.out.$metadata.httpStatusCode, 200);
      assert.equal(second.json.images.length, 1);
      assert.equal(readPngHeader(Buffer.from(second.json.images[0], "base64")), undefined);
    });

    it("wrong-count returns 200 with 0 images, then with 2", async () => {
      server.failNext("wrong-count", 2);
      assert.equal((await invoke(textImage("x"))).json.images.length, 0);
      const two = (await invoke(textImage("x"))).json.images;
      assert.equal(two.length, 2);
      for (const img of two) assert.ok(readPngHeader(Buffer.from(img, "base64")));
    });

    it("model-error-field returns 200 with no images and the model's error", async () => {
      server.failNext("model-error-field");
      const { out, json } = await invoke(textImage("x"));
      assert.equal(out.$metadata.httpStatusCode, 200);
      assert.deepEqual(json.images, []);
      assert.equal(typeof json.error, "string");
      assert.ok(json.error.length > 0);
    });

    it("timeout holds the request until the client gives up (requestTimeout with throwOnRequestTimeout)", async () => {
      // @smithy/node-http-handler 4.x only logs a warning when requestTimeout passes unless
      // throwOnRequestTimeout is set; with it, the SDK aborts the request with a TimeoutError.
      const impatient = makeClient(new NodeHttpHandler({ requestTimeout: 500, throwOnRequestTimeout: true }));
      server.failNext("timeout");
      const e = await invokeError(textImage("x"), TITAN_V1, impatient);
      impatient.destroy();
      assert.equal(e.name, "TimeoutError");
      assert.match(e.message, /timed out|timeout/i);
      assert.equal(server.calls[0].failure, "timeout");
    });

    it("without throwOnRequestTimeout the client waits for the server's 408 ModelTimeoutException", async () => {
      const quick = await startBedrockServer({ timeoutHangMs: 800 });
      const patient = new BedrockRuntimeClient({
        endpoint: quick.url,
        region: "us-east-1",
        credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test-secret" },
        requestHandler: new NodeHttpHandler({ requestTimeout: 300, logger: { ...console, warn: () => undefined } }),
        maxAttempts: 1,
      });
      try {
        quick.failNext("timeout");
        const e = await invokeError(textImage("x"), TITAN_V1, patient);
        assert.equal(e.name, "ModelTimeoutException");
        assert.equal(e.$metadata.httpStatusCode, 408);
        assert.deepEqual(
          quick.calls.map((c) => [c.status, c.failure]),
          [[408, "timeout"]],
        );
      } finally {
        patient.destroy();
        await quick.close();
      }
    });

    it("keeps at most maxRecordedCalls calls, dropping the oldest", async () => {
      const capped = await startBedrockServer({ maxRecordedCalls: 2 });
      try {
        for (const model of ["one", "two", "three"]) {
          await fetch(`${capped.url}/model/${model}/invoke`, { method: "POST", body: "{}" });
        }
        assert.deepEqual(
          capped.calls.map((c) => c.modelId),
          ["two", "three"],
        );
      } finally {
        await capped.close();
      }
    });

    it("close() ends a server that is holding a timeout call", async () => {
      const holding = await startBedrockServer({ timeoutHangMs: 60000 });
      holding.failNext("timeout");
      const pending = rawInvoke(holding.url, { authorization: sigv4Header() }).then(
        () => "answered",
        () => "connection closed",
      );
      while (holding.calls.length === 0) await new Promise((r) => setTimeout(r, 10));
      await holding.close();
      assert.equal(await pending, "connection closed");
    });

    it("failWhenPromptIncludes fails exactly the prompts carrying the marker", async () => {
      server.failWhenPromptIncludes("[blocked]", "content-filter");
      assert.equal((await invokeError(textImage("a [blocked] prompt"))).name, "ValidationException");
      assert.equal((await invoke(textImage("an ordinary prompt"))).out.$metadata.httpStatusCode, 200);
      assert.equal((await invokeError(textImage("[blocked] again"))).name, "ValidationException");
    });

    it("setFailureRate splits calls into transient and permanent failures by the given shares", async () => {
      // a scripted random source: 0.05 → transient (throttle), 0.25 → transient (model-not-ready),
      // 0.35 → permanent (content-filter), 0.9 → success
      const draws = [0.05, 0.25, 0.35, 0.9];
      let i = 0;
      server.setFailureRate({ transient: 0.3, permanent: 0.1, random: () => draws[i++ % draws.length] });
      const results = [];
      for (let k = 0; k < 4; k++) {
        results.push(
          await invoke(textImage("x")).then(
            (r) => r.out.$metadata.httpStatusCode,
            (e) => e.name,
          ),
        );
      }
      assert.deepEqual(results, ["ThrottlingException", "ModelNotReadyException", "ValidationException", 200]);
      assert.deepEqual(
        server.calls.map((c) => c.failure),
        ["throttle", "model-not-ready", "content-filter", undefined],
      );
      assert.throws(() => server.setFailureRate({ transient: 0.8, permanent: 0.5 }), RangeError);
    });

    it("setFailureRate with Math.random fails roughly the asked share", async () => {
      server.setFailureRate({ transient: 0.5 });
      let failed = 0;
      for (let k = 0; k < 40; k++)
        failed += await invoke(textImage("x", { width: 512, height: 512 })).then(
          () => 0,
          () => 1,
        );
      assert.ok(failed > 5 && failed < 35, `${failed} of 40 failed`);
    });
  });

  describe("Stability AI's request shape (Stable Image Core / Ultra, SD3.5 Large)", () => {
    it("answers {seeds, finish_reasons: [null], images} with one PNG whose pixels the model picks from each documented ratio", async () => {
      for (const [ratio, pixels] of Object.entries(STABILITY_PIXELS)) {
        const { out, json } = await invoke(stabilityBody("me on top of K2", { aspect_ratio: ratio, seed: 7 }), CORE);
        assert.equal(out.$metadata.httpStatusCode, 200);
        assert.deepEqual(Object.keys(json).sort(), ["finish_reasons", "images", "seeds"]);
        assert.deepEqual([json.seeds, json.finish_reasons, json.images.length], [[7], [null], 1]);
        assert.deepEqual(readPngHeader(Buffer.from(json.images[0], "base64")), pixels, ratio);
      }
      assert.equal(Object.keys(STABILITY_PIXELS).length, 9);
      for (const { width, height } of Object.values(STABILITY_PIXELS)) {
        assert.ok(width >= 640 && width <= 1536 && height >= 640 && height <= 1536, "inside the documented 640–1,536 px");
      }
    });

    it("serves Ultra and SD3.5 Large too; no ratio means 1:1; seed 0 or none asks for a random seed, reported in seeds", async () => {
      const ultra = await invoke({ prompt: "lighthouse", negative_prompt: "fog" }, ULTRA);
      assert.deepEqual(readPngHeader(Buffer.from(ultra.json.images[0], "base64")), { width: 1024, height: 1024 });
      assert.ok(Number.isInteger(ultra.json.seeds[0]) && ultra.json.seeds[0] >= 1);
      const sd = await invoke(stabilityBody("lighthouse", { seed: 0 }), SD35);
      assert.ok(sd.json.seeds[0] >= 1 && sd.json.seeds[0] <= 4294967294);
      const same = await invoke(stabilityBody("lighthouse", { seed: sd.json.seeds[0] }), SD35);
      assert.equal(same.json.images[0], sd.json.images[0], "the reported seed reproduces the picture");
    });

    const cases: Array<[string, unknown, string, RegExp]> = [
      ["Titan's fields", { ...stabilityBody("x"), cfgScale: 8 }, CORE, /extraneous key \[cfgScale\] is not permitted/],
      ["a TEXT_IMAGE body", textImage("x"), ULTRA, /extraneous key \[taskType\] is not permitted/],
      ["an undocumented ratio", stabilityBody("x", { aspect_ratio: "4:3" }), CORE, /aspect_ratio: "4:3" is not a valid enum value/],
      ["a prompt over 10,000 characters", stabilityBody("p".repeat(10001)), CORE, /prompt: expected maxLength: 10000, actual: 10001/],
      [
        "SD3.5 Large's seed above 4294967294",
        stabilityBody("x", { seed: 4294967295 }),
        SD35,
        /seed: 4294967295 is not less or equal to 4294967294/,
      ],
      ["image-to-image", stabilityBody("x", { mode: "image-to-image" }), SD35, /mode: "image-to-image" is not a valid enum value/],
      ["a format the local renderer does not make", stabilityBody("x", { output_format: "jpeg" }), CORE, /png only/],
    ];
    for (const [what, body, model, message] of cases) {
      it(`rejects ${what} (400 ValidationException)`, async () => {
        const e = await invokeError(body, model);
        assert.equal(e.name, "ValidationException");
        assert.equal(e.$metadata.httpStatusCode, 400);
        assert.match(e.message, message);
      });
    }

    it("finish-reason faults: HTTP 200, a non-null finish reason, an image only where the docs allow one", async () => {
      const expected: Array<[Parameters<BedrockServer["failNext"]>[0], string, boolean]> = [
        ["filter-prompt", "Filter reason: prompt", false],
        ["content-filter", "Filter reason: prompt", false],
        ["filter-output-image", "Filter reason: output image", true],
        ["inference-error", "Inference error", true],
        ["model-error-field", "Inference error", true],
      ];
      for (const [mode, reason, withImage] of expected) {
        server.failNext(mode);
        const { out, json } = await invoke(stabilityBody("a harmless prompt"), CORE);
        assert.equal(out.$metadata.httpStatusCode, 200, mode);
        assert.deepEqual(json.finish_reasons, [reason], mode);
        assert.equal(Array.isArray(json.images) && json.images.length === 1, withImage, mode);
      }
    });

    it("the same faults in TEXT_IMAGE's words: a content filter is a ValidationException, a model error the error field", async () => {
      server.failNext("filter-output-image");
      assert.equal((await invokeError(textImage("x"))).message, CONTENT_FILTER_MESSAGE);
      server.failNext("inference-error");
      const { json } = await invoke(textImage("x"));
      assert.deepEqual(json.images, []);
      assert.match(json.error, /could not generate/);
    });

    it("end-of-life: 404 ResourceNotFoundException with Bedrock's end-of-life message, for either shape", async () => {
      server.failNext("end-of-life", 2);
      for (const [body, model] of [
        [textImage("x"), TITAN_V1],
        [stabilityBody("x"), CORE],
      ] as const) {
        const e = await invokeError(body, model);
        assert.equal(e.name, "ResourceNotFoundException");
        assert.equal(e.$metadata.httpStatusCode, 404);
        assert.match(e.message, END_OF_LIFE);
      }
    });
  });

  describe("GetFoundationModel with the real BedrockClient, endpoint from AWS_ENDPOINT_URL_BEDROCK", () => {
    let control: BedrockClient;
    let saved: string | undefined;
    before(() => {
      saved = process.env.AWS_ENDPOINT_URL_BEDROCK;
      // No endpoint in the client's config: the SDK reads the standard variable itself.
      process.env.AWS_ENDPOINT_URL_BEDROCK = server.url;
      control = new BedrockClient({
        region: "us-west-2",
        credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test-secret" },
        maxAttempts: 1,
      });
    });
    after(() => {
      control.destroy();
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_BEDROCK;
      else process.env.AWS_ENDPOINT_URL_BEDROCK = saved;
    });
    const lookup = (modelIdentifier: string) => control.send(new GetFoundationModelCommand({ modelIdentifier }));

    it("Stability's three models are ACTIVE, their ARNs in the signed region", async () => {
      for (const id of [CORE, ULTRA, SD35]) {
        const { modelDetails } = await lookup(id);
        assert.equal(modelDetails?.modelLifecycle?.status, "ACTIVE", id);
        assert.equal(modelDetails?.modelArn, `arn:aws:bedrock:us-west-2::foundation-model/${id}`);
        assert.equal(modelDetails?.providerName, "Stability AI");
        assert.deepEqual(modelDetails?.outputModalities, ["IMAGE"]);
      }
      assert.deepEqual(server.lookups, [CORE, ULTRA, SD35]);
      assert.equal(server.calls.length, 0, "lookups are not invocations");
    });

    it("Nova Canvas is LEGACY, with its dates", async () => {
      const lifecycle = (await lookup(NOVA)).modelDetails?.modelLifecycle;
      assert.equal(lifecycle?.status, "LEGACY");
      assert.equal(lifecycle?.legacyTime?.toISOString(), "2026-03-30T00:00:00.000Z");
      assert.equal(lifecycle?.endOfLifeTime?.toISOString(), "2026-09-30T00:00:00.000Z");
    });

    it("Titan v1 and v2 are past end of life, an unknown id is not found: 404 ResourceNotFoundException", async () => {
      for (const id of [TITAN_V1, TITAN_V2, "stability.stable-image-ultra-v1:0"]) {
        const e = await lookup(id).catch((err) => err);
        assert.equal(e.name, "ResourceNotFoundException", id);
        assert.equal(e.$metadata.httpStatusCode, 404);
        if (id !== "stability.stable-image-ultra-v1:0") assert.match(e.message, END_OF_LIFE);
      }
    });

    it("failNextLookup makes the next lookup fail (access denied), then answers again", async () => {
      server.failNextLookup("access-denied");
      const e = await lookup(CORE).catch((err) => err);
      assert.equal(e.name, "AccessDeniedException");
      assert.equal(e.$metadata.httpStatusCode, 403);
      assert.equal((await lookup(CORE)).modelDetails?.modelLifecycle?.status, "ACTIVE");
    });

    it("refuses an unsigned lookup like Bedrock (403 UnrecognizedClientException)", async () => {
      const res = await fetch(`${server.url}/foundation-models/${CORE}`);
      assert.equal(res.status, 403);
      assert.match(res.headers.get("x-amzn-errortype") ?? "", /^UnrecognizedClientException:/);
      assert.deepEqual(server.lookups, []);
    });
  });

  describe("authentication", () => {
    it("rejects a request without an Authorization header (403 UnrecognizedClientException)", async () => {
      const res = await rawInvoke(server.url, { accept: "application/json" });
      assert.equal(res.status, 403);
      assert.equal(res.headers.get("x-amzn-errortype"), "UnrecognizedClientException:http://internal.amazon.com/coral/com.amazon.bedrock/");
      assert.deepEqual(await res.json(), { message: "Missing Authentication Token" });
      assert.ok(res.headers.get("x-amzn-requestid"));
    });

    it("rejects an Authorization header that is not SigV4 (403 IncompleteSignatureException)", async () => {
      const res = await rawInvoke(server.url, { authorization: "Bearer abc" });
      assert.equal(res.status, 403);
      assert.match(res.headers.get("x-amzn-errortype") ?? "", /^IncompleteSignatureException:/);
    });

    it("answers other routes with 404 UnknownOperationException", async () => {
      const res = await fetch(`${server.url}/foundation-models`, { headers: { authorization: sigv4Header() } });
      assert.equal(res.status, 404);
      assert.match(res.headers.get("x-amzn-errortype") ?? "", /^UnknownOperationException:/);
    });
  });

  it("applies the configured latency before answering", async () => {
    server.setLatency(200);
    const t0 = Date.now();
    await invoke(textImage("x"));
    server.setLatency(0);
    assert.ok(Date.now() - t0 >= 190, "the answer waited for the simulated model");
  });
});

/** A plain HTTP POST of a TEXT_IMAGE body to the invoke route, with the given headers (no SDK). */
function rawInvoke(url: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${url}/model/${TITAN_V1}/invoke`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(textImage("x")),
  });
}

/** A syntactically valid SigV4 Authorization header (the server does not verify signatures). */
function sigv4Header(): string {
  return (
    "AWS4-HMAC-SHA256 Credential=AKIDTEST/20250101/us-east-1/bedrock/aws4_request, " +
    "SignedHeaders=content-type;host;x-amz-date, Signature=" +
    "0".repeat(64)
  );
}
