import { ConfigError } from "../errors";
import type { ModelAdapter } from "./adapter";
import { stableDiffusion35Large, stableImageCore, stableImageUltra } from "./stability";
import { novaCanvas, titanV1, titanV2 } from "./text-image";

export type { AspectRatioSizing, ImageParams, ModelAdapter, ParsedImages, PixelSizing } from "./adapter";

/** Every model family the runtime can talk to. A new family is one new file and one line here. */
export const ADAPTERS: readonly ModelAdapter[] = [stableImageCore, stableImageUltra, stableDiffusion35Large, titanV1, titanV2, novaCanvas];

/** The adapter serving a model id; ConfigError when no family matches. */
export function adapterFor(modelId: string): ModelAdapter {
  const adapter = ADAPTERS.find((a) => a.matches(modelId));
  if (!adapter) {
    throw new ConfigError(`no request adapter for model "${modelId}" (known: ${ADAPTERS.map((a) => a.family).join(", ")})`);
  }
  return adapter;
}
