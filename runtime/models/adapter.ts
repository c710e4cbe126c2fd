/** What the pipeline needs from a model family; one file per request shape implements it. */

/**
 * Validated parameters of one picture, independent of the model's wire format. Also the JSON
 * body `POST /images` queues (with the job's id, runtime/jobs.ts JOB_ID_FIELD), so every field is
 * a request field the worker validates again.
 */
export interface ImageParams {
  prompt: string;
  negativeText?: string;
  /** Exact pixels, for families sized in pixels (Titan, Nova Canvas). */
  width?: number;
  height?: number;
  /** One of the family's ratios, for families that choose the pixels themselves (Stability). */
  aspectRatio?: string;
  /** Titan / Nova Canvas only. */
  quality?: "standard" | "premium";
  /** Titan / Nova Canvas only. */
  cfgScale?: number;
  seed: number;
}

/** What a model answered, before the PNG check. */
export interface ParsedImages {
  /** base64 strings as the model returned them. */
  images: string[];
  /** The seed the model reports for the first picture, when it reports one. */
  seed?: number;
}

/** The caller names the pixels; the model must return exactly those. */
export interface PixelSizing {
  readonly kind: "pixels";
  isAllowed(width: number, height: number): boolean;
  /** Short description of the allowed sizes, used in validation messages. */
  readonly hint: string;
}

/** The caller names an aspect ratio (or width/height, mapped to the nearest ratio); the model picks the pixels. */
export interface AspectRatioSizing {
  readonly kind: "aspect-ratio";
  /** "w:h" strings, as the model documents them. */
  readonly ratios: readonly string[];
  readonly defaultRatio: string;
  /** Largest width or height a caller may give to express a ratio (the model's largest output side). */
  readonly maxSide: number;
}

export interface ModelAdapter {
  /** Human-readable family name, e.g. "Titan Image Generator v1". */
  readonly family: string;
  /** True when this adapter serves the model id (plain ids and inference-profile ids like "us.…"). */
  matches(modelId: string): boolean;
  /**
   * True when the model is sold through AWS Marketplace, so an account needs its agreement before
   * the first call (every provider but Amazon, DeepSeek, Mistral AI, Meta and Qwen:
   * https://docs.aws.amazon.com/bedrock/latest/userguide/model-access.html).
   */
  readonly marketplace: boolean;
  readonly maxPromptLength: number;
  /** Length range of the negative text; undefined when the family takes none. */
  readonly negativeText?: { min: number; max: number };
  /** Inclusive range of seeds a caller may choose. */
  readonly seed: { min: number; max: number };
  /** cfgScale range; undefined when the family takes none. */
  readonly cfgScale?: { min: number; max: number };
  /** Whether the family takes "quality" (standard | premium). */
  readonly takesQuality: boolean;
  readonly sizing: PixelSizing | AspectRatioSizing;
  /** JSON body of InvokeModel for one picture. */
  buildBody(params: ImageParams): unknown;
  /**
   * Reads the decoded JSON answer. Throws a ClassifiedError when the model reports that it made
   * no usable picture (content filter, its own error), any other error when the shape is unknown.
   */
  parseResponse(body: unknown): ParsedImages;
}

/** Matches "<family id>" with an optional cross-region inference-profile prefix ("us.", "eu.", …). */
export function idMatcher(id: string): (modelId: string) => boolean {
  return (modelId) =>
    modelId === id || modelId.startsWith(`${id}:`) || new RegExp(`^[a-z]{2,4}\\.${id.replace(/\./g, "\\.")}(:|$)`).test(modelId);
}
