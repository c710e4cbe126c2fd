/** Image generation over Bedrock Runtime InvokeModel, one picture per call. */
import { BedrockRuntimeClient, InvokeModelCommand, type BedrockRuntimeClientConfig } from "@aws-sdk/client-bedrock-runtime";
import { clientEndpoint, type RuntimeConfig } from "./config";
import { DEFAULTS } from "./defaults";
import { classifyBedrockError, ClassifiedError } from "./errors";
import { adapterFor, type ImageParams, type ModelAdapter } from "./models";
import { pngSize } from "./png";

/** A picture as the model made it: size read from the PNG, seed as the model reports it. */
export interface DecodedImage {
  png: Buffer;
  width: number;
  height: number;
  seed: number;
}

export interface GeneratedImage extends DecodedImage {
  params: ImageParams;
  modelId: string;
  /** Wall time of the InvokeModel call, SDK retries included. */
  latencyMs: number;
}

export interface ImageGenerator {
  readonly modelId: string;
  readonly adapter: ModelAdapter;
  /** Tries per call (the SDK retries throttling, timeouts and 5xx). */
  readonly attempts: number;
  /**
   * Generates one PNG, each try waiting at most `tryTimeoutMs` for the answer (time-budget.ts);
   * throws ClassifiedError (permanent | transient | operator) on any failure.
   */
  generate(params: ImageParams, tryTimeoutMs: number): Promise<GeneratedImage>;
}

type BedrockSettings = Pick<RuntimeConfig, "modelId" | "bedrockRegion" | "endpoints" | "fromProcessEnv">;

function bedrockClient(config: BedrockSettings, attempts: number): BedrockRuntimeClient {
  const clientConfig: BedrockRuntimeClientConfig = {
    region: config.bedrockRegion,
    // The SDK's standard retry strategy retries throttling, timeouts and 5xx with backoff, bounded here.
    maxAttempts: attempts,
  };
  // Each call passes its own per-try timeout (generate); these handler defaults apply to none of ours.
  if (config.endpoints.bedrockRuntime) {
    // Only with an endpoint override (a local Bedrock-compatible server, which speaks HTTP/1.1);
    // loaded lazily so the Lambda archive never needs it.
    const { NodeHttpHandler } = require("@smithy/node-http-handler") as typeof import("@smithy/node-http-handler");
    clientConfig.endpoint = clientEndpoint(config, "bedrockRuntime");
    clientConfig.requestHandler = new NodeHttpHandler({
      requestTimeout: DEFAULTS.bedrockTimeoutMs,
      throwOnRequestTimeout: true,
    });
  } else {
    // The client's default HTTP/2 handler (one stream per request, as the SDK's default).
    clientConfig.requestHandler = { requestTimeout: DEFAULTS.bedrockTimeoutMs, disableConcurrentStreams: true };
  }
  return new BedrockRuntimeClient(clientConfig);
}

/**
 * Reads one PNG out of the model's JSON answer or throws a classified ClassifiedError. A family
 * sized in pixels must return exactly the asked size; one that picks its pixels from a ratio may
 * return any valid PNG.
 */
export function decodeModelAnswer(adapter: ModelAdapter, raw: Uint8Array, params: ImageParams): DecodedImage {
  let parsed;
  try {
    parsed = adapter.parseResponse(JSON.parse(Buffer.from(raw).toString("utf8")));
  } catch (err) {
    if (err instanceof ClassifiedError) throw err;
    throw new ClassifiedError("transient", "bad-response", "the model answered with an unreadable body", {
      cause: err,
    });
  }
  if (parsed.images.length !== 1) {
    throw new ClassifiedError("transient", "bad-response", `model returned ${parsed.images.length} images, expected 1`);
  }
  const png = Buffer.from(parsed.images[0], "base64");
  const size = pngSize(png);
  if (!size) throw new ClassifiedError("transient", "bad-response", "model returned an image that is not a PNG");
  if (adapter.sizing.kind === "pixels" && (size.width !== params.width || size.height !== params.height)) {
    throw new ClassifiedError(
      "transient",
      "bad-response",
      `model returned a ${size.width}x${size.height} PNG, expected ${params.width}x${params.height}`,
    );
  }
  return { png, ...size, seed: parsed.seed ?? params.seed };
}

/** Creates the Bedrock client once; `generate` is then safe to call concurrently. */
export function createImageGenerator(config: BedrockSettings, attempts: number): ImageGenerator {
  const adapter = adapterFor(config.modelId);
  const client = bedrockClient(config, attempts);
  const model = { modelId: config.modelId, region: config.bedrockRegion, attempts };
  return {
    modelId: config.modelId,
    adapter,
    attempts,
    async generate(params, tryTimeoutMs) {
      if (tryTimeoutMs < 1) {
        throw new ClassifiedError(
          "transient",
          "timeout",
          `the model ${config.modelId} was not called: this invocation had no time left for it`,
        );
      }
      const started = Date.now();
      let body: Uint8Array;
      try {
        const answer = await client.send(
          new InvokeModelCommand({
            modelId: config.modelId,
            contentType: "application/json",
            accept: "application/json",
            body: JSON.stringify(adapter.buildBody(params)),
          }),
          // A per-request timeout for each try (smithy-lang/smithy-typescript#1636, 2025).
          { requestTimeout: tryTimeoutMs },
        );
        body = answer.body ?? new Uint8Array();
      } catch (err) {
        throw classifyBedrockError(err, { ...model, timeoutMs: tryTimeoutMs });
      }
      const image = decodeModelAnswer(adapter, body, params);
      return { ...image, params, modelId: config.modelId, latencyMs: Date.now() - started };
    },
  };
}
