/**
 * SQS worker: every record of a batch becomes one picture at <prefix>/images/<messageId>.png.
 *
 * - Records run concurrently, at most WORKER_CONCURRENCY at a time (the original looped one by one).
 * - Returns {batchItemFailures} with the records that failed transiently or through the operator's
 *   configuration (retired model, no access), so SQS redelivers exactly those and the DLQ keeps
 *   them intact after maxReceiveCount. Needs ReportBatchItemFailures on the event source mapping.
 * - Only a failure of the prompt itself (validation, content filter) is acknowledged, after
 *   writing <prefix>/images/<messageId>.failed.json, which GET /images/{id} reports. Any other
 *   failure on the last delivery (MAX_RECEIVE_COUNT) writes that record too, saying the job can
 *   be redriven from the DLQ, and still goes there.
 * - Never throws: whatever goes wrong becomes a transient failure of that record.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { Env } from "./config";
import { DEFAULTS } from "./defaults";
import { asGenerationError, GenerationError, logMessage } from "./errors";
import { mapWithConcurrency } from "./concurrency";
import { JOB_ID_PATTERN, parseQueueBody, seedFromJobId, validateImageRequest } from "./jobs";
import type { Logger } from "./log";
import { generateAndStore, setupHandler, type HandlerOptions, type Services } from "./pipeline";

export type QueueHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

type RecordOutcome = "stored" | "failed-permanent" | "failed-transient" | "failed-operator";

/** Records SQS must deliver again (and finally move to the DLQ). */
const KEPT: readonly RecordOutcome[] = ["failed-transient", "failed-operator"];

async function processRecord(services: Services, logger: Logger, record: SQSRecord): Promise<RecordOutcome> {
  const { config, generator, store } = services;
  const started = Date.now();
  const jobId = record.messageId;
  const { input, format } = parseQueueBody(record.body);
  const promptLength = typeof input.prompt === "string" ? input.prompt.length : undefined;
  const base = { msg: "record", messageId: jobId, format, promptLength, model: config.modelId };
  try {
    if (typeof jobId !== "string" || !JOB_ID_PATTERN.test(jobId)) {
      // Cannot happen with real SQS ids; without a usable id there is no key to write to.
      throw new GenerationError("transient", "internal", "record has no usable messageId");
    }
    const checked = validateImageRequest(input, generator.adapter, {
      defaultSize: DEFAULTS.queueImageSize,
      maxSide: DEFAULTS.apiImageSize,
      seedWhenMissing: seedFromJobId(jobId), // a redelivery renders the same picture again
      dropUnsupported: true, // a job queued before the model changed still runs
    });
    if (!checked.ok) throw new GenerationError("permanent", "invalid-request", checked.message);
    const { image, stored } = await generateAndStore(services, checked.params, store.jobImageKey(jobId), "queue", jobId);
    logger.write(
      { ...base, outcome: "stored", key: stored.key, seed: image.seed, latencyMs: Date.now() - started, generationMs: image.latencyMs },
      { generationLatencyMs: image.latencyMs, imagesGenerated: 1 },
    );
    return "stored";
  } catch (err) {
    const failure = asGenerationError(err);
    const fields = { ...base, kind: failure.kind, code: failure.code, error: logMessage(failure) };
    const kept: RecordOutcome = failure.kind === "operator" ? "failed-operator" : "failed-transient";
    if (failure.kind !== "permanent" && !isLastDelivery(record, config.maxReceiveCount)) {
      logger.write({ level: "warn", ...fields, outcome: kept, latencyMs: Date.now() - started }, { failureKind: failure.kind });
      return kept;
    }
    // A failure of the prompt, or any other on the last delivery before the DLQ: record why, so
    // GET /images/{id} answers "failed" instead of "pending" forever.
    const redrivable = failure.kind !== "permanent";
    const reason = redrivable
      ? `gave up after ${config.maxReceiveCount} deliveries: ${failure.message}. The job is kept in the dead-letter queue; redrive it once the cause is fixed (aws sqs start-message-move-task --source-arn <dead-letter queue ARN>)`
      : failure.message;
    try {
      const key = await store.saveFailure({
        jobId,
        reason,
        kind: failure.kind,
        code: failure.code,
        redrivable,
        ...(typeof input.prompt === "string" ? { prompt: input.prompt } : {}),
        model: config.modelId,
        failedAt: new Date().toISOString(),
      });
      // Anything but a prompt's fault still goes back to SQS, which moves it to the DLQ for a later redrive.
      const outcome: RecordOutcome = redrivable ? kept : "failed-permanent";
      logger.write({ level: "warn", ...fields, outcome, key, latencyMs: Date.now() - started }, { failureKind: failure.kind });
      return outcome;
    } catch (storeErr) {
      // Without the failure record nobody could learn what happened: let SQS try again.
      logger.write(
        { level: "error", ...fields, outcome: "failed-transient", error: `${fields.error}; failure record not written: ${asGenerationError(storeErr).message}`, latencyMs: Date.now() - started },
        { failureKind: "transient" },
      );
      return "failed-transient";
    }
  }
}

/** True when SQS will not deliver this record again if it fails now (it goes to the DLQ). */
function isLastDelivery(record: SQSRecord, maxReceiveCount: number | undefined): boolean {
  const received = Number(record.attributes?.ApproximateReceiveCount);
  return maxReceiveCount !== undefined && Number.isFinite(received) && received >= maxReceiveCount;
}

/** Creates the SQS handler; configuration is read from `env` once, here. */
export function createQueueHandler(env: Env = process.env, options: HandlerOptions = {}): QueueHandler {
  const { logger, services, configError } = setupHandler(env, options, "queue");
  return async (event) => {
    const records = Array.isArray(event?.Records) ? event.Records : [];
    if (!services) {
      // Misconfigured function: keep every message (SQS retries, the DLQ keeps them) and say why.
      logger.write({ level: "error", msg: "batch", outcome: "failed-transient", records: records.length, error: configError.message }, { failureKind: "transient" });
      return { batchItemFailures: records.map((r) => ({ itemIdentifier: r.messageId })) };
    }
    const outcomes = await mapWithConcurrency(records, services.config.workerConcurrency, (record) =>
      processRecord(services, logger, record).catch((): RecordOutcome => "failed-transient"),
    );
    return {
      batchItemFailures: records.filter((_, i) => KEPT.includes(outcomes[i])).map((r) => ({ itemIdentifier: r.messageId })),
    };
  };
}
