/**
 * A Bedrock Runtime-compatible `InvokeModel` server for tests, benchmarks and local mode.
 *
 * It speaks the real wire protocol (restJson1 over HTTP/1.1) so the real `BedrockRuntimeClient`
 * (with an HTTP/1 `NodeHttpHandler`) can talk to it: `POST /model/{modelId}/invoke`, a SigV4
 * `Authorization` header, JSON bodies in the `TEXT_IMAGE` shape shared by Titan Image Generator
 * v1/v2 and Nova Canvas, base64 PNGs from the offline renderer, and errors the way Bedrock sends
 * them (`x-amzn-ErrorType` header + `{"message": …}` body, real status codes).
 *
 * Order of checks for each request (documented so tests can rely on it):
 *  1. route: anything but `POST /model/{id}/invoke` → 404 UnknownOperationException;
 *  2. auth: no `Authorization` header → 403 UnrecognizedClientException ("Missing Authentication
 *     Token"); a header that is not a SigV4 header (`AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
 *     Signature=…`) → 403 IncompleteSignatureException. Signatures are not verified (dummy keys);
 *  3. model: unknown model id (or foundation-model ARN) → 404 ResourceNotFoundException;
 *  4. body: malformed JSON or a body outside the model's limits → 400 ValidationException with a
 *     Bedrock-style "Malformed input request: #/path: …" message. Content-Type is not enforced;
 *  5. injected failures (failNext first, then prompt markers, then the random failure rate); they
 *     only hit requests that passed 1–4, so an invalid request never consumes an injected failure;
 *  6. latency, then `{"images": [...], "error": null}`.
 * `GET /ping` answers `{"status":"ok"}` (the local mode's health check) and is not recorded.
 */
import * as http from "node:http";
import type { Socket } from "node:net";
import { randomUUID } from "node:crypto";
import { renderPostcard } from "./renderer";
import { LOCAL_ENV } from "./config";
import { listen } from "./listen";

export type FailureMode =
    | "throttle"
    | "content-filter"
    | "timeout"
    | "garbage"
    | "wrong-count"
    | "server-error"
    | "model-not-ready"
    | "access-denied"
    | "model-error-field";

export interface BedrockServerOptions {
    /** @default 0 (an ephemeral port) */
    port?: number;
    /** @default "127.0.0.1" */
    host?: string;
    /** Simulated model latency for every answered call. @default 0 */
    latencyMs?: number;
    /** How long a "timeout" call is held before it is answered with 408 ModelTimeoutException. @default 30000 */
    timeoutHangMs?: number;
    /** Most calls kept in `calls`, oldest dropped first (a long-running local session). @default unlimited */
    maxRecordedCalls?: number;
}

export interface RecordedCall {
    modelId: string;
    /** The parsed JSON body, or the raw text when it was not JSON. */
    body: any;
    /** HTTP status answered (0 while a "timeout" call is still being held). */
    status: number;
    failure?: FailureMode;
}

export interface BedrockServer {
    url: string;
    port: number;
    calls: RecordedCall[];
    /** The next `count` (default 1) valid calls fail that way. */
    failNext(mode: FailureMode, count?: number): void;
    /** Every valid call whose prompt contains `marker` fails that way (deterministic per prompt). */
    failWhenPromptIncludes(marker: string, mode: FailureMode): void;
    /**
     * Share of valid calls that fail: `transient` ones are spread over throttle, server-error and
     * model-not-ready, `permanent` ones are content-filter rejections. `random` defaults to Math.random.
     */
    setFailureRate(r: { transient?: number; permanent?: number; random?: () => number }): void;
    setLatency(ms: number): void;
    /** Clears injected failures, the failure rate and the recorded calls (latency stays). */
    reset(): void;
    /** Stops listening and destroys every open connection, including held "timeout" calls. */
    close(): Promise<void>;
}

/** What a model accepts in the TEXT_IMAGE request shape. */
interface ModelSpec {
    maxSeed: number;
    /** Longest prompt (and negative text) in characters. */
    maxPromptLength: number;
    defaultSize: number;
    sizeError(width: number, height: number): string | undefined;
}

/** Sizes Titan Image Generator v1/v2 accept (AWS documentation, width x height). */
const TITAN_SIZES = new Set(
    [
        "1024x1024", "768x768", "512x512", "768x1152", "384x576", "1152x768", "576x384", "768x1280", "384x640",
        "1280x768", "640x384", "896x1152", "448x576", "1152x896", "576x448", "768x1408", "384x704", "1408x768",
        "704x384", "640x1408", "320x704", "1408x640", "704x320", "1152x640", "1173x640",
    ],
);

const titan: ModelSpec = {
    maxSeed: 2147483647,
    maxPromptLength: 512,
    defaultSize: 1024,
    sizeError: (w, h) => (TITAN_SIZES.has(`${w}x${h}`) ? undefined : `${w}x${h} is not a supported image size`),
};

const novaCanvas: ModelSpec = {
    maxSeed: 858993459,
    maxPromptLength: 1024,
    defaultSize: 1024,
    sizeError: (w, h) => {
        if (w < 320 || w > 4096 || h < 320 || h > 4096) return "width and height must be between 320 and 4096";
        if (w % 16 !== 0 || h % 16 !== 0) return "width and height must be divisible by 16";
        if (Math.max(w / h, h / w) > 4) return "the aspect ratio must be between 1:4 and 4:1";
        if (w * h > 4194304) return "the image must have fewer than 4,194,304 pixels";
        return undefined;
    },
};

/** The image models this server knows, by Bedrock model id. */
const MODEL_SPECS: Readonly<Record<string, ModelSpec>> = {
    "amazon.titan-image-generator-v1": titan,
    "amazon.titan-image-generator-v2:0": titan,
    "amazon.nova-canvas-v1:0": novaCanvas,
};

const MAX_BODY_BYTES = 1024 * 1024;
const ERROR_NAMESPACE = ":http://internal.amazon.com/coral/com.amazon.bedrock/";

/** A Bedrock error as it goes on the wire. */
interface WireError {
    status: number;
    type: string;
    message: string;
}

const err = (status: number, type: string, message: string): WireError => ({ status, type, message });

export const CONTENT_FILTER_MESSAGE =
    "This request has been blocked by our content filters. Please adjust your text prompt to submit a new request.";

const FAILURE_ERRORS: Partial<Record<FailureMode, WireError>> = {
    throttle: err(429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "model-not-ready": err(
        429,
        "ModelNotReadyException",
        "Model is not ready to serve inference requests. The AWS SDK will automatically retry the operation up to 5 times.",
    ),
    "content-filter": err(400, "ValidationException", CONTENT_FILTER_MESSAGE),
    "access-denied": err(403, "AccessDeniedException", "You don't have access to the model with the specified model ID."),
};
const INTERNAL = err(500, "InternalServerException", "The server encountered an internal error while processing the request.");
const UNAVAILABLE = err(503, "ServiceUnavailableException", "The service is temporarily unavailable. Please try again later.");
const MODEL_TIMEOUT = err(408, "ModelTimeoutException", "Model has timed out in processing the request. Try your request again.");

const malformed = (path: string, detail: string): WireError =>
    err(400, "ValidationException", `Malformed input request: #/${path}: ${detail}, please reformat your input and try again.`);

/** A validated TEXT_IMAGE request. */
interface ImageRequest {
    prompt: string;
    count: number;
    width: number;
    height: number;
    seed: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function inRange(v: unknown, min: number, max: number, integer: boolean): boolean {
    return typeof v === "number" && Number.isFinite(v) && v >= min && v <= max && (!integer || Number.isInteger(v));
}

/** Checks a TEXT_IMAGE body against a model's limits, the way Bedrock reports it. */
function validateTextImage(body: unknown, spec: ModelSpec): ImageRequest | WireError {
    if (!isObject(body)) return malformed("", "expected type: JSONObject");
    if (body.taskType !== "TEXT_IMAGE") return malformed("taskType", `${JSON.stringify(body.taskType ?? null)} is not a valid enum value`);
    const params = body.textToImageParams;
    if (!isObject(params)) return malformed("", "required key [textToImageParams] not found");
    const text = params.text;
    if (typeof text !== "string") return malformed("textToImageParams", "required key [text] not found or not a string");
    if (text.length < 1) return malformed("textToImageParams/text", "expected minLength: 1, actual: 0");
    if (text.length > spec.maxPromptLength) {
        return malformed("textToImageParams/text", `expected maxLength: ${spec.maxPromptLength}, actual: ${text.length}`);
    }
    const neg = params.negativeText;
    if (neg !== undefined && (typeof neg !== "string" || neg.length < 3 || neg.length > spec.maxPromptLength)) {
        return malformed("textToImageParams/negativeText", `expected a string of 3 to ${spec.maxPromptLength} characters`);
    }
    const cfg = body.imageGenerationConfig ?? {};
    if (!isObject(cfg)) return malformed("imageGenerationConfig", "expected type: JSONObject");
    const count = cfg.numberOfImages ?? 1;
    if (!inRange(count, 1, 5, true)) return malformed("imageGenerationConfig/numberOfImages", `${count} is not an integer between 1 and 5`);
    const width = cfg.width ?? spec.defaultSize;
    const height = cfg.height ?? spec.defaultSize;
    if (!inRange(width, 1, 100000, true)) return malformed("imageGenerationConfig/width", `${JSON.stringify(width)} is not an integer`);
    if (!inRange(height, 1, 100000, true)) return malformed("imageGenerationConfig/height", `${JSON.stringify(height)} is not an integer`);
    const sizeError = spec.sizeError(width as number, height as number);
    if (sizeError) return malformed("imageGenerationConfig", sizeError);
    if (cfg.quality !== undefined && cfg.quality !== "standard" && cfg.quality !== "premium") {
        return malformed("imageGenerationConfig/quality", `${JSON.stringify(cfg.quality)} is not a valid enum value`);
    }
    if (cfg.cfgScale !== undefined && !inRange(cfg.cfgScale, 1.1, 10, false)) {
        return malformed("imageGenerationConfig/cfgScale", `${JSON.stringify(cfg.cfgScale)} is not between 1.1 and 10.0`);
    }
    const seed = cfg.seed ?? 0;
    if (typeof seed !== "number" || !Number.isInteger(seed)) return malformed("imageGenerationConfig/seed", "expected type: Integer");
    if (seed < 0) return malformed("imageGenerationConfig/seed", `${seed} is not greater or equal to 0`);
    if (seed > spec.maxSeed) return malformed("imageGenerationConfig/seed", `${seed} is not less or equal to ${spec.maxSeed}`);
    return { prompt: text, count: count as number, width: width as number, height: height as number, seed };
}

const SIGV4 = /^AWS4-HMAC-SHA256 Credential=[^/\s,]+\/\d{8}\/[^/\s,]+\/[^/\s,]+\/aws4_request,\s*SignedHeaders=[a-z0-9;-]+,\s*Signature=[0-9a-f]{64}$/;

/** Accepts a model id or a foundation-model ARN. */
function resolveModelId(raw: string): string {
    const marker = ":foundation-model/";
    const i = raw.indexOf(marker);
    return raw.startsWith("arn:") && i >= 0 ? raw.slice(i + marker.length) : raw;
}

export function startBedrockServer(opts: BedrockServerOptions = {}): Promise<BedrockServer> {
    const host = opts.host ?? "127.0.0.1";
    const timeoutHangMs = opts.timeoutHangMs ?? 30000;
    let latencyMs = opts.latencyMs ?? 0;
    const calls: RecordedCall[] = [];
    const queued: FailureMode[] = [];
    let markers: Array<{ marker: string; mode: FailureMode }> = [];
    let rate: { transient: number; permanent: number; random: () => number } | undefined;
    const counters: Record<string, number> = {};
    const timers = new Set<NodeJS.Timeout>();
    const sockets = new Set<Socket>();

    /** The n-th occurrence (0-based) of something, to alternate variants deterministically. */
    const nth = (key: string): number => {
        counters[key] = (counters[key] ?? 0) + 1;
        return counters[key] - 1;
    };

    const wait = (ms: number): Promise<void> =>
        ms <= 0
            ? Promise.resolve()
            : new Promise((resolve) => {
                  const t = setTimeout(() => {
                      timers.delete(t);
                      resolve();
                  }, ms);
                  timers.add(t);
              });

    function pickFailure(prompt: string): FailureMode | undefined {
        if (queued.length > 0) return queued.shift();
        const hit = markers.find((m) => prompt.includes(m.marker));
        if (hit) return hit.mode;
        if (!rate) return undefined;
        const r = rate.random();
        if (r < rate.transient) {
            const kinds: FailureMode[] = ["throttle", "server-error", "model-not-ready"];
            return kinds[Math.min(kinds.length - 1, Math.floor((r / rate.transient) * kinds.length))];
        }
        if (r < rate.transient + rate.permanent) return "content-filter";
        return undefined;
    }

    function send(res: http.ServerResponse, call: RecordedCall, status: number, body: Buffer | string, errorType?: string): void {
        if (res.destroyed || res.writableEnded) {
            call.status = 499; // the client went away before the answer was ready
            return;
        }
        call.status = status;
        const payload = typeof body === "string" ? Buffer.from(body) : body;
        const headers: http.OutgoingHttpHeaders = {
            "content-type": "application/json",
            "content-length": payload.length,
            "x-amzn-RequestId": randomUUID(),
            date: new Date().toUTCString(),
        };
        if (errorType) headers["x-amzn-ErrorType"] = errorType + ERROR_NAMESPACE;
        res.writeHead(status, headers);
        res.end(payload);
    }

    const sendError = (res: http.ServerResponse, call: RecordedCall, e: WireError): void =>
        send(res, call, e.status, JSON.stringify({ message: e.message }), e.type);

    const images = (req: ImageRequest, count: number): string[] =>
        Array.from({ length: count }, (_, i) =>
            renderPostcard({ prompt: req.prompt, seed: req.seed + i, width: req.width, height: req.height }).toString("base64"),
        );

    async function answer(res: http.ServerResponse, call: RecordedCall, req: ImageRequest): Promise<void> {
        const failure = pickFailure(req.prompt);
        call.failure = failure;
        if (failure === "timeout") {
            await wait(timeoutHangMs);
            return sendError(res, call, MODEL_TIMEOUT);
        }
        await wait(latencyMs);
        switch (failure) {
            case undefined:
                return send(res, call, 200, JSON.stringify({ images: images(req, req.count), error: null }));
            case "server-error":
                return sendError(res, call, nth("server-error") % 2 === 0 ? INTERNAL : UNAVAILABLE);
            case "garbage":
                return nth("garbage") % 2 === 0
                    ? send(res, call, 200, "<html><body>upstream proxy error</body></html>")
                    : send(res, call, 200, JSON.stringify({ images: [Buffer.from("definitely not a PNG").toString("base64")], error: null }));
            case "wrong-count":
                return send(res, call, 200, JSON.stringify({ images: images(req, nth("wrong-count") % 2 === 0 ? 0 : 2), error: null }));
            case "model-error-field":
                return send(res, call, 200, JSON.stringify({ images: [], error: "The model could not generate an image for this request." }));
            default:
                return sendError(res, call, FAILURE_ERRORS[failure] ?? INTERNAL);
        }
    }

    async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        if (req.method === "GET" && req.url === "/ping") {
            res.writeHead(200, { "content-type": "application/json" });
            return void res.end(JSON.stringify({ status: "ok" }));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const c of req) {
            size += (c as Buffer).length;
            if (size <= MAX_BODY_BYTES) chunks.push(c as Buffer);
        }
        const raw = Buffer.concat(chunks).toString("utf8");
        const path = (req.url ?? "/").split("?")[0];
        const match = /^\/model\/([^/]+)\/invoke$/.exec(path);
        const modelId = match ? resolveModelId(decodeURIComponent(match[1])) : "";
        let body: any = raw;
        try {
            body = JSON.parse(raw);
        } catch {
            // recorded as raw text; answered with a ValidationException below
        }
        const call: RecordedCall = { modelId, body, status: 0 };
        calls.push(call);
        if (opts.maxRecordedCalls !== undefined && calls.length > opts.maxRecordedCalls) calls.shift();

        if (!match || req.method !== "POST") {
            return sendError(res, call, err(404, "UnknownOperationException", `No operation matches ${req.method} ${path}`));
        }
        const auth = req.headers.authorization;
        if (!auth) return sendError(res, call, err(403, "UnrecognizedClientException", "Missing Authentication Token"));
        if (!SIGV4.test(auth)) {
            return sendError(
                res,
                call,
                err(403, "IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters."),
            );
        }
        const spec = MODEL_SPECS[modelId];
        if (!spec) {
            return sendError(res, call, err(404, "ResourceNotFoundException", "Could not resolve the foundation model from the provided model identifier."));
        }
        if (size > MAX_BODY_BYTES) return sendError(res, call, err(400, "ValidationException", "Input is too long for requested model."));
        if (typeof body === "string") return sendError(res, call, err(400, "ValidationException", "Malformed input request, please reformat your input and try again."));
        const checked = validateTextImage(body, spec);
        if ("type" in checked) return sendError(res, call, checked);
        return answer(res, call, checked);
    }

    const server = http.createServer((req, res) => {
        handle(req, res).catch((e) => {
            if (!res.headersSent && !res.destroyed) {
                res.writeHead(500, { "content-type": "application/json", "x-amzn-ErrorType": INTERNAL.type + ERROR_NAMESPACE });
                res.end(JSON.stringify({ message: `${INTERNAL.message} (${(e as Error).message})` }));
            }
        });
    });
    server.on("connection", (s) => {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
    });

    // A taken port becomes a PortInUseError naming the variable that moves the local model.
    return listen(server, host, opts.port ?? 0, "model (Bedrock-compatible server)", LOCAL_ENV.bedrockPort).then((port) => ({
        url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
        port,
        calls,
        failNext(mode, count = 1) {
            for (let i = 0; i < count; i++) queued.push(mode);
        },
        failWhenPromptIncludes(marker, mode) {
            markers.push({ marker, mode });
        },
        setFailureRate(r) {
            const transient = r.transient ?? 0;
            const permanent = r.permanent ?? 0;
            if (transient < 0 || permanent < 0 || transient + permanent > 1) {
                throw new RangeError("failure shares must be >= 0 and add up to at most 1");
            }
            rate = { transient, permanent, random: r.random ?? Math.random };
        },
        setLatency(ms) {
            latencyMs = ms;
        },
        reset() {
            queued.length = 0;
            markers = [];
            rate = undefined;
            calls.length = 0;
            for (const k of Object.keys(counters)) delete counters[k];
        },
        close() {
            for (const t of timers) clearTimeout(t);
            timers.clear();
            for (const s of sockets) s.destroy();
            return new Promise<void>((done) => server.close(() => done()));
        },
    }));
}
