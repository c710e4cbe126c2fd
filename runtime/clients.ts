/**
 * The clients a handler builds once, at a cold start, each with the settings it needs. A route
 * (routes.ts) or the worker names the ones it uses, so its function's archive holds only their code
 * and its environment only their settings.
 */
import { createImageGenerator, type ImageGenerator } from "./bedrock";
import { requireSettings, type OptionalSetting, type RuntimeConfig } from "./config";
import { createJobQueue, type JobQueue } from "./job-queue";
import { adapterFor, type ModelAdapter } from "./models";
import { createImageStore, createPictureStoreWithLinks, type ImageStore, type PictureLinks } from "./storage";

export interface Client<T> {
  /** Settings beyond the common ones (bucket, prefix, model) it cannot work without. */
  readonly settings: readonly OptionalSetting[];
  /** Builds it; ConfigError when one of its settings is missing. */
  create(config: RuntimeConfig): T;
}

function client<T, K extends OptionalSetting = never>(
  settings: readonly K[],
  create: (config: RuntimeConfig & Required<Pick<RuntimeConfig, K>>) => T,
): Client<T> {
  return { settings, create: (config) => create(requireSettings(config, settings)) };
}

/** Bedrock InvokeModel, `defaultAttempts` tries per call unless BEDROCK_MAX_ATTEMPTS says otherwise. */
export const modelClient = (defaultAttempts: number): Client<ImageGenerator> =>
  client([], (config) => createImageGenerator(config, config.bedrockMaxAttempts ?? defaultAttempts));

/** The model's request rules alone (validation without calling it). */
export const modelRules: Client<ModelAdapter> = client([], (config) => adapterFor(config.modelId));

/** Pictures, sidecars, failure records and job markers under the prefix (S3). */
export const pictureStore: Client<ImageStore> = client([], createImageStore);

/** The picture store and presigned GETs of its pictures, sharing one S3 client. */
export const picturesWithLinks: Client<{ store: ImageStore; links: PictureLinks }> = client(
  ["urlExpirySeconds"],
  createPictureStoreWithLinks,
);

/** The image queue (SQS SendMessage). */
export const jobQueue: Client<JobQueue> = client(["queueUrl"], createJobQueue);
