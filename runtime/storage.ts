/**
 * Pictures, their JSON sidecars, failure records and pending-job markers, all under `<prefix>/`.
 *   queue jobs:      runtime/keys.ts (<prefix>/images/<jobId>.png + .json, .failed.json, .queued.json)
 *   POST /generate:  <prefix>/generated_images/<timestamp>-<seed>.png + .json
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { clientEndpoint, clientRegion, type RuntimeConfig } from "./config";
import { DEFAULTS } from "./defaults";
import { toClassifiedError, type FailureCode, type FailureKind } from "./errors";
import type { GeneratedImage } from "./bedrock";
import { jobKeys, kindOfKey, type JobKeys } from "./keys";
import { excerpt } from "./text";

/** What a sidecar says about its picture. */
export interface ImageSidecar {
  /** The first DEFAULTS.recordTextLimit characters of the prompt; `promptLength` is the whole prompt's. */
  prompt: string;
  promptLength: number;
  negativeText?: string;
  negativeTextLength?: number;
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
  /** What happened, in our words (what the service said is only in the log). */
  reason: string;
  kind: FailureKind;
  code: FailureCode;
  /** True when the message went to the dead-letter queue, from where it can be redriven. */
  redrivable: boolean;
  /** The first DEFAULTS.recordTextLimit characters of the prompt, and the whole prompt's length. */
  prompt?: string;
  promptLength?: number;
  /** For a message that held no prompt: the start of its body, and the body's length. */
  body?: string;
  bodyLength?: number;
  model: string;
  failedAt: string;
}

/** A failure as the worker reports it: the store keeps only the start of a long prompt or body. */
export type FailureReport = Omit<FailureRecord, "promptLength" | "bodyLength">;

/** A job that is accepted and not finished: written by POST /images, and by the worker whenever it receives the job. */
export interface JobMarker {
  jobId: string;
  /** A marker newer than the job's failure record means the job runs again (a redrive). */
  markedAt: string;
  markedBy: "api" | "worker";
}

export interface StoredImage {
  key: string;
  s3Uri: string;
  sidecarKey: string;
}

/** One object under the prefix, as a listing names it. */
export interface StoredObject {
  key: string;
  lastModified?: Date;
  size?: number;
}

/** One page of a listing; `next` asks for the following one (undefined on the last page). */
export interface ListPage {
  objects: StoredObject[];
  next?: string;
}

export type JobStatus =
  | { status: "done"; key: string }
  | { status: "failed"; reason: string; code?: string; redrivable: boolean }
  | { status: "pending" }
  /** Nothing was ever written for this id: nobody submitted it, or a sender's message was not received yet. */
  | { status: "unknown" };

export interface ImageStore {
  readonly bucket: string;
  readonly prefix: string;
  jobImageKey(jobId: string): string;
  generatedImageKey(seed: number, at?: Date): string;
  /** Writes the PNG, then its sidecar; throws a transient ClassifiedError ("storage-failed"). */
  saveImage(key: string, png: Buffer, sidecar: ImageSidecar): Promise<StoredImage>;
  saveFailure(report: FailureReport): Promise<string>;
  /** Writes the job's marker; throws a transient ClassifiedError ("storage-failed"). */
  markPending(jobId: string, by: JobMarker["markedBy"]): Promise<string>;
  /** Removes the job's marker (nothing happens when there is none); throws like markPending. */
  clearPending(jobId: string): Promise<void>;
  /** A fixed number of reads of the job's own keys (HeadObject/GetObject), never a listing. */
  jobStatus(jobId: string): Promise<JobStatus>;
  /** The objects under the prefix in key order, a page (up to 1,000, one ListObjectsV2) at a time: pass the last page's `next`. */
  list(next?: string): Promise<ListPage>;
  /** A picture's sidecar; undefined while there is none, {} when it is not JSON. */
  readSidecar(imageKey: string): Promise<Partial<ImageSidecar> | undefined>;
  /** A failure record by its key (as `list` names it); undefined when there is none. */
  readFailure(key: string): Promise<Partial<FailureRecord> | undefined>;
  /** A picture or JSON record under the prefix, with its content type; undefined for a missing key or any other key. */
  readObject(key: string): Promise<StoredBytes | undefined>;
}

export interface StoredBytes {
  body: Buffer;
  contentType: "image/png" | "application/json";
}

/** Links callers download pictures with: presigned GETs, valid for URL_EXPIRY_SECONDS. */
export interface PictureLinks {
  presignGet(key: string): Promise<string>;
}

/** `name` and `<name>Length`: at most DEFAULTS.recordTextLimit characters of `text`, and its whole length. */
function bounded<N extends string>(name: N, text: string): Record<N, string> & Record<`${N}Length`, number> {
  const { text: start, length } = excerpt(text, DEFAULTS.recordTextLimit);
  return { [name]: start, [`${name}Length`]: length } as Record<N, string> & Record<`${N}Length`, number>;
}

export function sidecarFor(image: GeneratedImage, source: ImageSidecar["source"], jobId?: string): ImageSidecar {
  const { params } = image;
  return {
    ...bounded("prompt", params.prompt),
    ...(params.negativeText ? bounded("negativeText", params.negativeText) : {}),
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

/**
 * A missing key: GetObject's "NoSuchKey", HeadObject's "NotFound" (a HEAD answer has no body, so
 * a missing bucket looks the same there; jobStatus always reads with GetObject too, which tells).
 * S3 answers 404 only to a caller allowed s3:ListBucket for the key (else 403): the status
 * function's role has it, for keys under the prefix (components/bucketPrefixAccess.ts).
 */
function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string })?.name;
  return name === "NoSuchKey" || name === "NotFound";
}

type StorageSettings = Pick<RuntimeConfig, "bucket" | "prefix" | "region" | "endpoints" | "fromProcessEnv">;

function s3Client(config: Pick<RuntimeConfig, "region" | "endpoints" | "fromProcessEnv">): S3Client {
  const clientConfig: S3ClientConfig = {
    region: clientRegion(config, config.endpoints.s3),
    endpoint: clientEndpoint(config, "s3"),
    // A local S3 (s3rver) has no per-bucket host names; AWS keeps virtual-hosted style.
    forcePathStyle: config.endpoints.s3 !== undefined,
  };
  return new S3Client(clientConfig);
}

/** Presigning makes no request: the S3 client only signs. */
function createPictureLinks(config: StorageSettings & { urlExpirySeconds: number }, s3: S3Client): PictureLinks {
  return {
    presignGet: (key) =>
      getSignedUrl(s3, new GetObjectCommand({ Bucket: config.bucket, Key: key }), {
        expiresIn: config.urlExpirySeconds,
      }),
  };
}

/** The bucket the store reads and writes, with its client. */
interface Bucket {
  s3: S3Client;
  name: string;
}

async function putJson({ s3, name }: Bucket, key: string, value: unknown): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: name,
      Key: key,
      Body: Buffer.from(JSON.stringify(value, null, 2)),
      ContentType: "application/json",
    }),
  );
}

/** The object's body as `read` gives it, undefined when the key does not exist. */
async function readBody<T>(
  { s3, name }: Bucket,
  key: string,
  read: (body: GetObjectCommandOutput["Body"]) => Promise<T>,
): Promise<T | undefined> {
  try {
    const answer = await s3.send(new GetObjectCommand({ Bucket: name, Key: key }));
    return await read(answer.Body);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The object's JSON, undefined when the key does not exist; an unreadable object reads as {}. */
async function readJson<T>(bucket: Bucket, key: string): Promise<Partial<T> | undefined> {
  const text = await readBody(bucket, key, async (body) => (await body?.transformToString("utf8")) ?? "");
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as Partial<T>;
  } catch {
    return {};
  }
}

async function readBytes(bucket: Bucket, key: string): Promise<StoredBytes | undefined> {
  const body = await readBody(bucket, key, async (b) => Buffer.from((await b?.transformToByteArray()) ?? []));
  return body && { body, contentType: kindOfKey(key) === "image" ? "image/png" : "application/json" };
}

async function exists({ s3, name }: Bucket, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: name, Key: key }));
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Wraps S3 errors into a transient "storage-failed" ClassifiedError. */
async function storing<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw toClassifiedError(err, "storage-failed");
  }
}

/** Keys a reader may ask for: ours (under the prefix), pictures and JSON records only. */
function isReadable(prefix: string, key: string): boolean {
  return key.startsWith(`${prefix}/`) && !key.includes("..") && kindOfKey(key) !== undefined;
}

/** Three reads at once, whatever the bucket holds: the picture, the marker, the failure record. */
async function readJobStatus(bucket: Bucket, keys: JobKeys): Promise<JobStatus> {
  const [image, marker, failure] = await storing(() =>
    Promise.all([exists(bucket, keys.image), readJson<JobMarker>(bucket, keys.marker), readJson<FailureRecord>(bucket, keys.failure)]),
  );
  if (image) return { status: "done", key: keys.image };
  // A marker written after the failure record: the job was redriven and runs again.
  const rerun = marker && failure && Date.parse(String(marker.markedAt)) > Date.parse(String(failure.failedAt));
  if (failure && !rerun) {
    return {
      status: "failed",
      reason: String(failure.reason ?? "generation failed"),
      code: failure.code,
      redrivable: failure.redrivable === true,
    };
  }
  return marker ? { status: "pending" } : { status: "unknown" };
}

async function listPage({ s3, name }: Bucket, prefix: string, next: string | undefined): Promise<ListPage> {
  const page = await storing(() => s3.send(new ListObjectsV2Command({ Bucket: name, Prefix: `${prefix}/`, ContinuationToken: next })));
  return {
    objects: (page.Contents ?? []).map((o) => ({ key: o.Key!, lastModified: o.LastModified, size: o.Size })),
    next: page.IsTruncated ? page.NextContinuationToken : undefined,
  };
}

/** The record kept of a failure: only the start of a long prompt or body. */
function failureRecord({ prompt, body, ...report }: FailureReport): FailureRecord {
  return {
    ...report,
    ...(prompt !== undefined ? bounded("prompt", prompt) : {}),
    ...(body !== undefined ? bounded("body", body) : {}),
  };
}

export function createImageStore(config: StorageSettings, s3: S3Client = s3Client(config)): ImageStore {
  const { prefix } = config;
  const bucket: Bucket = { s3, name: config.bucket };
  const keysOf = (jobId: string) => jobKeys(prefix, jobId);

  return {
    bucket: bucket.name,
    prefix,
    jobImageKey: (jobId) => keysOf(jobId).image,
    generatedImageKey: (seed, at = new Date()) => `${prefix}/generated_images/${at.toISOString().replace(/[-:.]/g, "")}-${seed}.png`,

    async saveImage(key, png, sidecar) {
      const sidecarKey = sidecarKeyOf(key);
      // The picture last: it is what says "done" (jobStatus), so a picture always has its sidecar, even
      // when the writer dies between the two and its message then ends in the DLQ instead of being rerun.
      await storing(async () => {
        await putJson(bucket, sidecarKey, sidecar);
        await bucket.s3.send(new PutObjectCommand({ Bucket: bucket.name, Key: key, Body: png, ContentType: "image/png" }));
      });
      return { key, s3Uri: `s3://${bucket.name}/${key}`, sidecarKey };
    },

    async saveFailure(report) {
      const key = keysOf(report.jobId).failure;
      await storing(() => putJson(bucket, key, failureRecord(report)));
      return key;
    },

    async markPending(jobId, markedBy) {
      const key = keysOf(jobId).marker;
      const marker: JobMarker = { jobId, markedAt: new Date().toISOString(), markedBy };
      await storing(() => putJson(bucket, key, marker));
      return key;
    },

    async clearPending(jobId) {
      await storing(() => bucket.s3.send(new DeleteObjectCommand({ Bucket: bucket.name, Key: keysOf(jobId).marker })));
    },

    jobStatus: (jobId) => readJobStatus(bucket, keysOf(jobId)),
    list: (next) => listPage(bucket, prefix, next),
    readSidecar: (imageKey) => storing(() => readJson<ImageSidecar>(bucket, sidecarKeyOf(imageKey))),
    readFailure: (key) => storing(() => readJson<FailureRecord>(bucket, key)),
    readObject: (key) => (isReadable(prefix, key) ? storing(() => readBytes(bucket, key)) : Promise.resolve(undefined)),
  };
}

/** The store and presigned GETs of its pictures, built at a cold start with one S3 client between them. */
export function createPictureStoreWithLinks(config: StorageSettings & { urlExpirySeconds: number }): {
  store: ImageStore;
  links: PictureLinks;
} {
  const s3 = s3Client(config);
  return { store: createImageStore(config, s3), links: createPictureLinks(config, s3) };
}
