/**
 * The local servers answer this machine only (local/fakes/localhost-guard.ts), and every error of the
 * local API is JSON `{"error", "code"}` (local/app/api-server.ts): foreign Host (DNS rebinding) and
 * foreign Origin on a change (CSRF) get 403; bodies over the limit 413 whatever their size; headers
 * over Node's limit 431; an unknown method 501; HEAD / the page's headers.
 */
import { strict as assert } from "node:assert";
import * as http from "node:http";
import * as net from "node:net";
import { rmSync } from "node:fs";
import { GetQueueAttributesCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { DEFAULTS } from "../../runtime/defaults";
import type { LocalMode } from "../../local/app/start";
import { sdkClientsOf, sqsClientOf, startInProcess } from "./in-process";

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request with exactly these headers (fetch would not let a test set Host). */
function request(url: string, method: string, headers: Record<string, string | number>, body?: Buffer | string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Raw bytes over a socket (for what an HTTP client would refuse to send), and the raw answer. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = "";
    const socket = net.connect(port, "127.0.0.1", () => socket.write(text));
    socket.on("data", (d) => (answer += d));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
  });
}

/** Status and JSON body of a raw HTTP answer. */
function parseRaw(answer: string): { status: number; contentType?: string; json: { error: string; code: string } } {
  const [head, body] = answer.split("\r\n\r\n");
  return {
    status: Number(head.split(" ")[1]),
    contentType: /content-type: ([^\r\n]+)/i.exec(head)?.[1],
    json: JSON.parse(body),
  };
}

const isErrorJson = (body: string, code: string) => {
  const json = JSON.parse(body) as { error?: unknown; code?: unknown };
  assert.equal(json.code, code, body);
  assert.equal(typeof json.error, "string");
  assert.ok((json.error as string).length > 0);
};

describe("local mode: a local server that serves only this machine, with JSON errors", function () {
  this.timeout(60000);
  let mode: LocalMode;
  let dataDir: string;
  let api: string;
  let port: number;
  const json = { "content-type": "application/json" };

  before(async () => {
    ({ mode, dataDir } = await startInProcess());
    api = mode.api.url;
    port = mode.api.port;
  });
  after(async () => {
    await mode.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const queued = async () => {
    const sqs = sqsClientOf(mode);
    try {
      const { Attributes: a = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: mode.queue.queueUrl,
          AttributeNames: ["ApproximateNumberOfMessages"],
        }),
      );
      return Number(a.ApproximateNumberOfMessages);
    } finally {
      sqs.destroy();
    }
  };

  it("answers 127.0.0.1:<port> and localhost:<port>, and 403 to any other Host (DNS rebinding)", async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
      assert.equal((await request(`${api}/health`, "GET", { host })).status, 200, host);
    }
    for (const host of [`evil.example:${port}`, "127.0.0.1", `127.0.0.1:${port + 1}`, `rebind.127.0.0.1.nip.io:${port}`]) {
      const res = await request(`${api}/health`, "GET", { host });
      assert.equal(res.status, 403, host);
      assert.equal(res.headers["content-type"], "application/json");
      isErrorJson(res.body, "forbidden-host");
    }
    // The gallery's data and the picture viewer too, not only the API.
    assert.equal((await request(`${api}/local/pictures`, "GET", { host: `evil.example:${port}` })).status, 403);
  });

  it("refuses a change from another origin (CSRF) and queues nothing; its own page and tools without Origin pass", async () => {
    const before = await queued();
    const body = JSON.stringify({ prompt: "sent by a page on another site" });
    for (const origin of ["http://evil.example", "null", `http://127.0.0.1:${port + 1}`, `https://127.0.0.1:${port}`]) {
      const res = await request(`${api}/images`, "POST", { host: `127.0.0.1:${port}`, origin, ...json }, body);
      assert.equal(res.status, 403, origin);
      isErrorJson(res.body, "forbidden-origin");
    }
    // A plain form post (no preflight) is refused the same way.
    const form = await request(
      `${api}/images`,
      "POST",
      { host: `127.0.0.1:${port}`, origin: "http://evil.example", "content-type": "text/plain" },
      "a prompt",
    );
    assert.equal(form.status, 403);
    assert.equal(await queued(), before, "nothing was queued");

    const own = await request(
      `${api}/images`,
      "POST",
      { host: `localhost:${port}`, origin: `http://localhost:${port}`, ...json },
      JSON.stringify({ prompt: "from the gallery" }),
    );
    assert.equal(own.status, 202, own.body);
    const tool = await request(`${api}/images`, "POST", { host: `127.0.0.1:${port}`, ...json }, JSON.stringify({ prompt: "from curl" }));
    assert.equal(tool.status, 202, tool.body);
    // Reading with a foreign Origin changes nothing (and the browser keeps the answer from that page).
    assert.equal((await request(`${api}/local/queues`, "GET", { host: `127.0.0.1:${port}`, origin: "http://evil.example" })).status, 200);
  });

  it("guards the object store and the queue the same way, while the SDK clients work", async () => {
    const store = new URL(mode.objectStore.url);
    const queue = new URL(mode.queue.url);
    const put = await request(
      `${mode.objectStore.url}/${mode.config.bucket}/${mode.config.prefix}/images/planted.png`,
      "PUT",
      { host: `evil.example:${store.port}` },
      "x",
    );
    assert.equal(put.status, 403);
    isErrorJson(put.body, "forbidden-host");
    const csrf = await request(
      `${mode.objectStore.url}/${mode.config.bucket}/${mode.config.prefix}/images/planted.png`,
      "PUT",
      { host: `127.0.0.1:${store.port}`, origin: "http://evil.example" },
      "x",
    );
    assert.equal(csrf.status, 403);
    const form = `Action=SendMessage&QueueUrl=${encodeURIComponent(mode.queue.queueUrl)}&MessageBody=planted`;
    const sqsForm = await request(
      mode.queue.url,
      "POST",
      {
        host: `127.0.0.1:${queue.port}`,
        origin: "http://evil.example",
        "content-type": "application/x-www-form-urlencoded",
      },
      form,
    );
    assert.equal(sqsForm.status, 403);
    isErrorJson(sqsForm.body, "forbidden-origin");

    const { s3, sqs } = sdkClientsOf(mode);
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: mode.config.bucket,
          Key: `${mode.config.prefix}/probe.txt`,
          Body: Buffer.from("ok"),
        }),
      );
      assert.ok((await sqs.send(new SendMessageCommand({ QueueUrl: mode.queue.queueUrl, MessageBody: "through the SDK" }))).MessageId);
    } finally {
      s3.destroy();
      sqs.destroy();
    }
  });

  it("answers 413 JSON for every body over the limit, small or huge, and lets the limit itself through", async () => {
    for (const size of [DEFAULTS.maxBodyBytes + 1, 1024 * 1024, 20 * 1024 * 1024]) {
      const res = await request(`${api}/generate`, "POST", { ...json, "content-length": size }, Buffer.alloc(size, 0x61)).catch((err) => {
        throw new Error(`${size} bytes: ${err.message}`);
      });
      assert.equal(res.status, 413, `${size} bytes`);
      isErrorJson(res.body, "payload-too-large");
    }
    const atLimit = JSON.stringify({ prompt: "x".repeat(DEFAULTS.maxBodyBytes - 13) });
    assert.equal(Buffer.byteLength(atLimit), DEFAULTS.maxBodyBytes);
    const res = await request(`${api}/generate`, "POST", json, atLimit);
    assert.equal(res.status, 400, "the handler judges it: the prompt is too long");
    isErrorJson(res.body, "invalid-request");
  });

  it("answers oversized headers with 431 JSON, an unknown method with 501 JSON, a malformed request with 400 JSON", async () => {
    const big = parseRaw(await raw(port, `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Big: ${"a".repeat(20000)}\r\n\r\n`));
    assert.deepEqual([big.status, big.contentType, big.json.code], [431, "application/json", "headers-too-large"]);
    const foo = parseRaw(await raw(port, `FOO / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
    assert.deepEqual([foo.status, foo.contentType, foo.json.code], [501, "application/json", "method-not-implemented"]);
    const junk = parseRaw(await raw(port, `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\na header without a colon\r\n\r\n`));
    assert.deepEqual([junk.status, junk.json.code], [400, "bad-request"]);
    assert.ok(junk.json.error);
  });

  it("answers HEAD / like GET / without the body, and a wrong method on a local route with 405 JSON", async () => {
    const head = await request(`${api}/`, "HEAD", {});
    assert.equal(head.status, 200);
    assert.match(String(head.headers["content-type"]), /text\/html/);
    assert.equal(head.body, "");
    assert.equal((await request(`${api}/health`, "HEAD", {})).status, 200);
    const post = await request(`${api}/health`, "POST", json, "{}");
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, "GET, HEAD");
    isErrorJson(post.body, "method-not-allowed");
    // The deployed routes keep the runtime handler's answers.
    const unknown = await request(`${api}/nowhere`, "GET", {});
    assert.equal(unknown.status, 404);
    isErrorJson(unknown.body, "not-found");
  });
});
