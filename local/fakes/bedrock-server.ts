/**
 * A Bedrock-compatible server for tests, benchmarks and local mode: Bedrock Runtime's
 * `InvokeModel` and the control plane's `GetFoundationModel`.
 *
 * It speaks the real wire protocol (restJson1 over HTTP/1.1) so the real `BedrockRuntimeClient`
 * (with an HTTP/1 `NodeHttpHandler`) and `BedrockClient` can talk to it: `POST /model/{modelId}/invoke`
 * and `GET /foundation-models/{modelId}`, a SigV4 `Authorization` header, the models and request
 * shapes of bedrock-models.ts (TEXT_IMAGE for Titan/Nova Canvas, Stability AI's), base64 PNGs from
 * the offline renderer, and errors the way Bedrock sends them (`x-amzn-ErrorType` header +
 * `{"message": …}` body, real status codes).
 *
 * Order of checks for each InvokeModel request (documented so tests can rely on it):
 *  1. route: anything but `POST /model/{id}/invoke` or `GET /foundation-models/{id}` → 404
 *     UnknownOperationException;
 *  2. auth: no `Authorization` header → 403 UnrecognizedClientException ("Missing Authentication
 *     Token"); a header that is not a SigV4 header (`AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
 *     Signature=…`) → 403 IncompleteSignatureException. Signatures are not verified (dummy keys);
 *  3. model: unknown model id (or foundation-model ARN) → 404 ResourceNotFoundException;
 *  4. body: malformed JSON or a body outside the model's limits → 400 ValidationException with a
 *     Bedrock-style "Malformed input request: #/path: …" message. Content-Type is not enforced;
 *  5. injected failures (failNext first, then prompt markers, then the random failure rate); they
 *     only hit requests that passed 1–4, so an invalid request never consumes an injected failure;
 *  6. latency, then `{"images": [...], "error": null}` (TEXT_IMAGE) or
 *     `{"seeds": [...], "finish_reasons": [null], "images": [...]}` (Stability; the model picks the
 *     pixels from `aspect_ratio`, bedrock-models.ts STABILITY_PIXELS).
 * Failure modes that a model family reports in its own way: a content filter is a 400
 * ValidationException for TEXT_IMAGE and finish reason "Filter reason: prompt" for Stability; the
 * model's own error is TEXT_IMAGE's `error` field and Stability's "Inference error".
 * `GetFoundationModel` answers a model's lifecycle (ACTIVE / LEGACY), or 404 ResourceNotFoundException
 * for an unknown model or one past its end of life; it is recorded in `lookups`, not `calls`.
 * `GET /ping` answers `{"status":"ok"}` (the local mode's health check) and is not recorded.
 */
import * as http from "node:http";
import { randomUUID } from "node:crypto";
import { foundationModelDetails, MODELS, wireError as err, type ImageRequest, type WireError } from "./bedrock-models";
import { renderPostcard } from "./renderer";
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
  | "model-error-field"
  /** Stability's finish reasons (TEXT_IMAGE models answer them as a content filter or their error field). */
  | "filter-prompt"
  | "filter-output-image"
  | "inference-error"
  /** Bedrock's answer for a retired model. */
  | "end-of-life";

/** Failures a GetFoundationModel lookup can be given. */
export type LookupFailure = "access-denied" | "throttle" | "server-error";

export interface BedrockServerOptions {
  /** @default 0 (an ephemeral port) */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
  /** The environment variable that moves this server, named when its port is taken. */
  portVariable?: string;
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
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each model's request shape; the tests read the one they sent
  body: any;
  /** HTTP status answered (0 while a "timeout" call is still being held). */
  status: number;
  failure?: FailureMode;
}

export interface BedrockServer {
  url: string;
  port: number;
  calls: RecordedCall[];
  /** Model ids asked for with GetFoundationModel, in order. */
  lookups: string[];
  /** The next `count` (default 1) valid calls fail that way. */
  failNext(mode: FailureMode, count?: number): void;
  /** The next GetFoundationModel lookup fails that way (after authentication). */
  failNextLookup(mode: LookupFailure): void;
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

const MAX_BODY_BYTES = 1024 * 1024;
const ERROR_NAMESPACE = ":http://internal.amazon.com/coral/com.amazon.bedrock/";

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
const END_OF_LIFE = err(
  404,
  "ResourceNotFoundException",
  "This model version has reached the end of its life. Please refer to the AWS documentation for more details.",
);
const NO_SUCH_MODEL = err(404, "ResourceNotFoundException", "Could not resolve the foundation model from the provided model identifier.");
const INTERNAL = err(500, "InternalServerException", "The server encountered an internal error while processing the request.");
const UNAVAILABLE = err(503, "ServiceUnavailableException", "The service is temporarily unavailable. Please try again later.");
const MODEL_TIMEOUT = err(408, "ModelTimeoutException", "Model has timed out in processing the request. Try your request again.");

const SIGV4 =
  /^AWS4-HMAC-SHA256 Credential=[^/\s,]+\/\d{8}\/[^/\s,]+\/[^/\s,]+\/aws4_request,\s*SignedHeaders=[a-z0-9;-]+,\s*Signature=[0-9a-f]{64}$/;

/** The region a SigV4 header was signed for (its credential scope). */
function signedRegion(auth: string): string {
  return /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(auth)?.[1] ?? "us-east-1";
}

/** Accepts a model id or a foundation-model ARN. */
function resolveModelId(raw: string): string {
  const marker = ":foundation-model/";
  const i = raw.indexOf(marker);
  return raw.startsWith("arn:") && i >= 0 ? raw.slice(i + marker.length) : raw;
}

/** Answers on the wire: the status and body, Bedrock's headers, and the status in the recorded call. */
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

/** A successful answer in the request's shape, with these images. */
const picture = (req: ImageRequest, list: string[]): string =>
  JSON.stringify(
    req.shape === "stability"
      ? { seeds: list.map((_, i) => req.seed + i), finish_reasons: list.map(() => null), images: list }
      : { images: list, error: null },
  );

/** Stability's way of saying there is no usable picture: HTTP 200 with a finish reason. */
const finished = (req: ImageRequest, reason: string, withImage: boolean): string =>
  JSON.stringify(withImage ? { seeds: [req.seed], finish_reasons: [reason], images: images(req, 1) } : { finish_reasons: [reason] });

/** Content filter and model error, each family in its own words. */
function refusal(res: http.ServerResponse, call: RecordedCall, req: ImageRequest, failure: FailureMode): void {
  const modelError = failure === "model-error-field" || failure === "inference-error";
  if (req.shape === "stability") {
    if (modelError) return send(res, call, 200, finished(req, "Inference error", true));
    return failure === "filter-output-image"
      ? send(res, call, 200, finished(req, "Filter reason: output image", true))
      : send(res, call, 200, finished(req, "Filter reason: prompt", false));
  }
  if (modelError)
    return send(res, call, 200, JSON.stringify({ images: [], error: "The model could not generate an image for this request." }));
  return sendError(res, call, FAILURE_ERRORS["content-filter"]!);
}

/** 403 for a request without a SigV4 Authorization header, as Bedrock answers it; undefined when it has one. */
function authFailure(auth: string | undefined): WireError | undefined {
  if (!auth) return err(403, "UnrecognizedClientException", "Missing Authentication Token");
  if (!SIGV4.test(auth)) {
    return err(
      403,
      "IncompleteSignatureException",
      "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.",
    );
  }
  return undefined;
}

/** The failures asked for: failNext's queue first, then prompt markers, then the random rate. */
function createFailurePlan() {
  const queued: FailureMode[] = [];
  const queuedLookups: LookupFailure[] = [];
  let markers: Array<{ marker: string; mode: FailureMode }> = [];
  let rate: { transient: number; permanent: number; random: () => number } | undefined;
  const counters: Record<string, number> = {};

  function fromRate(): FailureMode | undefined {
    if (!rate) return undefined;
    const r = rate.random();
    if (r < rate.transient) {
      const kinds: FailureMode[] = ["throttle", "server-error", "model-not-ready"];
      return kinds[Math.min(kinds.length - 1, Math.floor((r / rate.transient) * kinds.length))];
    }
    return r < rate.transient + rate.permanent ? "content-filter" : undefined;
  }

  return {
    queued,
    queuedLookups,
    /** The n-th occurrence (0-based) of something, to alternate variants deterministically. */
    nth(key: string): number {
      counters[key] = (counters[key] ?? 0) + 1;
      return counters[key] - 1;
    },
    pick(prompt: string): FailureMode | undefined {
      if (queued.length > 0) return queued.shift();
      return markers.find((m) => prompt.includes(m.marker))?.mode ?? fromRate();
    },
    addMarker(marker: string, mode: FailureMode): void {
      markers.push({ marker, mode });
    },
    setRate(r: { transient?: number; permanent?: number; random?: () => number }): void {
      const transient = r.transient ?? 0;
      const permanent = r.permanent ?? 0;
      if (transient < 0 || permanent < 0 || transient + permanent > 1) {
        throw new RangeError("failure shares must be >= 0 and add up to at most 1");
      }
      rate = { transient, permanent, random: r.random ?? Math.random };
    },
    reset(): void {
      queued.length = 0;
      queuedLookups.length = 0;
      markers = [];
      rate = undefined;
      for (const k of Object.keys(counters)) delete counters[k];
    },
  };
}

type FailurePlan = ReturnType<typeof createFailurePlan>;

/** Delays that close() cuts short. */
function createTimers() {
  const timers = new Set<NodeJS.Timeout>();
  return {
    wait(ms: number): Promise<void> {
      if (ms <= 0) return Promise.resolve();
      return new Promise((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, ms);
        timers.add(t);
      });
    },
    clear(): void {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}

interface Answering {
  plan: FailurePlan;
  wait(ms: number): Promise<void>;
  latencyMs(): number;
  timeoutHangMs: number;
}

/** A valid request's answer: a picture, or the failure the plan picks for it. */
async function answer(res: http.ServerResponse, call: RecordedCall, req: ImageRequest, how: Answering): Promise<void> {
  const failure = how.plan.pick(req.prompt);
  call.failure = failure;
  if (failure === "timeout") {
    await how.wait(how.timeoutHangMs);
    return sendError(res, call, MODEL_TIMEOUT);
  }
  await how.wait(how.latencyMs());
  const nth = how.plan.nth;
  switch (failure) {
    case undefined:
      return send(res, call, 200, picture(req, images(req, req.count)));
    case "server-error":
      return sendError(res, call, nth("server-error") % 2 === 0 ? INTERNAL : UNAVAILABLE);
    case "garbage":
      return nth("garbage") % 2 === 0
        ? send(res, call, 200, "<html><body>upstream proxy error</body></html>")
        : send(res, call, 200, picture(req, [Buffer.from("definitely not a PNG").toString("base64")]));
    case "wrong-count":
      return send(res, call, 200, picture(req, images(req, nth("wrong-count") % 2 === 0 ? 0 : 2)));
    case "content-filter":
    case "filter-prompt":
    case "filter-output-image":
    case "model-error-field":
    case "inference-error":
      return refusal(res, call, req, failure);
    case "end-of-life":
      return sendError(res, call, END_OF_LIFE);
    default:
      return sendError(res, call, FAILURE_ERRORS[failure] ?? INTERNAL);
  }
}

/** GetFoundationModel: the model's lifecycle, or 404 for one Bedrock no longer (or never) listed. */
function describe(req: http.IncomingMessage, res: http.ServerResponse, modelId: string, lookups: string[], plan: FailurePlan): void {
  const call: RecordedCall = { modelId, body: undefined, status: 0 }; // answered, not kept in `calls`
  const denied = authFailure(req.headers.authorization);
  if (denied) return sendError(res, call, denied);
  lookups.push(modelId);
  const failure = plan.queuedLookups.shift();
  if (failure === "server-error") return sendError(res, call, INTERNAL);
  if (failure) return sendError(res, call, FAILURE_ERRORS[failure]!);
  const entry = MODELS[modelId];
  if (!entry) return sendError(res, call, NO_SUCH_MODEL);
  if (entry.lifecycle === "EOL") return sendError(res, call, END_OF_LIFE);
  send(res, call, 200, JSON.stringify(foundationModelDetails(modelId, entry, signedRegion(req.headers.authorization!))));
}

/** The body as text (at most MAX_BODY_BYTES of it) and its whole size. */
async function readBody(req: http.IncomingMessage): Promise<{ raw: string; size: number }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size <= MAX_BODY_BYTES) chunks.push(c as Buffer);
  }
  return { raw: Buffer.concat(chunks).toString("utf8"), size };
}

/** The JSON body, or the raw text when it is not JSON (recorded as such, answered with a ValidationException). */
function parseBody(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Checks 1–4 of an InvokeModel request (see the top of this file): its error, or the image request. */
function checkInvoke(
  req: http.IncomingMessage,
  path: string,
  modelId: string | undefined,
  body: unknown,
  size: number,
): ImageRequest | WireError {
  if (modelId === undefined || req.method !== "POST")
    return err(404, "UnknownOperationException", `No operation matches ${req.method} ${path}`);
  const denied = authFailure(req.headers.authorization);
  if (denied) return denied;
  const model = MODELS[modelId];
  if (!model) return NO_SUCH_MODEL;
  if (size > MAX_BODY_BYTES) return err(400, "ValidationException", "Input is too long for requested model.");
  if (typeof body === "string")
    return err(400, "ValidationException", "Malformed input request, please reformat your input and try again.");
  return model.validate(body);
}

/** The model id in a request path, decoded (an id or a foundation-model ARN). */
function pathModelId(path: string, pattern: RegExp): string | undefined {
  const match = pattern.exec(path);
  return match ? resolveModelId(decodeURIComponent(match[1])) : undefined;
}

function answerPing(res: http.ServerResponse): void {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ status: "ok" }));
}

/** Answers what the request handler threw with Bedrock's 500, if nothing was sent yet. */
function answerCrash(res: http.ServerResponse, e: unknown): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(500, { "content-type": "application/json", "x-amzn-ErrorType": INTERNAL.type + ERROR_NAMESPACE });
  res.end(JSON.stringify({ message: `${INTERNAL.message} (${(e as Error).message})` }));
}

/** What the server keeps between requests: the calls it saw and how it is told to answer. */
interface ServerState {
  calls: RecordedCall[];
  lookups: string[];
  plan: FailurePlan;
  answering: Answering;
  maxRecordedCalls?: number;
}

function record(state: ServerState, call: RecordedCall): void {
  state.calls.push(call);
  if (state.maxRecordedCalls !== undefined && state.calls.length > state.maxRecordedCalls) state.calls.shift();
}

async function handle(state: ServerState, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (req.method === "GET" && req.url === "/ping") return answerPing(res);
  const { raw, size } = await readBody(req);
  const path = (req.url ?? "/").split("?")[0];
  const lookup = pathModelId(path, /^\/foundation-models\/([^/]+)$/);
  if (lookup !== undefined && req.method === "GET") return describe(req, res, lookup, state.lookups, state.plan);
  const modelId = pathModelId(path, /^\/model\/([^/]+)\/invoke$/);
  const body = parseBody(raw);
  const call: RecordedCall = { modelId: modelId ?? "", body, status: 0 };
  record(state, call);
  const checked = checkInvoke(req, path, modelId, body, size);
  if ("type" in checked) return sendError(res, call, checked);
  return answer(res, call, checked, state.answering);
}

/** What a test does to the running server: plan failures, change the latency, forget the calls, close. */
function serverControls(state: ServerState, setLatency: (ms: number) => void, close: () => Promise<void>) {
  const { plan } = state;
  return {
    failNext(mode: FailureMode, count = 1) {
      for (let i = 0; i < count; i++) plan.queued.push(mode);
    },
    failNextLookup(mode: LookupFailure) {
      plan.queuedLookups.push(mode);
    },
    failWhenPromptIncludes: plan.addMarker,
    setFailureRate: plan.setRate,
    setLatency,
    reset() {
      plan.reset();
      state.lookups.length = 0;
      state.calls.length = 0;
    },
    close,
  };
}

export function startBedrockServer(opts: BedrockServerOptions = {}): Promise<BedrockServer> {
  const host = opts.host ?? "127.0.0.1";
  let latencyMs = opts.latencyMs ?? 0;
  const plan = createFailurePlan();
  const timers = createTimers();
  const state: ServerState = {
    calls: [],
    lookups: [],
    plan,
    answering: { plan, wait: timers.wait, latencyMs: () => latencyMs, timeoutHangMs: opts.timeoutHangMs ?? 30000 },
    maxRecordedCalls: opts.maxRecordedCalls,
  };
  const server = http.createServer((req, res) => {
    handle(state, req, res).catch((e: unknown) => answerCrash(res, e));
  });
  const close = () => {
    timers.clear();
    const closed = new Promise<void>((done) => server.close(() => done()));
    server.closeAllConnections(); // also the held "timeout" calls, at once
    return closed;
  };

  // A taken port becomes a PortInUseError naming the variable that moves the local model.
  return listen(server, host, opts.port ?? 0, "model (Bedrock-compatible server)", opts.portVariable).then((port) => ({
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    calls: state.calls,
    lookups: state.lookups,
    ...serverControls(state, (ms) => (latencyMs = ms), close),
  }));
}
