/**
 * The image models the Bedrock-compatible server (bedrock-server.ts) knows: their request shapes,
 * limits and lifecycle state, and how Bedrock words its errors about them.
 *
 * Two request shapes:
 * - TEXT_IMAGE (Titan Image Generator v1/v2, Nova Canvas): { taskType, textToImageParams,
 *   imageGenerationConfig } → { images, error };
 * - Stability AI (Stable Image Core / Ultra, SD3.5 Large): { prompt, negative_prompt?,
 *   aspect_ratio?, mode?, output_format?, seed? } → { seeds, finish_reasons, images }, where the
 *   model picks the pixels from the aspect ratio
 *   (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-diffusion-stable-image-core-text-image-request-response.html).
 *
 * Lifecycle as `GetFoundationModel` reports it in late 2026: Stability's three models ACTIVE, Nova
 * Canvas LEGACY (2026-03-30, end of life 2026-09-30), Titan past end of life — the control plane
 * no longer knows them (https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.html
 * and the model cards). InvokeModel still serves Titan and Nova Canvas here, for the adapters'
 * tests and accounts with a private arrangement; the "end-of-life" failure mode plays a retired one.
 */
import { TITAN_SIZES } from "../../runtime/models/text-image";
import { codePointLength } from "../../runtime/text";

/** A Bedrock error as it goes on the wire. */
export interface WireError {
  status: number;
  type: string;
  message: string;
}

export const wireError = (status: number, type: string, message: string): WireError => ({ status, type, message });

export const malformed = (path: string, detail: string): WireError =>
  wireError(400, "ValidationException", `Malformed input request: #/${path}: ${detail}, please reformat your input and try again.`);

/** A validated request, whatever its shape. */
export interface ImageRequest {
  shape: "text-image" | "stability";
  prompt: string;
  count: number;
  width: number;
  height: number;
  seed: number;
}

export type Lifecycle = "ACTIVE" | "LEGACY" | "EOL";

export interface ModelEntry {
  name: string;
  provider: string;
  lifecycle: Lifecycle;
  /** ISO dates of the lifecycle, where the model card gives them. */
  legacySince?: string;
  endOfLife?: string;
  /** Checks an InvokeModel body, the way Bedrock reports a bad one. */
  validate(body: unknown): ImageRequest | WireError;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function inRange(v: unknown, min: number, max: number, integer: boolean): boolean {
  return typeof v === "number" && Number.isFinite(v) && v >= min && v <= max && (!integer || Number.isInteger(v));
}

// ---------------------------------------------------------------------------------------------
// TEXT_IMAGE (Titan, Nova Canvas)

interface TextImageSpec {
  maxSeed: number;
  /** Longest prompt (and negative text) in characters. */
  maxPromptLength: number;
  defaultSize: number;
  sizeError(width: number, height: number): string | undefined;
}

const titan: TextImageSpec = {
  maxSeed: 2147483647,
  maxPromptLength: 512,
  defaultSize: 1024,
  sizeError: (w, h) => (TITAN_SIZES.includes(`${w}x${h}`) ? undefined : `${w}x${h} is not a supported image size`),
};

const novaCanvas: TextImageSpec = {
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

// Characters are code points (codePointLength, an emoji is one), as our runtime counts them: AWS
// documents the limits in characters without naming the unit, so the fake takes our validation's reading.

/** Checks a TEXT_IMAGE body against a model's limits, the way Bedrock reports it. */
function validateTextImage(body: unknown, spec: TextImageSpec): ImageRequest | WireError {
  if (!isObject(body)) return malformed("", "expected type: JSONObject");
  if (body.taskType !== "TEXT_IMAGE") return malformed("taskType", `${JSON.stringify(body.taskType ?? null)} is not a valid enum value`);
  const params = body.textToImageParams;
  if (!isObject(params)) return malformed("", "required key [textToImageParams] not found");
  const text = params.text;
  if (typeof text !== "string") return malformed("textToImageParams", "required key [text] not found or not a string");
  const textLength = codePointLength(text);
  if (textLength < 1) return malformed("textToImageParams/text", "expected minLength: 1, actual: 0");
  if (textLength > spec.maxPromptLength) {
    return malformed("textToImageParams/text", `expected maxLength: ${spec.maxPromptLength}, actual: ${textLength}`);
  }
  const neg = params.negativeText;
  const negLength = typeof neg === "string" ? codePointLength(neg) : 0;
  if (neg !== undefined && (typeof neg !== "string" || negLength < 3 || negLength > spec.maxPromptLength)) {
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
  return {
    shape: "text-image",
    prompt: text,
    count: count as number,
    width: width as number,
    height: height as number,
    seed,
  };
}

// ---------------------------------------------------------------------------------------------
// Stability AI

/**
 * Pixels per aspect ratio. AWS documents only the range (640 to 1,536 px a side); these are the
 * ~1-megapixel sizes Stability's API lists for its SDXL-era text-to-image endpoint (1024x1024,
 * 1152x896, 1216x832, 1344x768, 1536x640 and their transposes), one per documented ratio.
 */
export const STABILITY_PIXELS: Readonly<Record<string, { width: number; height: number }>> = {
  "21:9": { width: 1536, height: 640 },
  "16:9": { width: 1344, height: 768 },
  "3:2": { width: 1216, height: 832 },
  "5:4": { width: 1152, height: 896 },
  "1:1": { width: 1024, height: 1024 },
  "4:5": { width: 896, height: 1152 },
  "2:3": { width: 832, height: 1216 },
  "9:16": { width: 768, height: 1344 },
  "9:21": { width: 640, height: 1536 },
};

const STABILITY_KEYS = ["prompt", "negative_prompt", "aspect_ratio", "mode", "output_format", "seed"];
const STABILITY_MAX_TEXT = 10000;

/** A seed of 0 (or none) asks the model for a random one, which it reports in `seeds`. */
function randomSeed(max: number): number {
  return 1 + Math.floor(Math.random() * max);
}

function validateStability(body: unknown, maxSeed: number): ImageRequest | WireError {
  if (!isObject(body)) return malformed("", "expected type: JSONObject");
  const extra = Object.keys(body).find((k) => !STABILITY_KEYS.includes(k));
  if (extra) return malformed("", `extraneous key [${extra}] is not permitted`);
  const { prompt, negative_prompt: negative, aspect_ratio: ratio = "1:1", mode = "text-to-image", output_format: format = "png" } = body;
  if (typeof prompt !== "string") return malformed("", "required key [prompt] not found or not a string");
  const promptLength = codePointLength(prompt);
  if (promptLength < 1) return malformed("prompt", "expected minLength: 1, actual: 0");
  if (promptLength > STABILITY_MAX_TEXT) return malformed("prompt", `expected maxLength: ${STABILITY_MAX_TEXT}, actual: ${promptLength}`);
  if (negative !== undefined && (typeof negative !== "string" || codePointLength(negative) > STABILITY_MAX_TEXT)) {
    return malformed("negative_prompt", `expected a string of at most ${STABILITY_MAX_TEXT} characters`);
  }
  const pixels = typeof ratio === "string" ? STABILITY_PIXELS[ratio] : undefined;
  if (!pixels) return malformed("aspect_ratio", `${JSON.stringify(ratio)} is not a valid enum value`);
  if (mode !== "text-to-image") return malformed("mode", `${JSON.stringify(mode)} is not a valid enum value`);
  // Bedrock also renders jpeg (and webp for SD3.5); the offline renderer makes PNGs only.
  if (format !== "png") return malformed("output_format", `${JSON.stringify(format)} is not served by this local server (png only)`);
  const seed = body.seed ?? 0;
  if (typeof seed !== "number" || !Number.isInteger(seed)) return malformed("seed", "expected type: Integer");
  if (seed < 0) return malformed("seed", `${seed} is not greater or equal to 0`);
  if (seed > maxSeed) return malformed("seed", `${seed} is not less or equal to ${maxSeed}`);
  return { shape: "stability", prompt, count: 1, ...pixels, seed: seed === 0 ? randomSeed(maxSeed) : seed };
}

// ---------------------------------------------------------------------------------------------
// The catalog

const stability = (name: string, maxSeed: number): ModelEntry => ({
  name,
  provider: "Stability AI",
  lifecycle: "ACTIVE",
  validate: (body) => validateStability(body, maxSeed),
});

/** The image models this server knows, by Bedrock model id. */
export const MODELS: Readonly<Record<string, ModelEntry>> = {
  // Core and Ultra document seeds up to 4294967295, SD3.5 Large up to 4294967294.
  "stability.stable-image-core-v1:1": stability("Stable Image Core 1.1", 4294967295),
  "stability.stable-image-ultra-v1:1": stability("Stable Image Ultra 1.1", 4294967295),
  "stability.sd3-5-large-v1:0": stability("Stable Diffusion 3.5 Large", 4294967294),
  "amazon.nova-canvas-v1:0": {
    name: "Nova Canvas",
    provider: "Amazon",
    lifecycle: "LEGACY",
    legacySince: "2026-03-30",
    endOfLife: "2026-09-30",
    validate: (body) => validateTextImage(body, novaCanvas),
  },
  "amazon.titan-image-generator-v1": {
    name: "Titan Image Generator G1",
    provider: "Amazon",
    lifecycle: "EOL",
    validate: (body) => validateTextImage(body, titan),
  },
  "amazon.titan-image-generator-v2:0": {
    name: "Titan Image Generator G1 v2",
    provider: "Amazon",
    lifecycle: "EOL",
    endOfLife: "2026-06-30",
    validate: (body) => validateTextImage(body, titan),
  },
};

/** GetFoundationModel's answer (restJson1; its timestamps are RFC 3339 date-times) for a model Bedrock still lists. */
export function foundationModelDetails(modelId: string, entry: ModelEntry, region: string): unknown {
  return {
    modelDetails: {
      modelArn: `arn:aws:bedrock:${region}::foundation-model/${modelId}`,
      modelId,
      modelName: entry.name,
      providerName: entry.provider,
      inputModalities: ["TEXT"],
      outputModalities: ["IMAGE"],
      responseStreamingSupported: false,
      customizationsSupported: [],
      inferenceTypesSupported: ["ON_DEMAND"],
      modelLifecycle: {
        status: entry.lifecycle,
        ...(entry.legacySince ? { legacyTime: `${entry.legacySince}T00:00:00Z` } : {}),
        ...(entry.endOfLife ? { endOfLifeTime: `${entry.endOfLife}T00:00:00Z` } : {}),
      },
    },
  };
}
