/**
 * Pictures, their JSON sidecars and failure records in S3, all under `<prefix>/`.
 *   queue jobs:      <prefix>/images/<jobId>.png + .json, or <prefix>/images/<jobId>.failed.json
 *   POST /generate:  <prefix>/generated_images/<timestamp>-<seed>.png + .json
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { clientRegion, type RuntimeConfig } from "./config";
import { asGenerationError, type FailureCode, type FailureKind } from "./errors";
import type { GeneratedImage } from "./bedrock";

/** What a sidecar says about its picture. */
export interface ImageSidecar {
  prompt: string;
  negativeText?: string;
  model: string;
  /** The seed the model reports (a Stability model's seeds[0]). */
  seed: number;
  /** Read from the PNG. */
  width: number;
  height: number;
  /** The ratio asked of a model that picks its pixels. */
  aspectRatio?: string;
  quality?: string;
  cfgScale?: number;
  /** "api" for POST /generate, "queue" for jobs from SQS. */
  source: "api" | "queue";
  jobId?: string;
  createdAt: string;
}

export interface FailureRecord {
  jobId: string;
  reason: string;
  kind: FailureKind;
  code: FailureCode;
  /** True when the message went to the dead-letter queue, from where it can be redriven. */
  redrivable: boolean;
  prompt?: string;
  model: string;
  failedAt: string;
}

export interface StoredImage {
  key: string;
  s3Uri: string;
  sidecarKey: string;
}

export type JobStatus =
  | { status: "done"; key: string }
  | { status: "failed"; reason: string; code?: string; redrivable: boolean }
  | { status: "pending" };

export interface ImageStore {
  readonly bucket: string;
  readonly prefix: string;
  jobImageKey(jobId: string): string;
  generatedImageKey(seed: number, at?: Date): string;
  /** Writes the PNG, then its sidecar; throws a transient GenerationError ("storage-failed"). */
  saveImage(key: string, png: Buffer, sidecar: ImageSidecar): Promise<StoredImage>;
  saveFailure(record: FailureRecord): Promise<string>;
  jobStatus(jobId: string): Promise<JobStatus>;
  presignGet(key: string): Promise<string>;
}

export function sidecarFor(image: GeneratedImage, source: ImageSidecar["source"], jobId?: string): ImageSidecar {
  const { params } = image;
  return {
    prompt: params.prompt,
    ...(params.negativeText ? { negativeText: params.negativeText } : {}),
    model: image.modelId,
    seed: image.seed,
    width: image.width,
    height: image.height,
    ...(params.aspectRatio ? { aspectRatio: params.aspectRatio } : {}),
    ...(params.quality ? { quality: params.quality } : {}),
    ...(params.cfgScale !== undefined ? { cfgScale: params.cfgScale } : {}),
    source,
    ...(jobId ? { jobId } : {}),
    createdAt: new Date().toISOString(),
  };
}

/** The JSON sidecar beside a picture. */
export function sidecarKeyOf(pngKey: string): string {
  return pngKey.replace(/\.png$/, ".json");
}

/** A missing key (GetObject's "NoSuchKey"); a missing bucket is an error. */
function isNotFound(err: unknown): boolean {
  return (err as { name?: string })?.name === "NoSuchKey";
}

type StorageSettings = Pick<RuntimeConfig, "bucket" | "prefix" | "urlExpirySeconds" | "region" | "s3Endpoint">;

export function createImageStore(config: StorageSettings): ImageStore {
  const clientConfig: S3ClientConfig = { region: clientRegion(config, config.s3Endpoint) };
  if (config.s3Endpoint) {
    clientConfig.endpoint = config.s3Endpoint;
    clientConfig.forcePathStyle = true;
  }
  const s3 = new S3Client(clientConfig);
  const { bucket, prefix } = config;
  const jobBase = (jobId: string) => `${prefix}/images/${jobId}`;

  async function putJson(key: string, value: unknown): Promise<void> {
    await s3.send(new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: Buffer.from(JSON.stringify(value, null, 2)),
      ContentType: "application/json",
    }));
  }

  /** Keys that start with `keyPrefix`: one ListObjectsV2 call, allowed by the `s3:prefix` condition. */
  async function keysStartingWith(keyPrefix: string): Promise<string[]> {
    const answer = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: keyPrefix, MaxKeys: 10 }));
    return (answer.Contents ?? []).map((object) => object.Key ?? "");
  }

  async function readFailure(key: string): Promise<FailureRecord | undefined> {
    try {
      const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return JSON.parse((await answer.Body?.transformToString("utf8")) ?? "{}") as FailureRecord;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  const jobImageKey = (jobId: string) => `${jobBase(jobId)}.png`;
  const failureKey = (jobId: string) => `${jobBase(jobId)}.failed.json`;

  return {
    bucket,
    prefix,
    jobImageKey,
    generatedImageKey: (seed, at = new Date()) => `${prefix}/generated_images/${at.toISOString().replace(/[-:.]/g, "")}-${seed}.png`,

    async saveImage(key, png, sidecar) {
      const sidecarKey = sidecarKeyOf(key);
      try {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: png, ContentType: "image/png" }));
        await putJson(sidecarKey, sidecar);
      } catch (err) {
        throw asGenerationError(err, "storage-failed");
      }
      return { key, s3Uri: `s3://${bucket}/${key}`, sidecarKey };
    },

    async saveFailure(record) {
      const key = failureKey(record.jobId);
      try {
        await putJson(key, record);
      } catch (err) {
        throw asGenerationError(err, "storage-failed");
      }
      return key;
    },

    async jobStatus(jobId) {
      const key = jobImageKey(jobId);
      const failed = failureKey(jobId);
      // A listing, not HeadObject: with ListBucket allowed only under the prefix (an s3:prefix
      // condition), S3 answers HeadObject on a missing key with 403, a listing answers plainly.
      let failure: FailureRecord | undefined;
      try {
        const keys = await keysStartingWith(`${jobBase(jobId)}.`);
        if (keys.includes(key)) return { status: "done", key };
        if (keys.includes(failed)) failure = await readFailure(failed);
      } catch (err) {
        throw asGenerationError(err, "storage-failed");
      }
      if (failure) {
        return { status: "failed", reason: String(failure.reason ?? "generation failed"), code: failure.code, redrivable: failure.redrivable === true };
      }
      return { status: "pending" };
    },

    presignGet: (key) => getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: config.urlExpirySeconds }),
  };
}
