/**
 * The API's routes: the one table the router (http-handler.ts) and the infrastructure
 * (components/imageApi.ts) read. Each entry names its method and path, the clients it builds at a
 * cold start, the permissions its function needs and its handler. Each route runs in a function of
 * its own, whose archive holds only what its entry reaches.
 *
 *   POST /generate     {"prompt": "…", width?, height?, aspectRatio?, quality?, cfgScale?, negativeText?, seed?}
 *                      (or a text/plain body that is the prompt) → 201 {key, s3Uri, url, seed, model, width, height}
 *   POST /images       same body → SQS job → 202 {id, key, statusUrl, seed}
 *   GET  /images/{id}  → 200 {status: "done", url} | 202 {status: "pending"} | 200 {status: "failed", reason, redrivable}
 *                      | 404 {code: "unknown-job"}
 */
import { randomUUID } from "node:crypto";
import { jobQueue, modelClient, modelRules, pictureStore, picturesWithLinks, type Client } from "./clients";
import type { OptionalSetting, RuntimeConfig } from "./config";
import { DEFAULTS } from "./defaults";
import { HttpError, json, requestObject, type ApiRequest, type LogContext, type RouteResult } from "./http";
import { JOB_ID_PATTERN, validateImageRequest } from "./jobs";
import type { ImageParams, ModelAdapter } from "./models";
import { clearMarker, generateAndStore } from "./pipeline";
import { codePointLength } from "./text";
import { modelTryTimeoutMs } from "./time-budget";

/** What a route's function may do; components/imageApi.ts turns each into IAM. */
export type Permission = "invoke-model" | "read-pictures" | "write-pictures" | "job-markers" | "send-jobs";

export type RouteAnswer = (req: ApiRequest, log: LogContext) => Promise<RouteResult>;

export interface Route {
  /** Short name, used in resource names. */
  key: string;
  method: "GET" | "POST";
  /** API Gateway's notation: `{id}` is a path parameter. */
  path: string;
  description: string;
  permissions: readonly Permission[];
  /** What its clients need beyond the common settings: its function is given these. */
  settings: readonly OptionalSetting[];
  /** Builds its clients (a cold start) and returns what answers its requests. */
  setup(config: RuntimeConfig): RouteAnswer;
}

/** A route's path as a pattern: `/images/{id}` → /^\/images\/([^/]+)$/ and its parameters' names, ["id"]. */
export function pathPattern(path: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    names.push(name);
    return "([^/]+)";
  });
  return { pattern: new RegExp(`^${source}$`), names };
}

type Built<C> = { [K in keyof C]: C[K] extends Client<infer T> ? T : never };

interface RouteDefinition<C extends Record<string, Client<unknown>>> extends Omit<Route, "settings" | "setup"> {
  clients: C;
  handle(req: ApiRequest, clients: Built<C>, log: LogContext): Promise<RouteResult>;
}

function route<C extends Record<string, Client<unknown>>>({ clients, handle, ...entry }: RouteDefinition<C>): Route {
  return {
    ...entry,
    settings: [...new Set(Object.values(clients).flatMap((c) => c.settings))],
    setup(config) {
      const built = Object.fromEntries(Object.entries(clients).map(([name, c]) => [name, c.create(config)])) as Built<C>;
      return (req, log) => handle(req, built, log);
    },
  };
}

/** The request's image parameters, validated against the model's rules; 400 when they break one. */
function validated(req: ApiRequest, rules: ModelAdapter, log: LogContext): ImageParams {
  const input = requestObject(req);
  const prompt = (input as { prompt?: unknown } | null)?.prompt;
  if (typeof prompt === "string") log.promptLength = codePointLength(prompt);
  const checked = validateImageRequest(input, rules, {
    defaultSize: DEFAULTS.apiDefaultImageSize,
    maxSide: DEFAULTS.maxImageSide,
  });
  if (!checked.ok) throw new HttpError(400, "invalid-request", checked.message);
  return checked.params;
}

const generate = route({
  key: "generate",
  method: "POST",
  path: "/generate",
  description: "POST /generate: prompt to picture while the caller waits (runtime HTTP handler)",
  permissions: ["invoke-model", "read-pictures", "write-pictures"],
  clients: { generator: modelClient(DEFAULTS.apiModelAttempts), pictures: picturesWithLinks },
  async handle(req, { generator, pictures: { store, links } }, log) {
    const params = validated(req, generator.adapter, log);
    log.seed = params.seed;
    const tryTimeoutMs = modelTryTimeoutMs(req.timeLeftMs, generator.attempts);
    const { image, stored } = await generateAndStore({ generator, store }, params, {
      key: store.generatedImageKey(params.seed),
      source: "api",
      tryTimeoutMs,
    });
    Object.assign(log, { key: stored.key, generationMs: image.latencyMs });
    const url = await links.presignGet(stored.key);
    return {
      response: json(201, {
        key: stored.key,
        s3Uri: stored.s3Uri,
        url,
        seed: image.seed,
        model: image.modelId,
        width: image.width,
        height: image.height,
      }),
      metrics: { generationLatencyMs: image.latencyMs, imagesGenerated: 1 },
    };
  },
});

/**
 * The job gets its own id, written as its marker before the message is sent, so it is "pending"
 * from the moment the caller hears of it. When SQS refuses the message, the marker is taken back
 * (the caller gets 503 and never learns the id).
 */
const enqueue = route({
  key: "enqueue",
  method: "POST",
  path: "/images",
  description: "POST /images: queues a picture job (runtime HTTP handler)",
  // The job's marker, written before the message is sent and taken back if SQS refuses it.
  permissions: ["send-jobs", "job-markers"],
  clients: { rules: modelRules, store: pictureStore, queue: jobQueue },
  async handle(req, { rules, store, queue }, log) {
    const params = validated(req, rules, log);
    const id = randomUUID();
    log.jobId = id;
    await store.markPending(id, "api");
    const messageId = await queue.send(params, id).catch(async (err: unknown) => {
      Object.assign(log, await clearMarker(store, id));
      throw err;
    });
    const key = store.jobImageKey(id);
    Object.assign(log, { messageId, key });
    return { response: json(202, { id, key, statusUrl: `${req.basePath}/images/${id}`, seed: params.seed }) };
  },
});

const status = route({
  key: "status",
  method: "GET",
  path: "/images/{id}",
  description: "GET /images/{id}: status and URL of a queued picture (runtime HTTP handler)",
  permissions: ["read-pictures"],
  clients: { pictures: picturesWithLinks },
  async handle(req, { pictures: { store, links } }, log) {
    const { id } = req.params;
    if (!JOB_ID_PATTERN.test(id)) throw new HttpError(400, "invalid-request", "image id must be 1-128 letters, digits, '-' or '_'");
    const job = await store.jobStatus(id);
    log.jobStatus = job.status;
    if (job.status === "unknown")
      throw new HttpError(
        404,
        "unknown-job",
        `no job with id ${id}: it was never submitted, or its message has not reached the worker yet`,
      );
    if (job.status === "done") {
      log.key = job.key;
      return { response: json(200, { id, status: "done", key: job.key, url: await links.presignGet(job.key) }) };
    }
    if (job.status === "failed") {
      return {
        response: json(200, { id, status: "failed", reason: job.reason, code: job.code, redrivable: job.redrivable }),
      };
    }
    return { response: json(202, { id, status: "pending" }, { "retry-after": "2" }) };
  },
});

export const ROUTES: readonly Route[] = [generate, enqueue, status];
