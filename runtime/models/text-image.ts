import { DEFAULTS } from "../defaults";
import { ClassifiedError } from "../errors";
import { idMatcher, type ImageParams, type ModelAdapter, type ParsedImages } from "./adapter";

/**
 * The TEXT_IMAGE request shape shared by Amazon Titan Image Generator v1/v2 and Amazon Nova Canvas:
 * { taskType, textToImageParams: { text, negativeText? }, imageGenerationConfig: {...} } → { images, error }.
 */
function buildTextImageBody(p: ImageParams): unknown {
  return {
    taskType: "TEXT_IMAGE",
    textToImageParams: { text: p.prompt, ...(p.negativeText ? { negativeText: p.negativeText } : {}) },
    imageGenerationConfig: {
      numberOfImages: 1,
      quality: p.quality ?? DEFAULTS.quality,
      cfgScale: p.cfgScale ?? DEFAULTS.cfgScale,
      height: p.height,
      width: p.width,
      seed: p.seed,
    },
  };
}

function parseTextImageResponse(body: unknown): ParsedImages {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new Error("model response is not a JSON object");
  }
  const { images, error } = body as { images?: unknown; error?: unknown };
  if (typeof error === "string" && error.trim()) {
    throw new ClassifiedError("permanent", "model-error", "the model reported an error about this request and made no picture", {
      cause: new Error(error),
    });
  }
  if (!Array.isArray(images)) throw new Error("model response has no images array");
  return { images: images.filter((i): i is string => typeof i === "string") };
}

/**
 * Sizes Titan Image Generator v1 and v2 accept (AWS documentation, width×height); the local
 * Bedrock-compatible server accepts the same. An array, not a Set: Pulumi's function serializer
 * does not carry module-level Sets into the Lambda archive.
 */
export const TITAN_SIZES: readonly string[] = [
  "1024x1024",
  "768x768",
  "512x512",
  "768x1152",
  "384x576",
  "1152x768",
  "576x384",
  "768x1280",
  "384x640",
  "1280x768",
  "640x384",
  "896x1152",
  "448x576",
  "1152x896",
  "576x448",
  "768x1408",
  "384x704",
  "1408x768",
  "704x384",
  "640x1408",
  "320x704",
  "1408x640",
  "704x320",
  "1152x640",
  "1173x640",
];

const textImage = {
  buildBody: buildTextImageBody,
  parseResponse: parseTextImageResponse,
  marketplace: false, // Amazon's own models are not sold through AWS Marketplace
  cfgScale: { min: 1.1, max: 10 },
  takesQuality: true,
};

function titan(family: string, id: string): ModelAdapter {
  return {
    ...textImage,
    family,
    matches: idMatcher(id),
    maxPromptLength: DEFAULTS.maxPromptLength, // Titan's limit is the project's default
    negativeText: { min: 3, max: DEFAULTS.maxPromptLength },
    seed: { min: 0, max: 2147483647 },
    sizing: {
      kind: "pixels",
      isAllowed: (w, h) => TITAN_SIZES.includes(`${w}x${h}`),
      hint: "one of Titan's sizes, e.g. 512x512, 768x768, 1024x1024, 1152x768",
    },
  };
}

export const titanV1 = titan("Titan Image Generator v1", "amazon.titan-image-generator-v1");
export const titanV2 = titan("Titan Image Generator v2", "amazon.titan-image-generator-v2");

export const novaCanvas: ModelAdapter = {
  ...textImage,
  family: "Nova Canvas",
  matches: idMatcher("amazon.nova-canvas-v1"),
  maxPromptLength: 1024,
  negativeText: { min: 3, max: 1024 },
  seed: { min: 0, max: 858993459 },
  sizing: {
    kind: "pixels",
    // Each side 320–4096 and divisible by 16, aspect ratio within 1:4..4:1, at most 4.19 million pixels.
    isAllowed: (w, h) =>
      w >= 320 && h >= 320 && w <= 4096 && h <= 4096 && w % 16 === 0 && h % 16 === 0 && w / h <= 4 && h / w <= 4 && w * h <= 4194304,
    hint: "sides 320–4096 divisible by 16, aspect ratio up to 4:1",
  },
};
