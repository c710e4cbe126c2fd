/**
 * `npm start` killed with SIGKILL — npm, the shell and node at once — while it works, twice, then
 * started again on the same data directory: every message the queue acknowledged ends exactly once
 * as a picture, a permanent failure record or a dead letter. Its prompt decides which, unless its
 * deliveries ran out of time: on a starved machine a delivery can outlast the 6 s visibility
 * timeout, fails with "timeout", and on the last delivery that is recorded and the message
 * dead-letters, as SQS would do it. The one message that may end in two places is a picture whose
 * delivery was never acknowledged (killed between storing and deleting) and whose last delivery
 * then ran out of time: a picture and a dead letter, as at-least-once delivery allows. Messages in flight at the kill are delivered again; dead
 * letters survive, also the ones someone was receiving; a send cut off by the kill (no answer)
 * ends at most once. Then a clean Ctrl-C while dead letters are being received keeps them too.
 */
import { strict as assert } from "node:assert";
import { rmSync } from "node:fs";
import { ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { receiveAll } from "../../tools/events";
import { LOCAL_CREDENTIALS } from "../../local/fakes/credentials";
import { cleanup, freshEnv, getJson, listKeys, startLocalChild, waitFor, type LocalChild } from "../../tools/local-child";

const ENV = freshEnv({
  LOCAL_MODEL_LATENCY_MS: "50",
  LOCAL_WORKER_POLLERS: "4",
  LOCAL_MODEL_FAIL_WHEN_PROMPT_INCLUDES: "[blocked]=content-filter,[always-throttle]=throttle",
  // 6 s: the shortest that leaves the 2 attempts 1 s each (see queueModelBudget in local/app/config.ts).
  LOCAL_VISIBILITY_TIMEOUT_SECONDS: "6",
  MAX_RECEIVE_COUNT: "2",
  BEDROCK_MAX_ATTEMPTS: "2",
});

/** Every tenth prompt is refused for good, every tenth throttled until it is a dead letter. */
const bodyOf = (n: number) => (n % 10 === 3 ? `job ${n} [blocked]` : n % 10 === 7 ? `job ${n} [always-throttle]` : `job ${n} by the sea`);

interface WorkerHealth {
  inFlight: number;
  deleted: number;
}

/** Each GET /health probes every server (S3 head and listing, both queues, the model): poll it at this pace, not faster. */
const HEALTH_POLL_MS = 100;

async function worker(local: LocalChild): Promise<WorkerHealth> {
  const h = (await (await fetch(`${local.apiUrl}/health`)).json()) as { components: { worker: WorkerHealth } };
  return h.components.worker;
}

/**
 * Sends numbered prompts in batches of 10, about 60 a second, until stopped or `limit` are sent,
 * with no SDK retries: a batch that gets no answer (the kill) is "unanswered", and its messages
 * may or may not have been accepted.
 */
function startSender(local: LocalChild, from: number, limit: number) {
  const client = new SQSClient({
    region: "eu-west-1",
    endpoint: local.health.components.queue.endpoint,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });
  const acknowledged = new Map<string, string>(); // id → body
  const unanswered = new Set<string>();
  let next = from;
  let stopped = false;
  const loop = (async () => {
    while (!stopped && next < from + limit) {
      const bodies = Array.from({ length: 10 }, () => bodyOf(next++));
      try {
        const out = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: local.health.queueUrl,
            Entries: bodies.map((b, i) => ({ Id: String(i), MessageBody: b })),
          }),
        );
        for (const e of out.Successful ?? []) acknowledged.set(e.MessageId!, bodies[Number(e.Id)]);
        for (const e of out.Failed ?? []) unanswered.add(bodies[Number(e.Id)]); // refused: must not end anywhere as acknowledged
      } catch {
        for (const b of bodies) unanswered.add(b);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  })();
  return {
    acknowledged,
    unanswered,
    get next() {
      return next;
    },
    async stop() {
      stopped = true;
      await loop;
      client.destroy();
    },
  };
}

describe("local mode: kill -9 of the npm start process tree loses and duplicates nothing", function () {
  this.timeout(300000);
  const children: LocalChild[] = [];
  const acknowledged = new Map<string, string>();
  const unanswered = new Set<string>();
  let deadLetterIds: string[] = [];
  const start = async () => {
    const child = await startLocalChild(ENV, 60000, true);
    children.push(child);
    return child;
  };
  after(async () => {
    for (const child of children) await cleanup(child, false);
    rmSync(ENV.LOCAL_DATA_DIR, { recursive: true, force: true });
  });

  it("accounts for every acknowledged message after two kills: pictures + failure records + DLQ, 0 lost, 0 duplicated", async () => {
    // 1. Kill while messages are being sent, worked on and retried.
    const first = await start();
    const sender = startSender(first, 0, 150);
    await waitFor(
      "work in flight with pictures stored, while messages are being sent",
      async () => {
        const w = await worker(first);
        return sender.acknowledged.size >= 40 && w.deleted >= 5 && w.inFlight > 0 ? true : undefined;
      },
      60000,
      HEALTH_POLL_MS,
    );
    await first.stop("SIGKILL");
    await sender.stop();
    for (const [id, body] of sender.acknowledged) acknowledged.set(id, body);
    for (const body of sender.unanswered) unanswered.add(body);

    // 2. Kill again while dead letters are being received and more work is in flight.
    const second = await start();
    assert.match(second.output(), /restored\s+[1-9]\d* queued/, "the first run's unfinished messages are back");
    const more = startSender(second, sender.next, 60);
    await waitFor("60 more messages", async () => (more.acknowledged.size >= 60 ? true : undefined), 60000, 20);
    await more.stop();
    for (const [id, body] of more.acknowledged) acknowledged.set(id, body);
    for (const body of more.unanswered) unanswered.add(body);
    const held = await waitFor(
      "dead letters to receive",
      async () => {
        const r = await second.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: second.health.dlqUrl,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 600,
          }),
        );
        return r.Messages?.length ? r.Messages : undefined;
      },
      90000,
      200,
    );
    await waitFor("work in flight", async () => ((await worker(second)).inFlight > 0 ? true : undefined), 30000, HEALTH_POLL_MS).catch(
      () => undefined,
    );
    await second.stop("SIGKILL");

    // 3. Start again and let everything settle.
    const third = await start();
    const { bucket, prefix, dlqUrl } = third.health;
    // Settled: nothing is left in the queue (waiting, in flight or delayed); each message was deleted or dead-lettered.
    await waitFor(
      "every message to leave the queue",
      async () => {
        const q = (await (await fetch(`${third.apiUrl}/local/queues`)).json()) as {
          queue: { visible: number; inFlight: number; delayed: number };
        };
        return q.queue.visible + q.queue.inFlight + q.queue.delayed === 0 ? true : undefined;
      },
      150000,
      100,
    );
    const keys = await listKeys(third.s3, bucket, `${prefix}/images/`);
    const settled = {
      pictures: keys.filter((k) => k.endsWith(".png")),
      failures: keys.filter((k) => k.endsWith(".failed.json")),
    };
    const dead = await receiveAll(third.sqs, dlqUrl, { visibilityTimeoutSeconds: 600 }); // held now: step 4 stops while they are received
    deadLetterIds = dead.map((m) => m.MessageId!);
    for (const m of held) assert.ok(deadLetterIds.includes(m.MessageId!), `the dead letter received at the kill (${m.MessageId}) is back`);

    const idOf = (key: string, suffix: string) => key.slice(`${prefix}/images/`.length, -suffix.length);
    const kinds = await Promise.all(
      settled.failures.map(async (k) => [idOf(k, ".failed.json"), await getJson(third.s3, bucket, k)] as const),
    );
    const permanent = kinds.filter(([, r]) => r.kind === "permanent");
    const transient = kinds.filter(([, r]) => r.kind === "transient");
    const bodies = new Map<string, string>(); // id → body, from where it ended
    const ended: string[] = [];
    for (const key of settled.pictures) {
      const id = idOf(key, ".png");
      ended.push(id);
      bodies.set(id, (await getJson(third.s3, bucket, `${prefix}/images/${id}.json`)).prompt);
    }
    for (const [id, record] of permanent) {
      ended.push(id);
      bodies.set(id, record.prompt);
    }
    for (const m of dead) {
      ended.push(m.MessageId!);
      bodies.set(m.MessageId!, m.Body!);
    }

    // Deliveries that ran out of time: their last one recorded "timeout", and the message dead-lettered.
    const outOfTime = new Set(transient.filter(([, r]) => r.code === "timeout").map(([id]) => id));
    // SQS and Lambda's event source mapping deliver at least once: a delivery whose picture was
    // stored but that was never deleted (the kill came between the two, or it outlasted its
    // visibility timeout) is delivered again, and if that last delivery runs out of time SQS moves
    // the message to the DLQ although its picture exists. GET /images/{id} answers "done" then
    // (a picture outranks a failure record, runtime/storage.ts), and a redrive renders the same
    // picture under the same key. That, and nothing else, may end in two places.
    // https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html ("process each
    // event at least once, and duplicate processing of records can occur"),
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues-at-least-once-delivery.html
    const pictureAndDeadLetter = new Set(
      deadLetterIds.filter((id) => outOfTime.has(id) && settled.pictures.includes(`${prefix}/images/${id}.png`)),
    );
    for (const id of pictureAndDeadLetter) {
      assert.equal(ended.filter((e) => e === id).length, 2, `${id}: a picture and a dead letter, nowhere else`);
      const sidecar = await getJson(third.s3, bucket, `${prefix}/images/${id}.json`);
      assert.equal(sidecar.prompt, bodies.get(id), `${id}: its picture and its dead letter carry the same prompt`);
    }
    const lost = [...acknowledged.keys()].filter((id) => !ended.includes(id));
    const duplicated = ended.filter((id, i) => ended.indexOf(id) !== i && !pictureAndDeadLetter.has(id));
    assert.deepEqual(lost, [], `${lost.length} lost of ${acknowledged.size} acknowledged`);
    assert.deepEqual(duplicated, [], "no message ends in two places (but a stored picture whose last redelivery ran out of time)");
    for (const [id, body] of acknowledged) assert.equal(bodies.get(id), body, `message ${id} ended with its own prompt`);
    // A message beyond the acknowledged ones was sent in a batch the kill cut off: each at most once.
    const extra = ended.filter((id) => !acknowledged.has(id)).map((id) => bodies.get(id)!);
    assert.ok(
      extra.every((body) => unanswered.has(body)),
      `unexpected messages: ${extra.filter((b) => !unanswered.has(b))}`,
    );
    assert.equal(new Set(extra).size, extra.length, "a cut-off send ends at most once");
    // With nothing lost and only those twice, sent = pictures + failure records + DLQ − picture and DLQ; the figures:
    console.log(
      `      acknowledged ${acknowledged.size} + cut-off sends that arrived ${extra.length} = pictures ${settled.pictures.length} + failure records ${permanent.length} + DLQ ${dead.length} (${outOfTime.size} out of time) − picture and DLQ ${pictureAndDeadLetter.size}`,
    );
    // Each ended where its prompt sends it (or in the DLQ, out of time; a picture as well only if its prompt makes one),
    // and every dead letter has its failure record.
    for (const id of ended) {
      const body = bodies.get(id)!;
      const where = settled.pictures.includes(`${prefix}/images/${id}.png`)
        ? "picture"
        : deadLetterIds.includes(id)
          ? "dlq"
          : "failure record";
      const promptSends = body.includes("[blocked]") ? "failure record" : body.includes("[always-throttle]") ? "dlq" : "picture";
      assert.equal(
        where,
        outOfTime.has(id) && !pictureAndDeadLetter.has(id) ? "dlq" : promptSends,
        `${body}${outOfTime.has(id) ? " (its deliveries ran out of time)" : ""}`,
      );
    }
    assert.deepEqual(transient.map(([id]) => id).sort(), [...deadLetterIds].sort());
    assert.ok(acknowledged.size >= 100 && dead.length > 0 && permanent.length > 0);
  });

  it("a clean Ctrl-C while dead letters are being received keeps them for the next start", async () => {
    const third = children[children.length - 1];
    assert.ok(deadLetterIds.length > 0);
    await third.stop("SIGINT"); // the whole group, as a terminal's Ctrl-C: npm itself ends by the signal
    assert.match(third.output(), new RegExp(`Stopped\\. 0 queued and ${deadLetterIds.length} dead-letter message\\(s\\) kept`));
    const fourth = await start();
    const back = await receiveAll(fourth.sqs, fourth.health.dlqUrl, { visibilityTimeoutSeconds: 600 });
    assert.deepEqual(back.map((m) => m.MessageId).sort(), [...deadLetterIds].sort());
  });
});
