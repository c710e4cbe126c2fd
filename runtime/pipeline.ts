/** What both handlers share: set-up, logging, and "generate then store". */
import type { GeneratedImage, ImageGenerator } from "./bedrock";
import type { Env } from "./config";
import { ENV } from "./env";
import { logMessage, toClassifiedError } from "./errors";
import { createLogger, type Logger, type LogSink } from "./log";
import type { ImageParams } from "./models";
import { sidecarFor, type ImageSidecar, type ImageStore, type StoredImage } from "./storage";

export interface HandlerOptions {
  /** Where log lines go (default: process.stdout). Tests pass a collector. */
  log?: LogSink;
}

/** What a handler's set-up gave: its value, or the configuration error that prevents it. */
export type Configured<T> = { value: T; error?: undefined } | { value?: undefined; error: Error };

/** The handler's logger; METRICS_SERVICE is read directly, so a misconfigured function still logs under its own name. */
export function handlerLogger(env: Env, options: HandlerOptions): Logger {
  return createLogger(options.log, env[ENV.metricsService]?.trim() || undefined);
}

/**
 * Runs one step of a handler's set-up (reading its configuration, building its clients) once, when
 * the handler is created (Lambda cold start). A configuration error is kept, logged once here and
 * reported by every invocation; never throws.
 */
export function configured<T>(logger: Logger, handler: string, build: () => T): Configured<T> {
  try {
    return { value: build() };
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    logger.write({ level: "error", msg: "configuration error", handler, error: error.message });
    return { error };
  }
}

/**
 * Removes a job's marker once it ended (worker) or was never sent (POST /images); a marker left
 * behind is outranked anyway (storage.ts jobStatus), so only noted in the log line.
 */
export async function clearMarker(store: ImageStore, jobId: string): Promise<{ markerLeft?: string }> {
  try {
    await store.clearPending(jobId);
    return {};
  } catch (err) {
    return { markerLeft: logMessage(toClassifiedError(err, "storage-failed")) };
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
  services: { generator: ImageGenerator; store: ImageStore },
  params: ImageParams,
  { key, source, jobId, tryTimeoutMs }: PictureJob,
): Promise<GenerationResult> {
  const image = await services.generator.generate(params, tryTimeoutMs);
  const stored = await services.store.saveImage(key, image.png, sidecarFor(image, source, jobId));
  return { image, stored };
}
