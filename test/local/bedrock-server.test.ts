import { strict as assert } from "node:assert";
import { BedrockRuntimeClient, InvokeModelCommand } from "@aws-sdk/client-bedrock-runtime";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { decodePng, readPngHeader } from "../../local/png";
import { CONTENT_FILTER_MESSAGE, startBedrockServer, type BedrockServer } from "../../local/bedrock-server";

const TITAN_V1 = "amazon.titan-image-generator-v1";
const TITAN_V2 = "amazon.titan-image-generator-v2:0";
const NOVA = "amazon.nova-canvas-v1:0";

function textImage(prompt: string, config: Record<string, unknown> = {}) {
    return {
        taskType: "TEXT_IMAGE",
        textToImageParams: { text: prompt },
        imageGenerationConfig: { numberOfImages: 1, quality: "standard", cfgScale: 8.0, width: 512, height: 512, seed: 42, ...config },
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
            new InvokeModelCommand({ modelId, contentType: "application/json", accept: "application/json", body: JSON.stringify(body) }),
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
        assert.deepEqual(server.calls[0], { modelId: TITAN_V1, body: textImage("me on top of a pyramid", { width: 768, height: 1152 }), status: 200, failure: undefined });
    });

    it("serves Titan v2 and Nova Canvas (model ids with ':' are URL-encoded on the wire), numberOfImages, and Nova's longer prompts", async () => {
        const v2 = await invoke(textImage("a beach", { numberOfImages: 2 }), TITAN_V2);
        assert.equal(v2.json.images.length, 2);
        assert.notDeepEqual(v2.json.images[0], v2.json.images[1]);
        const nova = await invoke(textImage("a beach ".repeat(100), { width: 1024, height: 576, seed: 858993459 }), NOVA);
        assert.deepEqual(readPngHeader(Buffer.from(nova.json.images[0], "base64")), { width: 1024, height: 576 });
        assert.deepEqual(server.calls.map((c) => c.modelId), [TITAN_V2, NOVA]);
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
            ["a Nova Canvas seed above 858993459", textImage("x", { seed: 858993460 }), NOVA, /seed: 858993460 is not less or equal to 858993459/],
            ["a Titan seed above 2147483647", textImage("x", { seed: 2147483648 }), TITAN_V1, /seed: 2147483648 is not less or equal to 2147483647/],
            ["a negative seed", textImage("x", { seed: -1 }), TITAN_V2, /seed: -1 is not greater or equal to 0/],
            ["a Titan prompt over 512 characters", textImage("a".repeat(513)), TITAN_V1, /textToImageParams\/text: expected maxLength: 512, actual: 513/],
            ["a Nova Canvas prompt over 1024 characters", textImage("a".repeat(1025)), NOVA, /textToImageParams\/text: expected maxLength: 1024, actual: 1025/],
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
                assert.deepEqual(server.calls.map((c) => [c.status, c.failure]), [[status, mode]]);
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
                [["InternalServerException", 500], ["ServiceUnavailableException", 503], ["InternalServerException", 500]],
            );
        });

        it("garbage returns 200 bodies a caller must reject: not JSON, then JSON whose image is not a PNG", async () => {
            server.failNext("garbage", 2);
            const first = await client.send(new InvokeModelCommand({ modelId: TITAN_V1, contentType: "application/json", body: JSON.stringify(textImage("x")) }));
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
                assert.deepEqual(quick.calls.map((c) => [c.status, c.failure]), [[408, "timeout"]]);
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
                assert.deepEqual(capped.calls.map((c) => c.modelId), ["two", "three"]);
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
                results.push(await invoke(textImage("x")).then((r) => r.out.$metadata.httpStatusCode, (e) => e.name));
            }
            assert.deepEqual(results, ["ThrottlingException", "ModelNotReadyException", "ValidationException", 200]);
            assert.deepEqual(server.calls.map((c) => c.failure), ["throttle", "model-not-ready", "content-filter", undefined]);
            assert.throws(() => server.setFailureRate({ transient: 0.8, permanent: 0.5 }), RangeError);
        });

        it("setFailureRate with Math.random fails roughly the asked share", async () => {
            server.setFailureRate({ transient: 0.5 });
            let failed = 0;
            for (let k = 0; k < 40; k++) failed += await invoke(textImage("x", { width: 512, height: 512 })).then(() => 0, () => 1);
            assert.ok(failed > 5 && failed < 35, `${failed} of 40 failed`);
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
