/**
 * What a picture request is, wherever it comes from: validation shared by the HTTP API and the
 * queue worker, and parsing of SQS message bodies (plain-text prompt or JSON from the API).
 */
import { createHash, randomInt } from "node:crypto";
import { DEFAULTS } from "./defaults";
import type { ImageParams, ModelAdapter } from "./models";

export type Validation = { ok: true; params: ImageParams } | { ok: false; message: string };

export interface ValidationOptions {
  /** Side length when neither width nor height is given. */
  defaultSize: number;
  /** Largest side length accepted. */
  maxSide: number;
  /** Seed used when the request has none (random by default). */
  seedWhenMissing?: (adapter: ModelAdapter) => number;
}

/** Fields a request may carry. */
const REQUEST_FIELDS = ["prompt", "negativeText", "width", "height", "quality", "cfgScale", "seed"] as const;

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

function checkText(value: unknown, field: string, min: number, max: number, required: boolean): string | undefined | { error: string } {
  if (value === undefined || value === null) return required ? { error: `"${field}" is required` } : undefined;
  if (typeof value !== "string") return { error: `"${field}" must be a string` };
  const text = value.trim();
  if (!text) return { error: `"${field}" must not be blank` };
  if (text.length < min) return { error: `"${field}" must be at least ${min} characters` };
  if (text.length > max) return { error: `"${field}" must be at most ${max} characters (got ${text.length})` };
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

/** Validates a request object against the model's limits and fills in defaults. */
export function validateImageRequest(input: unknown, adapter: ModelAdapter, opts: ValidationOptions): Validation {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return fail("request body must be a JSON object");
  const body = input as Record<string, unknown>;
  const unknown = Object.keys(body).filter((k) => !(REQUEST_FIELDS as readonly string[]).includes(k));
  if (unknown.length) return fail(`unknown field(s): ${unknown.join(", ")}; allowed: ${REQUEST_FIELDS.join(", ")}`);

  const prompt = checkText(body.prompt, "prompt", 1, adapter.maxPromptLength, true);
  if (isError(prompt)) return fail(prompt.error);
  const negativeText = checkText(body.negativeText, "negativeText", 3, adapter.maxPromptLength, false);
  if (isError(negativeText)) return fail(negativeText.error);

  const w = checkNumber(body.width, "width", 1, opts.maxSide, true);
  if (isError(w)) return fail(w.error);
  const h = checkNumber(body.height, "height", 1, opts.maxSide, true);
  if (isError(h)) return fail(h.error);
  const width = w ?? h ?? opts.defaultSize;
  const height = h ?? w ?? opts.defaultSize;
  if (!adapter.isAllowedSize(width, height)) {
    return fail(`size ${width}x${height} is not supported by ${adapter.family}; use ${adapter.sizeHint} (at most ${opts.maxSide} per side)`);
  }

  if (body.quality !== undefined && body.quality !== "standard" && body.quality !== "premium") {
    return fail(`"quality" must be "standard" or "premium"`);
  }
  const cfgScale = checkNumber(body.cfgScale, "cfgScale", adapter.cfgScale.min, adapter.cfgScale.max, false);
  if (isError(cfgScale)) return fail(cfgScale.error);
  const seed = checkNumber(body.seed, "seed", adapter.seed.min, adapter.seed.max, true);
  if (isError(seed)) return fail(seed.error);

  return {
    ok: true,
    params: {
      prompt: prompt as string,
      ...(negativeText ? { negativeText } : {}),
      width,
      height,
      quality: (body.quality as ImageParams["quality"] | undefined) ?? DEFAULTS.quality,
      cfgScale: cfgScale ?? DEFAULTS.cfgScale,
      seed: seed ?? (opts.seedWhenMissing ?? randomSeed)(adapter),
    },
  };
}

/**
 * The request inside an SQS message body. Senders that exist today (the Java client, the original
 * queue) send the prompt itself as plain text; the HTTP API sends a JSON object. A body is JSON only
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
