/**
 * The local queue: local-aws-sqs with the image queue and its dead-letter queue, redriven after
 * the stack's max receive count.
 *
 * local-aws-sqs keeps messages in memory only. So that Ctrl-C loses nothing, `saveMessages`
 * drains both queues into `<dataDir>/queues.json` at shutdown and `startQueueServer` puts them
 * back (same message ids, so job ids stay valid) at the next start; receive counts start over.
 */
import * as http from "node:http";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { ReceiveMessageCommand, SQSClient, type Message, type MessageAttributeValue } from "@aws-sdk/client-sqs";
import { createRequestHandler } from "local-aws-sqs";
import { closeServer, listen } from "./listen";
import { LOCAL_ENV } from "./config";

export interface QueueServerOptions {
  host: string;
  port: number;
  queueName: string;
  dlqName: string;
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
  /** Region used in the queue ARNs (cosmetic). */
  region: string;
  /** File the queued messages are saved to at shutdown and restored from at start. */
  stateFile?: string;
}

export interface QueueServer {
  url: string;
  port: number;
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
  dlqArn: string;
  /** Messages put back from the state file at start, per queue. */
  restored: { queue: number; dlq: number };
  /**
   * Drains both queues into the state file (call after the worker stopped), adding `held`:
   * messages received but not finished, still invisible in the queue. Returns the counts.
   */
  saveMessages(sqs: SQSClient, held?: SavedMessage[]): Promise<{ queue: number; dlq: number }>;
  close(): Promise<void>;
}

export interface SavedMessage { id: string; body: string; attributes?: Record<string, MessageAttributeValue> }
interface SavedState { queue: SavedMessage[]; dlq: SavedMessage[] }

const ACCOUNT_ID = "000000000000";

function readState(file: string | undefined): SavedState {
  if (!file || !existsSync(file)) return { queue: [], dlq: [] };
  try {
    const state = JSON.parse(readFileSync(file, "utf8")) as Partial<SavedState>;
    return { queue: state.queue ?? [], dlq: state.dlq ?? [] };
  } catch {
    return { queue: [], dlq: [] };
  }
}

/** Receives every visible message of a queue (keeping them invisible) and returns them. */
async function drain(sqs: SQSClient, queueUrl: string): Promise<SavedMessage[]> {
  const out = new Map<string, SavedMessage>();
  for (;;) {
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 3600,
        MessageAttributeNames: ["All"],
      }),
    );
    if (!Messages?.length) return [...out.values()];
    for (const m of Messages as Message[]) {
      if (m.MessageId) out.set(m.MessageId, { id: m.MessageId, body: m.Body ?? "", attributes: m.MessageAttributes });
    }
  }
}

export async function startQueueServer(opts: QueueServerOptions): Promise<QueueServer> {
  const arn = (name: string) => `arn:aws:sqs:${opts.region}:${ACCOUNT_ID}:${name}`;
  const { service, requestHandler } = createRequestHandler({
    port: opts.port,
    hostname: opts.host,
    region: opts.region,
    accountId: ACCOUNT_ID,
    emulateQueueCreationLifecycle: false,
    queues: [
      { QueueName: opts.dlqName, Attributes: { MessageRetentionPeriod: 1209600 } },
      {
        QueueName: opts.queueName,
        Attributes: {
          VisibilityTimeout: opts.visibilityTimeoutSeconds,
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn(opts.dlqName), maxReceiveCount: opts.maxReceiveCount }),
        },
      },
    ],
  });
  const server = http.createServer((req, res) => void requestHandler(req, res));
  const port = await listen(server, opts.host, opts.port, "queue (local-aws-sqs)", LOCAL_ENV.sqsPort);
  service.PORT = port; // queue URLs carry the port actually bound

  const byName = (name: string) => service.Queues.find((q) => q.QueueName === name)!;
  const state = readState(opts.stateFile);
  for (const m of state.queue) byName(opts.queueName).setRecord({ MessageBody: m.body, MessageAttributes: m.attributes }, m.id);
  for (const m of state.dlq) byName(opts.dlqName).setRecord({ MessageBody: m.body, MessageAttributes: m.attributes }, m.id);

  const queueUrl = byName(opts.queueName).QueueUrl;
  const dlqUrl = byName(opts.dlqName).QueueUrl;
  return {
    url: `http://${opts.host}:${port}`,
    port,
    queueUrl,
    queueArn: arn(opts.queueName),
    dlqUrl,
    dlqArn: arn(opts.dlqName),
    restored: { queue: state.queue.length, dlq: state.dlq.length },
    async saveMessages(sqs, held = []) {
      const queued = new Map([...held, ...(await drain(sqs, queueUrl))].map((m) => [m.id, m]));
      const saved: SavedState = { queue: [...queued.values()], dlq: await drain(sqs, dlqUrl) };
      if (opts.stateFile) {
        mkdirSync(path.dirname(opts.stateFile), { recursive: true });
        const tmp = `${opts.stateFile}.tmp`;
        writeFileSync(tmp, JSON.stringify(saved));
        renameSync(tmp, opts.stateFile);
      }
      return { queue: saved.queue.length, dlq: saved.dlq.length };
    },
    close: () => closeServer(server),
  };
}
