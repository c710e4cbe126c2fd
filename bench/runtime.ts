/**
 * Runtime figures against the local peers, the Bedrock test server answering after a fixed 300 ms:
 *  1. one 10-record SQS batch through our queue handler (bounded concurrency) vs the same records
 *     processed one after another, the original queue Lambda's algorithm, using the same
 *     generate+store functions;
 *  2. the HTTP handler's overhead per POST /generate beyond the model call.
 */
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import {
  createHttpHandler,
  createQueueHandler,
  DEFAULTS,
  ENV,
  generateAndStore,
  parseQueueBody,
  readConfig,
  validateImageRequest,
} from "../runtime";
import type { ImageGenerator } from "../runtime/bedrock";
import { modelClient, pictureStore } from "../runtime/clients";
import type { ImageStore } from "../runtime/storage";
import { receive, sqsEvent } from "../tools/events";
import { invoke } from "../tools/http";
import { startPeers, type Peers } from "../tools/peers";
import { ms, percentile, type BenchSection } from "./section";

const MODEL_LATENCY_MS = 300;
const BATCH_SIZE = 10;
const ROUNDS = 3;
const API_REQUESTS = 50;

const PROMPTS = [
  "me on top of a pyramid",
  "sunset at the beach",
  "Eiffel tower in Paris, old polaroid look",
  "snowy mountain cabin",
  "city at night",
  "desert caravan",
  "forest lake at dawn",
  "me sailing on the sea",
  "Parisian café",
  "night sky over the city",
];

async function batchEvent(peers: Peers): Promise<SQSEvent> {
  await peers.sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: peers.queueUrl,
      Entries: PROMPTS.slice(0, BATCH_SIZE).map((prompt, i) => ({ Id: String(i), MessageBody: prompt })),
    }),
  );
  const messages = await receive(peers.sqs, peers.queueUrl, { max: BATCH_SIZE, waitTimeSeconds: 5 });
  if (messages.length !== BATCH_SIZE) throw new Error(`expected ${BATCH_SIZE} messages, received ${messages.length}`);
  return sqsEvent(messages);
}

/** The original queue Lambda: for each record, the body is the prompt; generate, store, next. */
async function sequentialBaseline(services: { generator: ImageGenerator; store: ImageStore }, event: SQSEvent): Promise<void> {
  for (const record of event.Records) {
    const checked = validateImageRequest(parseQueueBody(record.body).input, services.generator.adapter, {
      defaultSize: DEFAULTS.queueImageSize,
      maxSide: DEFAULTS.maxImageSide,
    });
    if (!checked.ok) throw new Error(checked.message);
    await generateAndStore(services, checked.params, {
      key: services.store.jobImageKey(record.messageId),
      source: "queue",
      jobId: record.messageId,
      tryTimeoutMs: DEFAULTS.bedrockTimeoutMs,
    });
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function queueBatch(peers: Peers): Promise<void> {
  const concurrencies = [peers.settings.workerConcurrency!, BATCH_SIZE];
  const config = readConfig(peers.env);
  const services = {
    generator: modelClient(DEFAULTS.bedrockMaxAttempts).create(config),
    store: pictureStore.create(config),
  };
  const handlers = new Map(
    concurrencies.map((c) => [c, createQueueHandler({ ...peers.env, [ENV.workerConcurrency]: String(c) }, { log: () => undefined })]),
  );
  const event = await batchEvent(peers);
  // Warm-up: connections, credential resolution, module loading.
  await handlers.get(concurrencies[0])!(event);
  await sequentialBaseline(services, event);

  const sequential: number[] = [];
  const concurrent = new Map<number, number[]>(concurrencies.map((c) => [c, []]));
  for (let round = 0; round < ROUNDS; round++) {
    sequential.push(await timed(() => sequentialBaseline(services, event)));
    for (const c of concurrencies) {
      const handler = handlers.get(c)!;
      concurrent.get(c)!.push(
        await timed(async () => {
          const answer = await handler(event);
          if (answer.batchItemFailures.length) throw new Error(`${answer.batchItemFailures.length} records failed`);
        }),
      );
    }
  }
  const seq = percentile(sequential, 50);
  console.log(`One ${BATCH_SIZE}-record batch, model latency ${MODEL_LATENCY_MS} ms, median of ${ROUNDS} rounds:`);
  console.log(`  one after another (original algorithm): ${ms(seq)}`);
  for (const c of concurrencies) {
    const wall = percentile(concurrent.get(c)!, 50);
    console.log(`  queue handler, WORKER_CONCURRENCY=${String(c).padEnd(2)}:       ${ms(wall)}   speed-up ${(seq / wall).toFixed(2)}x`);
  }
}

async function apiOverhead(peers: Peers): Promise<void> {
  const generationMs: number[] = [];
  const handler = createHttpHandler(peers.env, {
    log: (line) => {
      const fields = JSON.parse(line);
      if (typeof fields.generationMs === "number") generationMs.push(fields.generationMs);
    },
  });
  const request = (i: number) =>
    invoke(handler, {
      method: "POST",
      path: "/generate",
      body: JSON.stringify({ prompt: PROMPTS[i % PROMPTS.length] }),
    });
  await request(0); // warm-up
  generationMs.length = 0;
  const total: number[] = [];
  for (let i = 0; i < API_REQUESTS; i++) {
    let status = 0;
    total.push(await timed(async () => (status = (await request(i)).status)));
    if (status !== 201) throw new Error(`POST /generate answered ${status}`);
  }
  const beyondServer = total.map((t) => t - MODEL_LATENCY_MS);
  const beyondCall = total.map((t, i) => t - generationMs[i]);
  console.log(`POST /generate, ${API_REQUESTS} requests one at a time (the default model, aspect ratio 1:1):`);
  console.log(`  request latency:                 p50 ${ms(percentile(total, 50))}  p99 ${ms(percentile(total, 99))}`);
  console.log(
    `  minus the server's fixed 300 ms: p50 ${ms(percentile(beyondServer, 50))}  p99 ${ms(percentile(beyondServer, 99))}  (includes the test server rendering the PNG)`,
  );
  console.log(
    `  minus the InvokeModel call:      p50 ${ms(percentile(beyondCall, 50))}  p99 ${ms(percentile(beyondCall, 99))}  (validation, 2 PutObjects, presign, log)`,
  );
}

export const runtimeSection: BenchSection = {
  name: "runtime (queue batch concurrency, HTTP handler overhead)",
  async run() {
    const peers = await startPeers({ bedrockLatencyMs: MODEL_LATENCY_MS });
    try {
      await queueBatch(peers);
      await apiOverhead(peers);
    } finally {
      await peers.stop();
    }
  },
};
