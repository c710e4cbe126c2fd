/**
 * `npm start` end to end, as a child process on ephemeral ports: the API, the queue worker, the
 * gallery's JSON, and a clean Ctrl-C that keeps queued work for the next start.
 */
import { strict as assert } from "node:assert";
import { rmSync } from "node:fs";
import { S3Client } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, SendMessageBatchCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { LOCAL_CREDENTIALS } from "../../local/fakes/credentials";
import { startObjectStore } from "../../local/fakes/object-store";
import { readPngHeader, PNG_SIGNATURE } from "../../local/fakes/png";
import { readJournal } from "../../local/fakes/queue-journal";
import { objectStoreDirectory, queueJournalFile } from "../../local/app/start";
import { cleanup, freshEnv, getJson, getObject, listKeys, startLocalChild, waitFor, type LocalChild } from "../../tools/local-child";

async function exists(local: LocalChild, key: string): Promise<true | undefined> {
  try {
    await getObject(local.s3, local.health.bucket, key);
    return true;
  } catch {
    return undefined;
  }
}

describe("local mode: npm start end to end", function () {
  this.timeout(90000);
  let local: LocalChild | undefined;

  // The model answers after 800 ms, so a queued job is observably pending before it is done.
  before(async () => {
    local = await startLocalChild(freshEnv({ LOCAL_MODEL_LATENCY_MS: "800" }));
  });
  after(() => cleanup(local));

  it("reports every component, the queues, the bucket and the prefix on GET /health", async () => {
    const h = local!.health;
    assert.equal(h.status, "ok");
    for (const name of ["api", "objectStore", "queue", "model", "worker"]) assert.equal(h.components[name]?.status, "ok", name);
    assert.match(h.queueUrl, /^http:\/\/127\.0\.0\.1:\d+\/\d+\/[\w-]+$/);
    assert.match(h.dlqUrl, /-dlq$/);
    assert.ok(h.bucket && h.prefix);
    const attrs = await local!.sqs.send(new GetQueueAttributesCommand({ QueueUrl: h.queueUrl, AttributeNames: ["RedrivePolicy"] }));
    assert.ok(JSON.parse(attrs.Attributes!.RedrivePolicy!).deadLetterTargetArn.endsWith(h.dlqUrl.split("/").pop()!));
  });

  it("POST /generate returns a picture that is a valid PNG in the bucket under the prefix", async () => {
    const res = await fetch(`${local!.apiUrl}/generate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "me at a Parisian café, old polaroid look" }),
    });
    assert.equal(res.status, 201);
    const body = (await res.json()) as { key: string; url: string };
    assert.ok(body.key.startsWith(`${local!.health.prefix}/generated_images/`), body.key);
    const png = (await getObject(local!.s3, local!.health.bucket, body.key)).body;
    assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE));
    assert.deepEqual(readPngHeader(png), { width: 1024, height: 1024 }, "Stable Image Core's 1:1 picture");
    const sidecar = await getJson(local!.s3, local!.health.bucket, body.key.replace(/\.png$/, ".json"));
    assert.equal(sidecar.prompt, "me at a Parisian café, old polaroid look");
    // The presigned URL the API hands out works against the local object store.
    const viaUrl = Buffer.from(await (await fetch(body.url)).arrayBuffer());
    assert.ok(viaUrl.equals(png));
  });

  it('curl -X POST …/generate -d \'{"prompt":"Me on top of K2"}\' stores a Stability-shaped picture of the default model', async () => {
    // curl's -d sends application/x-www-form-urlencoded; a JSON object body is still JSON.
    const res = await fetch(`${local!.apiUrl}/generate`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: '{"prompt":"Me on top of K2"}',
    });
    assert.equal(res.status, 201);
    const body = (await res.json()) as { key: string; model: string; width: number; height: number; seed: number };
    assert.deepEqual([body.model, body.width, body.height], ["stability.stable-image-core-v1:1", 1024, 1024]);
    assert.deepEqual(readPngHeader((await getObject(local!.s3, local!.health.bucket, body.key)).body), {
      width: 1024,
      height: 1024,
    });
    const sidecar = await getJson(local!.s3, local!.health.bucket, body.key.replace(/\.png$/, ".json"));
    assert.deepEqual(
      [sidecar.prompt, sidecar.model, sidecar.aspectRatio, sidecar.seed, sidecar.width, sidecar.height, "cfgScale" in sidecar],
      ["Me on top of K2", "stability.stable-image-core-v1:1", "1:1", body.seed, 1024, 1024, false],
    );
  });

  it("a plain-text message sent with @aws-sdk/client-sqs becomes a picture", async () => {
    const sent = await local!.sqs.send(new SendMessageCommand({ QueueUrl: local!.health.queueUrl, MessageBody: "me on top of a pyramid" }));
    const key = `${local!.health.prefix}/images/${sent.MessageId}.png`;
    await waitFor(`picture ${key}`, () => exists(local!, key));
    assert.ok(readPngHeader((await getObject(local!.s3, local!.health.bucket, key)).body));
    const sidecar = await waitFor("its sidecar", () =>
      getJson<{ prompt: string; source: string }>(local!.s3, local!.health.bucket, key.replace(/\.png$/, ".json")),
    );
    assert.equal(sidecar.prompt, "me on top of a pyramid");
    assert.equal(sidecar.source, "queue");
  });

  it("POST /images then GET /images/{id} goes from pending to done", async () => {
    const res = await fetch(`${local!.apiUrl}/images`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "snowy mountain cabin at night" }),
    });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    const first = await fetch(`${local!.apiUrl}/images/${id}`);
    assert.equal(((await first.json()) as { status: string }).status, "pending");
    const done = await waitFor("job done", async () => {
      const r = (await (await fetch(`${local!.apiUrl}/images/${id}`)).json()) as { status: string; url?: string };
      return r.status === "done" ? r : undefined;
    });
    const png = Buffer.from(await (await fetch(done.url!)).arrayBuffer());
    assert.deepEqual(readPngHeader(png), { width: 1024, height: 1024 });
    const sidecar = await getJson(local!.s3, local!.health.bucket, `${local!.health.prefix}/images/${id}.json`);
    assert.equal(sidecar.prompt, "snowy mountain cabin at night");
  });

  it("serves the gallery page and the picture list it shows, newest first with prompts", async () => {
    const page = await fetch(`${local!.apiUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type")!, /text\/html/);
    const html = await page.text();
    assert.match(html, /id="prompt"/);
    const list = (await (await fetch(`${local!.apiUrl}/local/pictures`)).json()) as {
      pictures: Array<{ key: string; url: string; prompt: string; lastModified: string }>;
    };
    assert.ok(list.pictures.length >= 3);
    const times = list.pictures.map((p) => Date.parse(p.lastModified));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
    );
    assert.ok(list.pictures.some((p) => p.prompt === "me on top of a pyramid"));
    const img = await fetch(`${local!.apiUrl}${list.pictures[0].url}`);
    assert.equal(img.headers.get("content-type"), "image/png");
    assert.ok(readPngHeader(Buffer.from(await img.arrayBuffer())));
    // The viewer route only serves objects under the prefix.
    assert.equal((await fetch(`${local!.apiUrl}/local/object?key=${encodeURIComponent("elsewhere/x.png")}`)).status, 404);
  });
});

describe("local mode: Ctrl-C finishes the batch in flight and keeps the rest; finished jobs never come back", function () {
  this.timeout(150000);
  let first: LocalChild | undefined;
  let second: LocalChild | undefined;
  let third: LocalChild | undefined;
  const env = freshEnv();
  const journalFile = queueJournalFile({ dataDir: env.LOCAL_DATA_DIR });
  const sent = new Map<string, string>(); // id → body
  let saved: Array<{ id: string; body: string }> = [];
  let bucket = "";
  let prefix = "";
  after(async () => {
    for (const child of [first, second, third]) await cleanup(child, false);
    rmSync(env.LOCAL_DATA_DIR, { recursive: true, force: true });
  });

  it("Ctrl-C while batches are in flight: their pictures are stored, the rest is kept in the journal", async () => {
    // The model takes 3 s, so the batches are really in flight when SIGINT arrives.
    first = await startLocalChild({ ...env, LOCAL_MODEL_LATENCY_MS: "3000", LOCAL_WORKER_POLLERS: "2" });
    ({ bucket, prefix } = first.health);
    const bodies = Array.from({ length: 6 }, (_, i) => `postcard ${i} from the lake`);
    const out = await first.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: first.health.queueUrl,
        Entries: bodies.map((b, n) => ({ Id: String(n), MessageBody: b })),
      }),
    );
    for (const e of out.Successful!) sent.set(e.MessageId!, bodies[Number(e.Id)]);
    // Both pollers hold a full batch: 2 × batch size records in flight, none finished yet.
    const busy = 2 * (first.health as unknown as { batchSize: number }).batchSize;
    await waitFor("every poller to hold a batch", async () => {
      const w = (
        (await (await fetch(`${first!.apiUrl}/health`)).json()) as {
          components: { worker: { inFlight: number; deleted: number } };
        }
      ).components.worker;
      return w.inFlight === busy && w.deleted === 0 ? true : undefined;
    });
    assert.equal(await first.stop("SIGINT"), 0);
    assert.match(first.output(), new RegExp(`Stopped\\. ${sent.size - busy} queued and 0 dead-letter message\\(s\\) kept`));

    saved = [...readJournal(journalFile).state.queue.values()];
    assert.equal(saved.length, sent.size - busy);
    for (const m of saved) assert.equal(m.body, sent.get(m.id));
    // The data directory alone (the object store started on it, nothing else) holds exactly the
    // pictures of the batches that were in flight.
    const store = await startObjectStore({
      host: "127.0.0.1",
      port: 0,
      directory: objectStoreDirectory({ dataDir: env.LOCAL_DATA_DIR }),
      bucket,
    });
    const s3 = new S3Client({
      region: "eu-west-1",
      endpoint: store.url,
      forcePathStyle: true,
      credentials: LOCAL_CREDENTIALS,
    });
    try {
      const pictures = (await listKeys(s3, bucket, `${prefix}/images/`)).filter((k) => k.endsWith(".png"));
      const inFlightIds = [...sent.keys()].filter((id) => !saved.some((m) => m.id === id));
      assert.deepEqual(pictures.sort(), inFlightIds.map((id) => `${prefix}/images/${id}.png`).sort());
    } finally {
      s3.destroy();
      await store.close();
    }
  });

  it("the next start restores the saved messages with the same ids, once", async () => {
    second = await startLocalChild(env);
    assert.match(second.output(), new RegExp(`restored\\s+${saved.length} queued`));
    for (const m of saved) await waitFor(`the saved message's picture ${m.id}`, () => exists(second!, `${prefix}/images/${m.id}.png`));
    for (const [id, body] of sent) assert.equal((await getJson(second.s3, bucket, `${prefix}/images/${id}.json`)).prompt, body);
    // Every job finished: the journal holds nothing, so a kill (SIGKILL, like a crash) brings nothing back.
    await waitFor("the journal to be empty", async () => (readJournal(journalFile).state.queue.size === 0 ? true : undefined));
    await second.stop("SIGKILL");
    third = await startLocalChild(env);
    assert.doesNotMatch(third.output(), /restored/);
    const q = (await (await fetch(`${third.apiUrl}/local/queues`)).json()) as {
      queue: { visible: number; inFlight: number };
      jobs: unknown[];
    };
    assert.deepEqual([q.queue.visible, q.queue.inFlight, q.jobs.length], [0, 0, 0]);
  });
});
