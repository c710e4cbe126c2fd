/**
 * What a picture request is, wherever it comes from: validation shared by the API and the
 * queue worker, and parsing of SQS message bodies (plain-text prompt or JSON from the API).
 */
import { createHash, randomInt } from "node:crypto";
import { DEFAULTS } from "./defaults";
import type { AspectRatioSizing, ImageParams, ModelAdapter, PixelSizing } from "./models";
import { codePointLength } from "./text";

export type Validation = { ok: true; params: ImageParams } | { ok: false; message: string };

export interface ValidationOptions {
  /** Side length when neither width nor height is given (families sized in pixels). */
  defaultSize: number;
  /** Largest side length accepted (families sized in pixels). */
  maxSide: number;
  /** Seed used when the request has none (random by default). */
  seedWhenMissing?: (adapter: ModelAdapter) => number;
  /**
   * Leave out fields the model does not take instead of rejecting the request: a job queued for
   * the previous model (its quality, cfgScale) still runs after the model is switched.
   */
  dropUnsupported?: boolean;
}

/** Fields a request may carry. */
const REQUEST_FIELDS = ["prompt", "negativeText", "width", "height", "aspectRatio", "quality", "cfgScale", "seed"] as const;

const fail = (message: string): Validation => ({ ok: false, message });

function randomSeed(adapter: ModelAdapter): number {
  return randomInt(adapter.seed.min, adapter.seed.max + 1);
}

/** A seed derived from a job id, so a redelivered message renders the same picture again. */
export function seedFromJobId(jobId: string): (adapter: ModelAdapter) => number {
  return (adapter) => {
    const n = createHash("sha256").update(jobId).digest().readUInt32BE(0);
    return adapter.seed.min + (n % (adapter.seed.max - adapter.seed.min + 1));
  };
}

/** The ratio ("w:h") closest to width/height, comparing logarithms so 2:1 and 1:2 are equally far from 1:1. */
export function nearestAspectRatio(width: number, height: number, ratios: readonly string[]): string {
  const target = Math.log(width / height);
  let best = ratios[0];
  let bestDistance = Infinity;
  for (const ratio of ratios) {
    const [w, h] = ratio.split(":").map(Number);
    const distance = Math.abs(Math.log(w / h) - target);
    if (distance < bestDistance) [best, bestDistance] = [ratio, distance];
  }
  return best;
}

function checkText(value: unknown, field: string, min: number, max: number, required: boolean): string | undefined | { error: string } {
  if (value === undefined || value === null) return required ? { error: `"${field}" is required` } : undefined;
  if (typeof value !== "string") return { error: `"${field}" must be a string` };
  const text = value.trim();
  if (!text) return { error: `"${field}" must not be blank` };
  const length = codePointLength(text);
  if (length < min) return { error: `"${field}" must be at least ${min} characters` };
  if (length > max) return { error: `"${field}" must be at most ${max} characters (got ${length})` };
  return text;
}

function checkNumber(value: unknown, field: string, min: number, max: number, integer: boolean): number | undefined | { error: string } {
  if (value === undefined || value === null) return undefined;
  const ok = typeof value === "number" && (integer ? Number.isInteger(value) : Number.isFinite(value));
  if (!ok || (value as number) < min || (value as number) > max) {
    return { error: `"${field}" must be ${integer ? "an integer" : "a number"} between ${min} and ${max}` };
  }
  return value as number;
}

const isError = (v: unknown): v is { error: string } => typeof v === "object" && v !== null && "error" in v;
const given = (v: unknown) => v !== undefined && v !== null;

type Size = Pick<ImageParams, "width" | "height" | "aspectRatio">;

/** Pixels for families sized in pixels: the given sides (one makes a square) or the default. */
function pixelSize(
  body: Record<string, unknown>,
  adapter: ModelAdapter,
  sizing: PixelSizing,
  opts: ValidationOptions,
): Size | { error: string } {
  const w = checkNumber(body.width, "width", 1, opts.maxSide, true);
  if (isError(w)) return w;
  const h = checkNumber(body.height, "height", 1, opts.maxSide, true);
  if (isError(h)) return h;
  const width = w ?? h ?? opts.defaultSize;
  const height = h ?? w ?? opts.defaultSize;
  if (!sizing.isAllowed(width, height)) {
    return {
      error: `size ${width}x${height} is not supported by ${adapter.family}; use ${sizing.hint} (at most ${opts.maxSide} per side)`,
    };
  }
  return { width, height };
}

/** A ratio for families that choose the pixels: the given one, the one nearest to width/height, or the default. */
function ratioSize(body: Record<string, unknown>, sizing: AspectRatioSizing): Size | { error: string } {
  if (given(body.aspectRatio)) {
    if (given(body.width) || given(body.height)) return { error: 'give "aspectRatio" or "width"/"height", not both' };
    if (typeof body.aspectRatio !== "string" || !sizing.ratios.includes(body.aspectRatio)) {
      return { error: `"aspectRatio" must be one of ${sizing.ratios.join(", ")}` };
    }
    return { aspectRatio: body.aspectRatio };
  }
  const w = checkNumber(body.width, "width", 1, sizing.maxSide, true);
  if (isError(w)) return w;
  const h = checkNumber(body.height, "height", 1, sizing.maxSide, true);
  if (isError(h)) return h;
  if (w === undefined && h === undefined) return { aspectRatio: sizing.defaultRatio };
  return { aspectRatio: nearestAspectRatio(w ?? h!, h ?? w!, sizing.ratios) };
}

/** Validates a request object against the model's limits and fills in defaults. */
export function validateImageRequest(input: unknown, adapter: ModelAdapter, opts: ValidationOptions): Validation {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return fail("request body must be a JSON object");
  const body = { ...(input as Record<string, unknown>) };
  const unknown = Object.keys(body).filter((k) => !(REQUEST_FIELDS as readonly string[]).includes(k));
  if (unknown.length) return fail(`unknown field(s): ${unknown.join(", ")}; allowed: ${REQUEST_FIELDS.join(", ")}`);

  const unsupported = [
    ...(adapter.negativeText ? [] : ["negativeText"]),
    ...(adapter.sizing.kind === "pixels" ? ["aspectRatio"] : []),
    ...(adapter.takesQuality ? [] : ["quality"]),
    ...(adapter.cfgScale ? [] : ["cfgScale"]),
  ].filter((field) => given(body[field]));
  if (unsupported.length && !opts.dropUnsupported)
    return fail(`${adapter.family} does not take ${unsupported.map((f) => `"${f}"`).join(", ")}`);
  for (const field of unsupported) delete body[field];

  const prompt = checkText(body.prompt, "prompt", 1, adapter.maxPromptLength, true);
  if (isError(prompt)) return fail(prompt.error);
  const negativeText = adapter.negativeText
    ? checkText(body.negativeText, "negativeText", adapter.negativeText.min, adapter.negativeText.max, false)
    : undefined;
  if (isError(negativeText)) return fail(negativeText.error);

  const size = adapter.sizing.kind === "pixels" ? pixelSize(body, adapter, adapter.sizing, opts) : ratioSize(body, adapter.sizing);
  if (isError(size)) return fail(size.error);

  if (given(body.quality) && body.quality !== "standard" && body.quality !== "premium") {
    return fail(`"quality" must be "standard" or "premium"`);
  }
  const cfgScale = adapter.cfgScale ? checkNumber(body.cfgScale, "cfgScale", adapter.cfgScale.min, adapter.cfgScale.max, false) : undefined;
  if (isError(cfgScale)) return fail(cfgScale.error);
  const seed = checkNumber(body.seed, "seed", adapter.seed.min, adapter.seed.max, true);
  if (isError(seed)) return fail(seed.error);

  return {
    ok: true,
    params: {
      prompt: prompt as string,
      ...(negativeText ? { negativeText } : {}),
      ...size,
      ...(adapter.takesQuality ? { quality: (body.quality as ImageParams["quality"] | undefined) ?? DEFAULTS.quality } : {}),
      ...(adapter.cfgScale ? { cfgScale: cfgScale ?? DEFAULTS.cfgScale } : {}),
      seed: seed ?? (opts.seedWhenMissing ?? randomSeed)(adapter),
    },
  };
}

/**
 * The request inside an SQS message body. Senders that exist today (the Java client, the original
 * queue) send the prompt itself as plain text; the API sends a JSON object. A body is JSON only
 * when it parses as a JSON object; anything else, even text starting with "{", is a prompt.
 */
export function parseQueueBody(body: string | undefined): { input: Record<string, unknown>; format: "json" | "text" } {
  const text = body ?? "";
  if (text.trimStart().startsWith("{")) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
        return { input: parsed as Record<string, unknown>, format: "json" };
      }
    } catch {
      // not JSON: a prompt that happens to start with "{"
    }
  }
  return { input: { prompt: text }, format: "text" };
}

/** Ids that may appear in keys and URLs: SQS message ids (UUIDs) and similar, never a path. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/**
 * The field of a JSON queue body that names its job. POST /images puts it there: SQS gives a
 * message a new MessageId when it is moved out of the dead-letter queue ("All redriven messages
 * are considered new messages with a new messageID",
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html),
 * while the body is what every move keeps — a redrive, and tools that re-send only the body.
 */
export const JOB_ID_FIELD = "jobId";

/** A queue body's job: its id, the request without the id, and what is wrong with a carried id. */
export interface QueueJob {
  jobId: string;
  input: Record<string, unknown>;
  /** Set when the body carries a `jobId` that is not a usable id (the job then goes by its message id). */
  error?: string;
}

/**
 * The job of a queue record: the body's `jobId` (POST /images) or, for messages that other
 * senders put straight into the queue (plain-text prompts), the message id; such a message that
 * is redriven from the DLQ becomes a new job under its new message id. The request comes back
 * without the `jobId` field; a `jobId` that is not a usable id is an error of the message.
 */
export function jobOfRecord(input: Record<string, unknown>, messageId: string): QueueJob {
  if (!(JOB_ID_FIELD in input)) return { jobId: messageId, input };
  const { [JOB_ID_FIELD]: carried, ...request } = input;
  if (typeof carried !== "string" || !JOB_ID_PATTERN.test(carried)) {
    return { jobId: messageId, input: request, error: `"${JOB_ID_FIELD}" must be 1-128 letters, digits, '-' or '_'` };
  }
  return { jobId: carried, input: request };
}
