/**
 * SQS worker: every record of a batch becomes one picture at <prefix>/images/<jobId>.png, where
 * the job id is the `jobId` of a JSON body (set by POST /images, kept by a DLQ redrive) or, for
 * messages other senders put straight into the queue, the message id.
 *
 * - Each delivery first writes the job's marker (<jobId>.queued.json), so GET /images/{id} knows a
 *   job from the moment the worker sees it; the marker is removed once the job ends.
 * - Records run concurrently, at most WORKER_CONCURRENCY at a time (the original looped one by one).
 * - Returns {batchItemFailures} with the records that failed transiently or through the operator's
 *   configuration (retired model, no access), so SQS redelivers exactly those and the DLQ keeps
 *   them intact after maxReceiveCount. Needs ReportBatchItemFailures on the event source mapping.
 * - Only a failure of the prompt itself (validation, content filter) is acknowledged, after
 *   writing <prefix>/images/<jobId>.failed.json, which GET /images/{id} reports. Any other
 *   failure on the last delivery (MAX_RECEIVE_COUNT) writes that record too, saying the job can
 *   be redriven from the DLQ, and still goes there.
 * - Never throws: whatever goes wrong becomes a transient failure of that record (batch.ts).
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { ImageGenerator } from "./bedrock";
import { modelClient, pictureStore } from "./clients";
import { readConfig, requireSettings, type Env, type RuntimeConfig } from "./config";
import { DEFAULTS } from "./defaults";
import { toClassifiedError, ClassifiedError, logMessage } from "./errors";
import { partialBatch } from "./batch";
import { JOB_ID_PATTERN, jobOfRecord, parseQueueBody, seedFromJobId, validateImageRequest } from "./jobs";
import type { LogFields, Logger } from "./log";
import { clearMarker, configured, generateAndStore, handlerLogger, type GenerationResult, type HandlerOptions } from "./pipeline";
import type { ImageStore } from "./storage";
import { codePointLength } from "./text";
import { modelTryTimeoutMs, type InvocationClock } from "./time-budget";

/** `context`: Lambda's (or the local worker's stand-in); the model's time budget comes from it. */
export type QueueHandler = (event: SQSEvent, context?: InvocationClock) => Promise<SQSBatchResponse>;

/** What the worker builds once, at a cold start. */
interface Services {
  config: RuntimeConfig & { workerConcurrency: number };
  generator: ImageGenerator;
  store: ImageStore;
}

/** What the failure record says to whoever asks GET /images/{id}: our words, and what to do next. */
function failureReason(failure: ClassifiedError, redrivable: boolean, deliveries: number | undefined, carriesJobId: boolean): string {
  if (!redrivable) return failure.message;
  const newId = carriesJobId ? "" : "; SQS gives it a new message id then, and its picture is stored under that id";
  return `gave up after ${deliveries} ${deliveries === 1 ? "delivery" : "deliveries"}: ${failure.message}. The job is kept in the dead-letter queue; redrive it once the cause is fixed (aws sqs start-message-move-task --source-arn <dead-letter queue ARN>)${newId}`;
}

/** A record read as a job: its id, what it asks for, and the fields of its log line. */
interface Job {
  record: SQSRecord;
  jobId: string;
  input: Record<string, unknown>;
  prompt?: string;
  /** Why the body's jobId cannot be used (the record then fails as the prompt's fault). */
  badJobId?: string;
  log: LogFields;
  started: number;
}

function jobOf(record: SQSRecord, config: RuntimeConfig): Job {
  const { input: body, format } = parseQueueBody(record.body);
  const { jobId, input, error: badJobId } = jobOfRecord(body, record.messageId);
  const prompt = typeof input.prompt === "string" ? input.prompt : undefined;
  const log: LogFields = {
    msg: "record",
    messageId: record.messageId,
    ...(jobId !== record.messageId ? { jobId } : {}),
    format,
    promptLength: prompt === undefined ? undefined : codePointLength(prompt),
    model: config.modelId,
  };
  return { record, jobId, input, prompt, badJobId, log, started: Date.now() };
}

/** Marks the job pending, validates it, generates and stores its picture; throws a ClassifiedError for any failure. */
async function runJob({ generator, store }: Services, job: Job, tryTimeoutMs: () => number): Promise<GenerationResult> {
  const { jobId, input } = job;
  if (typeof jobId !== "string" || !JOB_ID_PATTERN.test(jobId)) {
    // Cannot happen with real SQS ids; without a usable id there is no key to write to. The event is
    // untyped JSON: a record without a messageId would otherwise pass as "undefined" (RegExp.test).
    throw new ClassifiedError("transient", "internal", "record has no usable messageId");
  }
  // From the first time the worker sees a job, GET /images/{id} knows it: sent by POST /images
  // or straight to the queue by another sender, waiting for a retry, or redriven from the DLQ.
  await store.markPending(jobId, "worker");
  if (job.badJobId) throw new ClassifiedError("permanent", "invalid-request", job.badJobId);
  const checked = validateImageRequest(input, generator.adapter, {
    defaultSize: DEFAULTS.queueImageSize,
    maxSide: DEFAULTS.maxImageSide,
    seedWhenMissing: seedFromJobId(jobId), // a redelivery renders the same picture again
    dropUnsupported: true, // a job queued before the model changed still runs
  });
  if (!checked.ok) throw new ClassifiedError("permanent", "invalid-request", checked.message);
  return generateAndStore({ generator, store }, checked.params, {
    key: store.jobImageKey(jobId),
    source: "queue",
    jobId,
    tryTimeoutMs: tryTimeoutMs(),
  });
}

async function logStored({ store }: Services, logger: Logger, job: Job, { image, stored }: GenerationResult): Promise<void> {
  const markerLeft = await clearMarker(store, job.jobId);
  logger.write(
    {
      ...job.log,
      outcome: "stored",
      key: stored.key,
      seed: image.seed,
      latencyMs: Date.now() - job.started,
      generationMs: image.latencyMs,
      ...markerLeft,
    },
    { generationLatencyMs: image.latencyMs, imagesGenerated: 1 },
  );
}

/**
 * A failed job. The prompt's own fault is recorded and acknowledged. Any other failure is thrown,
 * so SQS delivers the record again; on its last delivery it is recorded first, so GET /images/{id}
 * answers "failed" instead of "pending" forever, and SQS then moves it to the DLQ for a redrive.
 */
async function settle({ config, store }: Services, logger: Logger, job: Job, failure: ClassifiedError): Promise<void> {
  const fields = { ...job.log, kind: failure.kind, code: failure.code, error: logMessage(failure) };
  const latency = () => ({ latencyMs: Date.now() - job.started });
  const kept = failure.kind === "operator" ? "failed-operator" : "failed-transient";
  const redrivable = failure.kind !== "permanent";
  if (redrivable && !isLastDelivery(job.record, config.maxReceiveCount)) {
    logger.write({ level: "warn", ...fields, outcome: kept, ...latency() }, { failureKind: failure.kind });
    throw failure;
  }
  const key = await store
    .saveFailure({
      jobId: job.jobId,
      reason: failureReason(failure, redrivable, config.maxReceiveCount, job.jobId !== job.record.messageId),
      kind: failure.kind,
      code: failure.code,
      redrivable,
      // The prompt, or for a message without one the body it carried (both kept short by the store).
      ...(job.prompt !== undefined ? { prompt: job.prompt } : { body: job.record.body ?? "" }),
      model: config.modelId,
      failedAt: new Date().toISOString(),
    })
    .catch((storeErr: unknown) => {
      // Without the failure record nobody could learn what happened: let SQS try again.
      const notWritten = toClassifiedError(storeErr);
      const error = `${fields.error}; failure record not written: ${logMessage(notWritten)}`;
      logger.write({ level: "error", ...fields, outcome: "failed-transient", error, ...latency() }, { failureKind: "transient" });
      throw notWritten;
    });
  const markerLeft = await clearMarker(store, job.jobId);
  logger.write(
    { level: "warn", ...fields, outcome: redrivable ? kept : "failed-permanent", key, ...latency(), ...markerLeft },
    { failureKind: failure.kind },
  );
  if (redrivable) throw failure;
}

/** One record: resolves when SQS may forget it, throws when SQS must deliver it again (partialBatch). */
async function processRecord(services: Services, logger: Logger, record: SQSRecord, tryTimeoutMs: () => number): Promise<void> {
  const job = jobOf(record, services.config);
  const result = await runJob(services, job, tryTimeoutMs).catch((err: unknown) => toClassifiedError(err));
  if (result instanceof ClassifiedError) return settle(services, logger, job, result);
  return logStored(services, logger, job, result);
}

/** True when SQS will not deliver this record again if it fails now (it goes to the DLQ). */
function isLastDelivery(record: SQSRecord, maxReceiveCount: number | undefined): boolean {
  const received = Number(record.attributes?.ApproximateReceiveCount);
  return maxReceiveCount !== undefined && Number.isFinite(received) && received >= maxReceiveCount;
}

/** Creates the SQS handler; configuration is read from `env` once, here. */
export function createQueueHandler(env: Env = process.env, options: HandlerOptions = {}): QueueHandler {
  const logger = handlerLogger(env, options);
  const setup = configured(logger, "queue", (): Services => {
    const config = requireSettings(readConfig(env), ["workerConcurrency"]);
    return {
      config,
      generator: modelClient(DEFAULTS.bedrockMaxAttempts).create(config),
      store: pictureStore.create(config),
    };
  });
  return async (event, context) => {
    const records = Array.isArray(event?.Records) ? event.Records : [];
    const services = setup.value;
    if (!services) {
      // Misconfigured function: keep every message (SQS retries, the DLQ keeps them) and say why.
      logger.write(
        {
          level: "error",
          msg: "batch",
          outcome: "failed-transient",
          records: records.length,
          error: setup.error.message,
        },
        { failureKind: "transient" },
      );
      return { batchItemFailures: records.map((r) => ({ itemIdentifier: r.messageId })) };
    }
    const concurrency = services.config.workerConcurrency;
    const rounds = Math.ceil(records.length / concurrency);
    // A record of a later round shares what is left with the rounds still to come.
    const budgetAt = (index: number) => () =>
      modelTryTimeoutMs(context?.getRemainingTimeInMillis(), services.generator.attempts, rounds - Math.floor(index / concurrency));
    const batch = partialBatch().register(records, (record, index) => processRecord(services, logger, record, budgetAt(index)), {
      concurrency,
    });
    await batch.process();
    return batch.response();
  };
}
