/**
 * The local pipeline (`npm start`), with the offline renderer as the model:
 *  1. time from spawning `npm start` to its ready line and to the first picture (POST /generate);
 *  2. pictures per second through the queue: messages sent in one go, timed until every picture
 *     is in the bucket, with the dev stack's settings and with bigger batches.
 * Figures only; nothing is asserted.
 */
import { rmSync } from "node:fs";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { cleanup, freshEnv, listKeys, startLocalChild, waitFor, type LocalChild } from "../tools/local-child";
import type { BenchSection } from "./section";

const MESSAGES = 50;
const PROMPTS = [
  "me on top of a pyramid",
  "sunset at the beach",
  "Eiffel tower, old polaroid look",
  "snowy mountain cabin",
  "city at night",
];

async function timeToFirstPicture(): Promise<void> {
  const env = freshEnv();
  const t0 = performance.now();
  let local: LocalChild | undefined;
  try {
    local = await startLocalChild(env, 90000, true);
    const ready = performance.now() - t0;
    const res = await fetch(`${local.apiUrl}/generate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: PROMPTS[0] }),
    });
    if (res.status !== 201) throw new Error(`POST /generate answered ${res.status}: ${await res.text()}`);
    const first = performance.now() - t0;
    console.log(`npm start → ready line:      ${(ready / 1000).toFixed(2)} s`);
    console.log(`npm start → first picture:   ${(first / 1000).toFixed(2)} s (POST /generate ${(first - ready).toFixed(0)} ms)`);
  } finally {
    // cleanup() returns once npm and node have exited (the whole process group), so the data
    // directory is not recreated after it is removed.
    await cleanup(local, false);
    rmSync(env.LOCAL_DATA_DIR, { recursive: true, force: true });
  }
}

async function queueThroughput(label: string, extraEnv: Record<string, string>): Promise<void> {
  const env = freshEnv(extraEnv);
  let local: LocalChild | undefined;
  try {
    local = await startLocalChild(env);
    const { bucket, prefix, queueUrl } = local.health;
    const t0 = performance.now();
    for (let i = 0; i < MESSAGES; i += 10) {
      await local.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Array.from({ length: Math.min(10, MESSAGES - i) }, (_, n) => ({
            Id: String(n),
            MessageBody: `${PROMPTS[(i + n) % PROMPTS.length]} #${i + n}`,
          })),
        }),
      );
    }
    await waitFor(
      `${MESSAGES} pictures`,
      async () =>
        (await listKeys(local!.s3, bucket, `${prefix}/images/`)).filter((k) => k.endsWith(".png")).length >= MESSAGES ? true : undefined,
      300000,
      50,
    );
    const seconds = (performance.now() - t0) / 1000;
    console.log(`${label.padEnd(52)} ${MESSAGES} pictures in ${seconds.toFixed(2)} s = ${(MESSAGES / seconds).toFixed(1)} pictures/s`);
  } finally {
    await cleanup(local, false);
    rmSync(env.LOCAL_DATA_DIR, { recursive: true, force: true }); // also when the start failed
  }
}

export const localSection: BenchSection = {
  name: "local mode (npm start, offline renderer)",
  async run() {
    await timeToFirstPicture();
    await queueThroughput("queue, dev stack settings (batch 2, concurrency 2):", {});
    await queueThroughput("queue, batch 10, concurrency 10:", { QUEUE_BATCH_SIZE: "10", WORKER_CONCURRENCY: "10" });
  },
};

if (require.main === module) {
  localSection.run().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
