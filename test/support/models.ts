import { strict as assert } from "node:assert";
import type { RecordedCall } from "../../local/fakes/bedrock-server";

/** The exam's model (retired): the tests written around its TEXT_IMAGE shape, sizes and 512-character prompts use it. */
export const TITAN = "amazon.titan-image-generator-v1";

/** The body Stability's text-to-image models get: the prompt, a 1:1 PNG and the seed the handler chose. */
export function assertStabilityTextToImage(call: RecordedCall, modelId: string, prompt: string): void {
  assert.equal(call.modelId, modelId);
  assert.deepEqual(call.body, { prompt, aspect_ratio: "1:1", mode: "text-to-image", output_format: "png", seed: call.body.seed });
}
