/**
 * `npm start` end to end, as a child process on ephemeral ports: the API, the queue worker, the
 * gallery's JSON, and a clean Ctrl-C that keeps queued work for the next start.
 */
import { strict as assert } from "node:assert";
import { rmSync } from "node:fs";
import { GetQueueAttributesCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { readPngHeader, PNG_SIGNATURE } from "../../local/png";
import { cleanup, freshEnv, getJson, getObject, startLocalChild, waitFor, type LocalChild } from "./helpers";

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
    assert.deepEqual(readPngHeader(png), { width: 512, height: 512 });
    const sidecar = await getJson(local!.s3, local!.health.bucket, body.key.replace(/\.png$/, ".json"));
    assert.equal(sidecar.prompt, "me at a Parisian café, old polaroid look");
    // The presigned URL the API hands out works against the local object store.
    const viaUrl = Buffer.from(await (await fetch(body.url)).arrayBuffer());
    assert.ok(viaUrl.equals(png));
  });

  it("a plain-text message sent with @aws-sdk/client-sqs becomes a picture", async () => {
    const sent = await local!.sqs.send(new SendMessageCommand({ QueueUrl: local!.health.queueUrl, MessageBody: "me on top of a pyramid" }));
    const key = `${local!.health.prefix}/images/${sent.MessageId}.png`;
    await waitFor(`picture ${key}`, () => exists(local!, key));
    assert.ok(readPngHeader((await getObject(local!.s3, local!.health.bucket, key)).body));
    const sidecar = await waitFor("its sidecar", () => getJson<{ prompt: string; source: string }>(local!.s3, local!.health.bucket, key.replace(/\.png$/, ".json")));
    assert.equal(sidecar.prompt, "me on top of a pyramid");
    assert.equal(sidecar.source, "queue");
  });

  it("POST /images then GET /images/{id} goes from pending to done", async () => {
    const res = await fetch(`${local!.apiUrl}/images`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: "snowy mountain cabin at night" }) });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    const first = await fetch(`${local!.apiUrl}/images/${id}`);
    assert.equal(((await first.json()) as { status: string }).status, "pending");
    const done = await waitFor("job done", async () => {
      const r = (await (await fetch(`${local!.apiUrl}/images/${id}`)).json()) as { status: string; url?: string };
      return r.status === "done" ? r : undefined;
    });
    const png = Buffer.from(await (await fetch(done.url!)).arrayBuffer());
    assert.deepEqual(readPngHeader(png), { width: 512, height: 512 });
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
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
    assert.ok(list.pictures.some((p) => p.prompt === "me on top of a pyramid"));
    const img = await fetch(`${local!.apiUrl}${list.pictures[0].url}`);
    assert.equal(img.headers.get("content-type"), "image/png");
    assert.ok(readPngHeader(Buffer.from(await img.arrayBuffer())));
    // The viewer route only serves objects under the prefix.
    assert.equal((await fetch(`${local!.apiUrl}/local/object?key=${encodeURIComponent("elsewhere/x.png")}`)).status, 404);
  });
});

describe("local mode: Ctrl-C keeps pictures and unfinished messages for the next start", function () {
  this.timeout(120000);
  let first: LocalChild | undefined;
  let second: LocalChild | undefined;
  const env = freshEnv();
  after(async () => {
    await cleanup(first, false);
    await cleanup(second, false);
    rmSync(env.LOCAL_DATA_DIR, { recursive: true, force: true });
  });

  it("finishes the batch in flight, saves what is queued, and picks it up again with the same id", async () => {
    // First run: the model throttles every call for this prompt, so its message waits for redelivery.
    first = await startLocalChild({ ...env, LOCAL_MODEL_FAIL_WHEN_PROMPT_INCLUDES: "[flaky]=throttle" });
    const { bucket, prefix, queueUrl } = first.health;
    const kept = await first.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "beach at sunset [flaky]" }));
    const done = await first.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "forest lake in the morning" }));
    await waitFor("the good message's picture", () => exists(first!, `${prefix}/images/${done.MessageId}.png`));
    await waitFor("the flaky message to be left for redelivery", async () => {
      const h = (await (await fetch(`${first!.apiUrl}/health`)).json()) as { components: { worker: { failed: number } } };
      return h.components.worker.failed >= 1 ? true : undefined;
    });
    assert.equal(await first.stop("SIGINT"), 0);
    assert.match(first.output(), /Stopped\. 1 queued and 0 dead-letter message\(s\) saved/);

    // Second run, same data directory, the model healthy: the picture is still there and the
    // saved message becomes a picture under its original id.
    second = await startLocalChild(env);
    assert.match(second.output(), /restored\s+1 queued/);
    assert.ok(await exists(second, `${prefix}/images/${done.MessageId}.png`));
    await waitFor("the saved message's picture", () => exists(second!, `${prefix}/images/${kept.MessageId}.png`));
    const sidecar = await getJson(second.s3, bucket, `${prefix}/images/${kept.MessageId}.json`);
    assert.equal(sidecar.prompt, "beach at sunset [flaky]");
  });
});
