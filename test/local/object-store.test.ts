/**
 * The local object store answers as S3 does while objects are replaced: every read gets a whole
 * object, the old one or the new one (local/fakes/s3rver.ts, local/fakes/object-store.ts), and the
 * gate that orders reads and changes never lets a change starve or a departed caller block it.
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import * as http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { startObjectStore, type ObjectStore } from "../../local/fakes/object-store";
import { createReadWriteGate } from "../../local/fakes/read-write-gate";
import { REPO_ROOT } from "../../tools/local-child";

const BUCKET = "pictures";
const KEY = "candidate/job.json";

/** Version `n` of the object: its own number and a length of its own, so a mix of two shows. */
const version = (n: number) => JSON.stringify({ n, padding: "x".repeat(100 + (n % 40) * 250) });

describe("local/object-store: objects are replaced whole", function () {
  this.timeout(20000);
  let store: ObjectStore;
  let s3: S3Client;

  before(async () => {
    store = await startObjectStore({ host: "127.0.0.1", port: 0, directory: mkdtempSync(join(tmpdir(), "object-store-")), bucket: BUCKET });
    // One try: a read the store answers wrongly must show here, not be retried away.
    s3 = new S3Client({
      region: "us-east-1",
      endpoint: store.url,
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
  });
  after(async () => {
    s3?.destroy();
    await store?.close();
  });

  const put = (n: number) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: version(n), ContentType: "application/json" }));
  const read = async () => await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: KEY }))).Body!.transformToString();

  it("a GET while the object is replaced again and again reads one whole version, never a short or mixed one", async () => {
    const REPLACEMENTS = 60;
    await put(0);
    let replaced = 0;
    const reads: string[] = [];
    const failures: string[] = [];
    const writer = (async () => {
      while (replaced < REPLACEMENTS) await put(++replaced);
    })();
    const readers = [1, 2, 3].map(async () => {
      while (replaced < REPLACEMENTS) {
        try {
          reads.push(await read());
        } catch (err) {
          failures.push(`${(err as Error).name}: ${(err as Error).message}`);
        }
      }
    });
    await Promise.all([writer, ...readers]);
    assert.deepEqual(failures, []);
    assert.ok(reads.length >= REPLACEMENTS / 2, `only ${reads.length} reads ran beside ${REPLACEMENTS} replacements`);
    for (const body of reads) assert.equal(body, version((JSON.parse(body) as { n: number }).n));
  });

  it("a GET after a PUT's answer reads what that PUT stored, and a listing names the key once", async () => {
    for (let n = 1; n <= 40; n++) {
      await put(n);
      assert.equal(await read(), version(n));
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "candidate/" }));
    assert.deepEqual(
      listed.Contents?.map((o) => [o.Key, o.Size]),
      [[KEY, version(40).length]],
    );
  });

  it("a caller that leaves while its change waits behind a read does not hold the store", async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 1);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "candidate/big.bin", Body: big }));
    // A read that stays open: its body is not consumed, so its answer cannot finish.
    const slowRead = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get(`${store.url}/${BUCKET}/candidate/big.bin`, resolve).on("error", reject),
    );
    assert.equal(slowRead.statusCode, 200);
    slowRead.pause();
    const waitingChange = http.request(`${store.url}/${BUCKET}/candidate/left.json`, { method: "PUT" });
    waitingChange.on("error", () => undefined);
    waitingChange.end("{}");
    await new Promise((resolve) => setTimeout(resolve, 200));
    waitingChange.destroy();
    slowRead.destroy();
    await put(41);
    assert.equal(await read(), version(41));
  });
});

describe("local/object-store: a store killed during a PUT", function () {
  this.timeout(20000);

  /** The store in a process of its own; resolves with its URL and a kill -9 of it. */
  async function storeInChild(directory: string): Promise<{ url: string; kill: () => Promise<void> }> {
    const script = `require("./tools/register.js");
      require("./local/fakes/object-store")
        .startObjectStore({ host: "127.0.0.1", port: 0, directory: ${JSON.stringify(directory)}, bucket: "${BUCKET}" })
        .then((store) => console.log("url " + store.url));`;
    const child = spawn(process.execPath, ["-e", script], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d) => {
        out += d;
        const m = /url (\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.once("exit", (code) => reject(new Error(`the store exited with ${code}`)));
    });
    return { url, kill: () => (child.kill("SIGKILL"), exited) };
  }

  it("keeps the whole old object, as a PUT that never completed", async () => {
    const directory = mkdtempSync(join(tmpdir(), "object-store-killed-"));
    const child = await storeInChild(directory);
    const putWhole = await fetch(`${child.url}/${BUCKET}/${KEY}`, { method: "PUT", body: version(1) });
    assert.equal(putWhole.status, 200);
    const next = Buffer.from(version(2).repeat(2000));
    const halfPut = http.request(`${child.url}/${BUCKET}/${KEY}`, { method: "PUT", headers: { "content-length": next.length } });
    halfPut.on("error", () => undefined);
    halfPut.write(next.subarray(0, next.length / 2));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await child.kill();

    const store = await startObjectStore({ host: "127.0.0.1", port: 0, directory, bucket: BUCKET });
    try {
      const res = await fetch(`${store.url}/${BUCKET}/${KEY}`);
      assert.equal(res.status, 200);
      const body = await res.text();
      assert.ok(body === version(1), `a ${body.length}-byte body, not the ${version(1).length}-byte old object`);
      const listing = await (await fetch(`${store.url}/${BUCKET}?list-type=2`)).text();
      assert.deepEqual(
        [...listing.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]),
        [KEY],
      );
    } finally {
      await store.close();
    }
  });
});

describe("local/read-write-gate", () => {
  const started: string[] = [];
  const gate = createReadWriteGate();
  const enter = async (name: string, kind: "read" | "change") => {
    const leave = await gate.enter(kind);
    started.push(name);
    return leave;
  };
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it("lets reads run together, a change alone, and holds the reads that come after a waiting change", async () => {
    const r1 = enter("r1", "read");
    const r2 = enter("r2", "read");
    const c1 = enter("c1", "change");
    const r3 = enter("r3", "read");
    await settle();
    assert.deepEqual(started, ["r1", "r2"]);
    (await r1)();
    await settle();
    assert.deepEqual(started, ["r1", "r2"], "the change waits for every read before it");
    const leaveR2 = await r2;
    leaveR2();
    leaveR2(); // leaving twice counts once
    await settle();
    assert.deepEqual(started, ["r1", "r2", "c1"]);
    (await c1)();
    await settle();
    assert.deepEqual(started, ["r1", "r2", "c1", "r3"]);
    (await r3)();
    const c2 = enter("c2", "change");
    await settle();
    assert.deepEqual(started.at(-1), "c2", "a change starts at once when nothing runs");
    (await c2)();
  });
});
