/**
 * Stability AI's text-to-image models on Bedrock (Stable Image Core, Stable Image Ultra, Stable
 * Diffusion 3.5 Large) share one request shape:
 *   { prompt, negative_prompt?, aspect_ratio, mode: "text-to-image", output_format: "png", seed }
 *   → { seeds, finish_reasons, images }
 * All three document the same nine aspect ratios, prompts and negative prompts of up to 10,000
 * characters, a seed where 0 means "random", and finish_reasons null | "Filter reason: …" |
 * "Inference error":
 *   https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-diffusion-stable-image-core-text-image-request-response.html
 *   https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-diffusion-stable-ultra-text-image-request-response.html
 *   https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-diffusion-3-5-large.html
 * The model picks the pixels from the ratio (outputs between 640 and 1,536 px a side).
 */
import { ClassifiedError } from "../errors";
import { idMatcher, type ImageParams, type ModelAdapter, type ParsedImages } from "./adapter";

/** An array, not a Set: Pulumi's function serializer does not carry module-level Sets into the archive. */
const ASPECT_RATIOS: readonly string[] = ["21:9", "16:9", "3:2", "5:4", "1:1", "4:5", "2:3", "9:16", "9:21"];
const DEFAULT_RATIO = "1:1";
const MAX_TEXT = 10000;

function buildStabilityBody(p: ImageParams): unknown {
  return {
    prompt: p.prompt,
    ...(p.negativeText ? { negative_prompt: p.negativeText } : {}),
    aspect_ratio: p.aspectRatio ?? DEFAULT_RATIO,
    mode: "text-to-image",
    output_format: "png",
    seed: p.seed,
  };
}

/** A non-null finish reason means no usable picture, whatever else the answer holds. */
function refusal(reason: unknown): ClassifiedError {
  const text = String(reason);
  if (text.startsWith("Filter reason:")) {
    return new ClassifiedError("permanent", "content-filtered", `the model's content filter refused the picture (${text})`);
  }
  // "Inference error" (or a reason newer than this code): the same request may succeed later.
  return new ClassifiedError("transient", "inference-error", `the model did not finish the picture (${text})`);
}

function parseStabilityResponse(body: unknown): ParsedImages {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new Error("model response is not a JSON object");
  }
  const { seeds, finish_reasons: reasons, images } = body as { seeds?: unknown; finish_reasons?: unknown; images?: unknown };
  const reason = Array.isArray(reasons) ? reasons[0] : undefined;
  if (reason !== null && reason !== undefined) throw refusal(reason);
  if (!Array.isArray(images)) throw new Error("model response has no images array");
  // The docs type seeds as strings and show numbers; both are read.
  const seed = Array.isArray(seeds) ? Number(seeds[0]) : NaN;
  return {
    images: images.filter((i): i is string => typeof i === "string"),
    ...(Number.isInteger(seed) && seed >= 0 ? { seed } : {}),
  };
}

function stability(family: string, id: string): ModelAdapter {
  return {
    family,
    matches: idMatcher(id),
    marketplace: true, // Stability AI's models are sold through AWS Marketplace
    maxPromptLength: MAX_TEXT,
    negativeText: { min: 1, max: MAX_TEXT },
    // 0 asks the model for a random seed, so a chosen seed starts at 1; 4294967294 is SD3.5 Large's
    // documented maximum (Core and Ultra document one more).
    seed: { min: 1, max: 4294967294 },
    takesQuality: false,
    sizing: { kind: "aspect-ratio", ratios: ASPECT_RATIOS, defaultRatio: DEFAULT_RATIO, maxSide: 1536 },
    buildBody: buildStabilityBody,
    parseResponse: parseStabilityResponse,
  };
}

export const stableImageCore = stability("Stable Image Core", "stability.stable-image-core-v1");
export const stableImageUltra = stability("Stable Image Ultra", "stability.stable-image-ultra-v1");
export const stableDiffusion35Large = stability("Stable Diffusion 3.5 Large", "stability.sd3-5-large-v1");
