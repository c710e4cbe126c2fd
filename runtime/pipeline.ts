/** What both handlers share: configuration, SDK clients, logging, and "generate then store". */
import { createImageGenerator, type GeneratedImage, type ImageGenerator } from "./bedrock";
import { readConfig, requireSettings, type Env, type OptionalSetting, type RuntimeConfig } from "./config";
import { ENV } from "./env";
import { createLogger, type Logger, type LogSink } from "./log";
import type { ImageParams } from "./models";
import { sidecarFor, createImageStore, type ImageSidecar, type ImageStore, type StoredImage } from "./storage";

export interface HandlerOptions {
  /** Where log lines go (default: process.stdout). Tests pass a collector. */
  log?: LogSink;
}

export interface Services {
  config: RuntimeConfig;
  generator: ImageGenerator;
  store: ImageStore;
}

/** Either ready services or the configuration error that prevents them; never throws. */
export type HandlerSetup = { logger: Logger } & ({ services: Services; configError?: undefined } | { services?: undefined; configError: Error });

/** The SDK clients of one handler; `defaultAttempts` is its own number of tries per model call, unless the config sets one. */
export function createServices(config: RuntimeConfig, defaultAttempts: number): Services {
  return { config, generator: createImageGenerator(config, config.bedrockMaxAttempts ?? defaultAttempts), store: createImageStore(config) };
}

/**
 * Reads configuration and creates the SDK clients once, when a handler is created (Lambda cold
 * start). A configuration error is kept, logged once here and reported by every invocation.
 */
export function setupHandler(env: Env, options: HandlerOptions, handler: string, defaultAttempts: number, needs: readonly OptionalSetting[]): HandlerSetup {
  // Read directly, not through readConfig: a misconfigured function still logs under its own name.
  const logger = createLogger(options.log, env[ENV.metricsService]?.trim() || undefined);
  try {
    return { logger, services: createServices(requireSettings(readConfig(env), needs), defaultAttempts) };
  } catch (err) {
    const configError = err instanceof Error ? err : new Error(String(err));
    logger.write({ level: "error", msg: "configuration error", handler, error: configError.message });
    return { logger, configError };
  }
}

export interface GenerationResult {
  image: GeneratedImage;
  stored: StoredImage;
}

/** Where a picture goes and how long its model call may wait. */
export interface PictureJob {
  key: string;
  source: ImageSidecar["source"];
  jobId?: string;
  /** Per-try wait of the model call (time-budget.ts). */
  tryTimeoutMs: number;
}

/** One picture: InvokeModel, PNG check, PutObject of the PNG and its sidecar. */
export async function generateAndStore(
  services: Pick<Services, "generator" | "store">,
  params: ImageParams,
  { key, source, jobId, tryTimeoutMs }: PictureJob,
): Promise<GenerationResult> {
  const image = await services.generator.generate(params, tryTimeoutMs);
  const stored = await services.store.saveImage(key, image.png, sidecarFor(image, source, jobId));
  return { image, stored };
}
