/**
 * `GET /health` of the local mode: every component checked for real, each time it is asked.
 *
 *   objectStore  HeadBucket on the bucket, and a listing under the prefix that follows one
 *                continuation token (the gallery and job status need listings past one page)
 *   queue        GetQueueAttributes on the queue and the DLQ (their depths are reported too)
 *   model        GET /ping on the local model server; real Bedrock (MODEL=bedrock) is not checked
 *   worker       running / stopping, time and outcome of its last poll; degraded while polls fail
 *   api          ok (it is answering this request)
 *
 * The overall status is "ok" only when every component is; the API then answers 200, else 503.
 */
import { HeadBucketCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { WorkerStats } from "./worker";

/** Longest a single probe may take before its component counts as unreachable. */
const PROBE_TIMEOUT_MS = 2000;

/** A component's status; "not checked" (real Bedrock) does not make the whole service unhealthy. */
export type ComponentStatus = "ok" | "unreachable" | "degraded" | "stopping" | "not checked";

export interface ComponentHealth {
  status: ComponentStatus;
  error?: string;
  [detail: string]: unknown;
}

export interface QueueDepth {
  url: string;
  visible: number;
  inFlight: number;
  delayed: number;
}

export interface HealthReport {
  status: "ok" | "degraded";
  components: Record<string, ComponentHealth>;
  queues?: { queue: QueueDepth; dlq: QueueDepth };
}

/** Depth of one queue. local-aws-sqs counts in-flight messages in ApproximateNumberOfMessages too (SQS does not). */
export async function queueDepth(sqs: SQSClient, queueUrl: string, abortSignal?: AbortSignal): Promise<QueueDepth> {
  const { Attributes: a = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["All"] }), {
    abortSignal,
  });
  const inFlight = Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
  return {
    url: queueUrl,
    visible: Math.max(0, Number(a.ApproximateNumberOfMessages ?? 0) - inFlight),
    inFlight,
    delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

export interface HealthCheckOptions {
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  objectStore: { url: string; bucket: string; prefix: string; directory: string };
  queue: { url: string; queueUrl: string; dlqUrl: string };
  /** The local model server's URL; undefined with MODEL=bedrock. */
  localModelUrl?: string;
  model: { modelId: string; bedrockRegion: string };
  worker: { stats: WorkerStats };
  apiUrl: () => string;
}

export interface HealthCheck {
  check(): Promise<HealthReport>;
  destroy(): void;
}

const message = (err: unknown) => (err as Error)?.message || (err as Error)?.name || String(err);

/** HeadBucket, then a listing under the prefix past its first page. */
async function objectStoreHealth(s3: S3Client, store: HealthCheckOptions["objectStore"]): Promise<ComponentHealth> {
  const base = { endpoint: store.url, bucket: store.bucket, directory: store.directory };
  const abortSignal = AbortSignal.timeout(PROBE_TIMEOUT_MS);
  try {
    await s3.send(new HeadBucketCommand({ Bucket: store.bucket }), { abortSignal });
  } catch (err) {
    return { status: "unreachable", ...base, error: message(err) };
  }
  try {
    await listTwoPages(s3, store, abortSignal);
    return { status: "ok", ...base };
  } catch (err) {
    return { status: "degraded", ...base, error: `listing ${store.prefix}/ fails: ${message(err)}` };
  }
}

/** One key, then the next page through its continuation token: a listing of any size works. */
async function listTwoPages(s3: S3Client, store: HealthCheckOptions["objectStore"], abortSignal: AbortSignal): Promise<void> {
  const list = (ContinuationToken?: string) =>
    s3.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: `${store.prefix}/`, MaxKeys: 1, ContinuationToken }), { abortSignal });
  const first = await list();
  if (first.IsTruncated) await list(first.NextContinuationToken);
}

async function queueHealth(
  sqs: SQSClient,
  queue: HealthCheckOptions["queue"],
): Promise<{ health: ComponentHealth; depths?: { queue: QueueDepth; dlq: QueueDepth } }> {
  const base = { endpoint: queue.url };
  try {
    const signal = AbortSignal.timeout(PROBE_TIMEOUT_MS);
    const [q, dlq] = await Promise.all([queueDepth(sqs, queue.queueUrl, signal), queueDepth(sqs, queue.dlqUrl, signal)]);
    return { health: { status: "ok", ...base }, depths: { queue: q, dlq } };
  } catch (err) {
    return { health: { status: "unreachable", ...base, error: message(err) } };
  }
}

async function modelHealth({ localModelUrl, model }: Pick<HealthCheckOptions, "localModelUrl" | "model">): Promise<ComponentHealth> {
  const { modelId, bedrockRegion } = model;
  if (!localModelUrl) {
    return {
      status: "not checked",
      kind: "Amazon Bedrock (external, not checked)",
      endpoint: `https://bedrock-runtime.${bedrockRegion}.amazonaws.com`,
      modelId,
    };
  }
  const base = { kind: "local renderer", endpoint: localModelUrl, modelId };
  try {
    const res = await fetch(`${localModelUrl}/ping`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    const body = (await res.json().catch(() => ({}))) as { status?: string };
    if (res.status === 200 && body.status === "ok") return { status: "ok", ...base };
    return { status: "unreachable", ...base, error: `GET /ping answered ${res.status}` };
  } catch (err) {
    return { status: "unreachable", ...base, error: message((err as Error & { cause?: unknown }).cause ?? err) };
  }
}

function workerHealth(s: WorkerStats): ComponentHealth {
  const status: ComponentStatus = s.state !== "running" ? "stopping" : s.consecutiveErrors > 0 ? "degraded" : "ok";
  return { status, ...s };
}

export function createHealthCheck(opts: HealthCheckOptions): HealthCheck {
  // Own clients without retries: a probe answers quickly, also when a server is down.
  const s3 = new S3Client({
    region: opts.region,
    endpoint: opts.objectStore.url,
    forcePathStyle: true,
    credentials: opts.credentials,
    maxAttempts: 1,
  });
  const sqs = new SQSClient({
    region: opts.region,
    endpoint: opts.queue.url,
    credentials: opts.credentials,
    maxAttempts: 1,
  });
  return {
    async check() {
      const [store, q, m] = await Promise.all([objectStoreHealth(s3, opts.objectStore), queueHealth(sqs, opts.queue), modelHealth(opts)]);
      const components: Record<string, ComponentHealth> = {
        api: { status: "ok", endpoint: opts.apiUrl() },
        objectStore: store,
        queue: q.health,
        model: m,
        worker: workerHealth(opts.worker.stats),
      };
      const healthy = Object.values(components).every((c) => c.status === "ok" || c.status === "not checked");
      return { status: healthy ? "ok" : "degraded", components, ...(q.depths ? { queues: q.depths } : {}) };
    },
    destroy() {
      s3.destroy();
      sqs.destroy();
    },
  };
}
