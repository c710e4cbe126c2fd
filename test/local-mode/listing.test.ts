/**
 * Listings past one page (local/fakes/s3rver.ts): 1,500 pictures and 30 failure records under the
 * prefix, listed in full through the real S3 client and page by page through the gallery's
 * endpoint, which ships one page of cards and clipped texts; GET /health checks a listing, and
 * says so when listings break, as they do with s3rver's own DES tokens.
 */
import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { DeleteObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { loadLocalConfig } from "../../local/app/config";
import { createHealthCheck } from "../../local/app/health";
import { initialWorkerStats } from "../../local/app/worker";
import { renderPostcard } from "../../local/fakes/renderer";
import { sidecarKeyOf } from "../../runtime/storage";
import { startQueueServer } from "../../local/fakes/queue-server";
import { objectStoreDirectory, type LocalMode } from "../../local/app/start";
import { freshEnv, listKeys, REPO_ROOT } from "../../tools/local-child";
import { launchChromium } from "../support/browser";
import { healthOnceAllAnswer, s3ClientOf, startInProcess } from "./in-process";

const PICTURES = 1500;
const FAILURES = 30;

interface PicturesPage {
  total: number;
  page: number;
  pages: number;
  pageSize: number;
  pictures: Array<{ key: string; prompt?: string; lastModified: string }>;
  failedTotal: number;
  failures: Array<{ key: string; prompt?: string; promptLength?: number; reason?: string }>;
}

type Fixture = { Key: string; Body: Buffer; Bucket: string };

async function putAll(s3: S3Client, objects: Fixture[]): Promise<void> {
  for (let i = 0; i < objects.length; i += 20) await Promise.all(objects.slice(i, i + 20).map((o) => s3.send(new PutObjectCommand(o))));
}

/**
 * Writes `objects` with s3rver's own file store into the local mode's object store directory
 * (`objectStoreDirectory`, local/app/start.ts) before that store starts: the same files a PUT
 * leaves, at a tenth of the CPU of 1,530 signed PUTs. The tests read them back through S3.
 */
async function storeBeforeStart(directory: string, objects: Fixture[]): Promise<void> {
  type FilesystemStore = new (root: string) => { putObject(object: unknown): Promise<unknown> };
  type S3Object = new (bucket: string, key: string, content: Buffer, metadata: Record<string, string>) => unknown;
  const Store = require("s3rver/lib/stores/filesystem") as FilesystemStore;
  const S3ObjectClass = require("s3rver/lib/models/object") as S3Object;
  const store = new Store(directory);
  for (let i = 0; i < objects.length; i += 50) {
    await Promise.all(objects.slice(i, i + 50).map((o) => store.putObject(new S3ObjectClass(o.Bucket, o.Key, o.Body, {}))));
  }
}

describe("local mode: listings of any size", function () {
  this.timeout(180000);
  let mode: LocalMode;
  let dataDir: string;
  let s3: S3Client;
  const stored: string[] = [];

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "local-listing-"));
    const { bucket, prefix } = loadLocalConfig(freshEnv({}, dataDir));
    const png = renderPostcard({ prompt: "many", seed: 1, width: 16, height: 16 });
    const objects = Array.from({ length: PICTURES }, (_, i) => ({
      Bucket: bucket,
      Key: `${prefix}/images/bulk-${String(i).padStart(4, "0")}.png`,
      Body: png,
    }));
    stored.push(...objects.map((o) => o.Key));
    const record = (i: number) => ({
      jobId: `failed-${i}`,
      kind: "permanent",
      code: "content-filter",
      reason: "refused ".repeat(1000),
      prompt: "p".repeat(5000),
      failedAt: new Date().toISOString(),
    });
    const failures = Array.from({ length: FAILURES }, (_, i) => ({
      Bucket: bucket,
      Key: `${prefix}/images/failed-${i}.failed.json`,
      Body: Buffer.from(JSON.stringify(record(i))),
    }));
    await storeBeforeStart(objectStoreDirectory({ dataDir }), [...objects, ...failures]);
    ({ mode } = await startInProcess({}, dataDir));
    s3 = s3ClientOf(mode);
  });
  after(async () => {
    s3.destroy();
    await mode.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const page = async (query: string): Promise<PicturesPage> => {
    const res = await fetch(`${mode.api.url}/local/pictures?${query}`);
    assert.equal(res.status, 200);
    return (await res.json()) as PicturesPage;
  };

  it(`lists all ${PICTURES + FAILURES} objects through the real S3 client (continuation tokens work)`, async () => {
    const keys = await listKeys(s3, mode.config.bucket, `${mode.config.prefix}/`);
    assert.equal(keys.length, PICTURES + FAILURES);
    assert.deepEqual(
      keys.filter((k) => k.endsWith(".png")),
      [...stored].sort(),
    );
  });

  it("pages every picture through GET /local/pictures, each exactly once, newest first, never more than a page", async () => {
    const first = await page("pageSize=100");
    assert.deepEqual([first.total, first.pages, first.pageSize], [PICTURES, PICTURES / 100, 100]);
    const seen: string[] = [];
    let previous = Infinity;
    for (let n = 1; n <= first.pages; n++) {
      const p = n === 1 ? first : await page(`page=${n}&pageSize=100`);
      assert.equal(p.page, n);
      assert.ok(p.pictures.length <= 100);
      for (const picture of p.pictures) {
        const t = Date.parse(picture.lastModified);
        assert.ok(t <= previous, "newest first across pages");
        previous = t;
        seen.push(picture.key);
      }
    }
    assert.equal(seen.length, PICTURES);
    assert.deepEqual([...seen].sort(), [...stored].sort());
  });

  it("ships one default page of cards, the newest 20 failures with clipped texts, and the last page for a page past the end", async () => {
    const p = await page("");
    assert.equal(p.pictures.length, 24);
    assert.equal(p.failedTotal, FAILURES);
    assert.equal(p.failures.length, 20);
    for (const f of p.failures) {
      assert.equal(f.promptLength, 5000);
      assert.ok([...f.prompt!].length <= 301 && [...f.reason!].length <= 301, "clipped to 300 characters and an ellipsis");
    }
    const past = await page("page=9999&pageSize=1000");
    assert.deepEqual([past.page, past.pages, past.pageSize, past.pictures.length], [15, 15, 100, 100], "pageSize is capped at 100");
  });

  it("the gallery page shows one page of cards and moves to older ones", async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${mode.api.url}/`);
      await page.locator("#page-info", { hasText: "page 1 of 63" }).waitFor({ timeout: 30000 });
      const keys = () =>
        page.locator(".card").evaluateAll((cards) => cards.map((c) => (c as unknown as { dataset: { key: string } }).dataset.key));
      const first = await keys();
      assert.equal(first.length, 24);
      await page.click("#older");
      await page.locator("#page-info", { hasText: "page 2 of 63" }).waitFor({ timeout: 30000 });
      const second = await keys();
      assert.equal(second.length, 24);
      assert.equal(second.filter((k) => first.includes(k)).length, 0, "page 2 holds other pictures");
      assert.equal(await page.locator("#failures-summary").textContent(), `Failed jobs (the newest 20 of ${FAILURES})`);
    } finally {
      await browser.close();
    }
  });

  it("a listing is kept only until the store changes: a picture stored or deleted after it shows on the next request", async () => {
    const { bucket, prefix } = mode.config;
    const before = await page("pageSize=100");
    assert.equal(before.total, PICTURES);
    assert.ok(
      before.pictures.every((p) => p.prompt === undefined),
      "pictures without a sidecar are shown without a prompt",
    );
    const Key = `${prefix}/images/late-arrival.png`;
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key,
        Body: renderPostcard({ prompt: "late", seed: 2, width: 16, height: 16 }),
      }),
    );
    const after = await page("pageSize=100");
    assert.equal(after.total, PICTURES + 1);
    assert.equal(after.pictures[0].key, Key, "the newest picture comes first");
    assert.equal(after.pictures[0].prompt, undefined, "its sidecar is not written yet");
    const SidecarKey = sidecarKeyOf(Key);
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: SidecarKey,
        Body: Buffer.from(JSON.stringify({ prompt: "late", createdAt: new Date().toISOString() })),
      }),
    );
    const withSidecar = await page("pageSize=100");
    assert.equal(withSidecar.pictures[0].prompt, "late", "a sidecar written after the listing is read on the next request");
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: SidecarKey }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
    const again = await page("pageSize=100");
    assert.equal(again.total, PICTURES);
    assert.ok(!again.pictures.some((p) => p.key === Key));
  });

  it("GET /health lists under the prefix across a continuation token and says ok", async () => {
    const { code, body } = await healthOnceAllAnswer(mode);
    assert.equal(code, 200);
    assert.equal(body.components.objectStore.status, "ok");
  });
});

/** A bare s3rver (not local/fakes/object-store.ts, which accepts any key) knows only its built-in key pair. */
const S3RVER_OWN_KEYS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

describe("local mode: GET /health when listings are broken", function () {
  this.timeout(60000);
  let child: ChildProcess | undefined;
  const dirs: string[] = [];
  after(() => {
    child?.kill("SIGKILL");
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** s3rver as its package ships it (DES tokens), in its own process, with two objects under p/. */
  async function unfixedS3rver(): Promise<{ url: string; directory: string }> {
    const directory = mkdtempSync(path.join(tmpdir(), "s3rver-des-"));
    dirs.push(directory);
    const script = `
      const S3rver = require("s3rver");
      const s = new S3rver({ directory: ${JSON.stringify(directory)}, silent: true, configureBuckets: [{ name: "b" }] });
      s.configureBuckets().then(() => {
        const server = require("node:http").createServer(s.callback());
        server.listen(0, "127.0.0.1", () => console.log("port " + server.address().port));
      });`;
    child = spawn(process.execPath, ["-e", script], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] });
    const port = await new Promise<string>((resolve, reject) => {
      let out = "";
      child!.stdout!.on("data", (d) => {
        out += d;
        const m = /port (\d+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child!.on("exit", (code) => reject(new Error(`s3rver exited with ${code}`)));
    });
    const url = `http://127.0.0.1:${port}`;
    const s3 = new S3Client({ region: "us-east-1", endpoint: url, forcePathStyle: true, credentials: S3RVER_OWN_KEYS });
    await putAll(
      s3,
      ["p/a.png", "p/b.png"].map((Key) => ({ Bucket: "b", Key, Body: Buffer.from("x") })),
    );
    s3.destroy();
    return { url, directory };
  }

  it("reports the object store degraded, naming the listing, when continuation tokens fail (503)", async () => {
    const store = await unfixedS3rver();
    const queue = await startQueueServer({
      host: "127.0.0.1",
      port: 0,
      queueName: "q",
      dlqName: "q-dlq",
      maxReceiveCount: 2,
      visibilityTimeoutSeconds: 30,
      region: "us-east-1",
    });
    const health = createHealthCheck({
      region: "us-east-1",
      credentials: S3RVER_OWN_KEYS,
      objectStore: { url: store.url, bucket: "b", prefix: "p", directory: store.directory },
      queue: { url: queue.url, queueUrl: queue.queueUrl, dlqUrl: queue.dlqUrl },
      model: { modelId: "m", bedrockRegion: "us-east-1" },
      worker: { stats: initialWorkerStats() },
      apiUrl: () => "http://127.0.0.1:0",
    });
    try {
      const report = await health.check();
      assert.equal(report.status, "degraded");
      assert.equal(report.components.objectStore.status, "degraded");
      assert.match(String(report.components.objectStore.error), /^listing p\/ fails: /);
      assert.equal(report.components.queue.status, "ok");
    } finally {
      health.destroy();
      await queue.close();
    }
  });
});
