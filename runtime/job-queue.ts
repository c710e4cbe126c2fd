/** Where `POST /images` puts a job: the image queue (SQS SendMessage), behind an interface like the store's. */
import { SQSClient, SendMessageCommand } from "@aws-sdk/client-sqs";
import { clientRegion, type RuntimeConfig } from "./config";
import { toClassifiedError } from "./errors";
import { JOB_ID_FIELD } from "./jobs";
import type { ImageParams } from "./models";

export interface JobQueue {
  /**
   * Queues one job: its parameters, with the job's id in the body (a DLQ redrive keeps the body
   * while SQS gives the message a new id). Returns SQS's message id; throws a transient
   * ClassifiedError ("queue-failed").
   */
  send(params: ImageParams, jobId: string): Promise<string | undefined>;
}

export function createJobQueue(config: Pick<RuntimeConfig, "region" | "endpoints"> & { queueUrl: string }): JobQueue {
  const { endpoints, queueUrl } = config;
  // The endpoint is always passed on: the SDK's SQS middleware sends to the queue URL's host unless
  // the client itself names one (queueUrlMiddleware in @aws-sdk/middleware-sdk-sqs).
  const sqs = new SQSClient({ region: clientRegion(config, endpoints.sqs), endpoint: endpoints.sqs });
  return {
    async send(params, jobId) {
      const body = { ...params, [JOB_ID_FIELD]: jobId };
      try {
        return (await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(body) }))).MessageId;
      } catch (err) {
        throw toClassifiedError(err, "queue-failed");
      }
    },
  };
}
