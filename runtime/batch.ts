/**
 * Partial batch responses for an SQS event, in the shape of Powertools for AWS Lambda's batch
 * processor (register → process → response; packages/batch of
 * https://github.com/aws-powertools/powertools-lambda-typescript): a record handler that resolves
 * has succeeded, one that throws is listed in `batchItemFailures`, so SQS delivers that record
 * again and, after maxReceiveCount, moves it to the dead-letter queue. Written here rather than
 * imported for the archive size (metrics.ts gives the figures).
 */
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import { mapWithConcurrency } from "./concurrency";

/** Handles one record; `index` is its place in the batch. Throwing reports the record as failed. */
export type RecordHandler = (record: SQSRecord, index: number) => Promise<void>;

export interface PartialBatch {
  /** The batch's records and their handler, run at most `concurrency` at a time. */
  register(records: readonly SQSRecord[], handler: RecordHandler, options: { concurrency: number }): PartialBatch;
  /** Runs every record's handler; never throws. */
  process(): Promise<void>;
  /** The records whose handler threw, as Lambda's ReportBatchItemFailures reads them. */
  response(): SQSBatchResponse;
}

export function partialBatch(): PartialBatch {
  let records: readonly SQSRecord[] = [];
  let handler: RecordHandler = async () => undefined;
  let concurrency = 1;
  let failed: SQSRecord[] = [];
  const batch: PartialBatch = {
    register(newRecords, newHandler, options) {
      [records, handler, concurrency, failed] = [newRecords, newHandler, options.concurrency, []];
      return batch;
    },
    async process() {
      const succeeded = await mapWithConcurrency(records, concurrency, (record, index) =>
        handler(record, index).then(
          () => true,
          () => false,
        ),
      );
      failed = records.filter((_, i) => !succeeded[i]);
    },
    response: () => ({ batchItemFailures: failed.map((r) => ({ itemIdentifier: r.messageId })) }),
  };
  return batch;
}
