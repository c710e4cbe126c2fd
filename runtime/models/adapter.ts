/** What the pipeline needs from a model family; one file per request shape implements it. */

/** Validated parameters of one picture, independent of the model's wire format. */
export interface ImageParams {
  prompt: string;
  negativeText?: string;
  width: number;
  height: number;
  quality: "standard" | "premium";
  cfgScale: number;
  seed: number;
}

/** What a model answered, before the PNG check. */
export interface ParsedImages {
  /** base64 strings as the model returned them. */
  images: string[];
  /** The model's own error message, when it set one. */
  error?: string;
}

export interface ModelAdapter {
  /** Human-readable family name, e.g. "Titan Image Generator v1". */
  readonly family: string;
  /** True when this adapter serves the model id (plain ids and inference-profile ids like "us.…"). */
  matches(modelId: string): boolean;
  readonly maxPromptLength: number;
  /** Inclusive seed range of the model. */
  readonly seed: { min: number; max: number };
  readonly cfgScale: { min: number; max: number };
  isAllowedSize(width: number, height: number): boolean;
  /** Short description of the allowed sizes, used in validation messages. */
  readonly sizeHint: string;
  /** JSON body of InvokeModel for one picture. */
  buildBody(params: ImageParams): unknown;
  /** Reads the decoded JSON answer; throws when its shape is unknown. */
  parseResponse(body: unknown): ParsedImages;
}
