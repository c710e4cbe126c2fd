/**
 * Sending: one prompt with SendMessage (what the Java client did), several with
 * SendMessageBatch in chunks of ten. The prompt is the plain message body.
 */
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { BATCH_SIZE } from "./input";

export interface Sent {
  index: number;
  prompt: string;
  messageId: string;
}

export interface Refused {
  index: number;
  prompt: string;
  code: string;
  message: string;
}

export interface SendReport {
  sent: Sent[];
  failed: Refused[];
}

/**
 * Sends the prompts in order, recording each chunk's outcome in `report` as soon as it is known.
 * A thrown error (network, missing queue, credentials) stops the run; the caller's `report` then
 * still holds what was sent before it, so nothing is lost silently.
 */
export async function sendPrompts(
  client: SQSClient,
  queueUrl: string,
  prompts: readonly string[],
  report: SendReport = { sent: [], failed: [] },
): Promise<SendReport> {
  if (prompts.length === 1) {
    const out = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: prompts[0] }));
    report.sent.push({ index: 0, prompt: prompts[0], messageId: out.MessageId ?? "" });
    return report;
  }
  for (let start = 0; start < prompts.length; start += BATCH_SIZE) {
    const chunk = prompts.slice(start, start + BATCH_SIZE);
    const out = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((prompt, i) => ({ Id: String(start + i), MessageBody: prompt })),
      }),
    );
    for (const ok of out.Successful ?? []) {
      const index = Number(ok.Id);
      report.sent.push({ index, prompt: prompts[index], messageId: ok.MessageId ?? "" });
    }
    for (const bad of out.Failed ?? []) {
      const index = Number(bad.Id);
      report.failed.push({ index, prompt: prompts[index], code: bad.Code ?? "Unknown", message: bad.Message ?? "" });
    }
  }
  report.sent.sort((a, b) => a.index - b.index);
  report.failed.sort((a, b) => a.index - b.index);
  return report;
}
