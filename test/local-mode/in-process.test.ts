/**
 * The local mode started in this process (local/app/start.ts startLocalMode), so a test can reach
 * inside: stop one component and see GET /health report it, hold the model longer than the
 * queue handler's budget, send an oversized body, list queued jobs sent around the API.
 */
import { strict as assert } from "node:assert";
import * as http from "node:http";
import { rmSync } from "node:fs";
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DEFAULTS } from "../../runtime/defaults";
import type { LocalMode } from "../../local/app/start";
import { getJson, listKeys, waitFor } from "../../tools/local-child";
import { health, healthOnceAllAnswer, sdkClientsOf, sqsClientOf, startInProcess } from "./in-process";

describe("local mode in process: API, queue listing and health", function () {
  this.timeout(60000);
  let mode: LocalMode;
  let dataDir: string;
  let sqs: SQSClient;

  before(async () => {
    ({ mode, dataDir } = await startInProcess());
    sqs = sqsClientOf(mode);
  });
  after(async () => {
    sqs.destroy();
    await mode.stop().catch(() => undefined); // the health test stops components on purpose
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("answers an oversized body with 413 JSON before closing the connection", async () => {
    const post = (headers: http.OutgoingHttpHeaders) =>
      new Promise<{ status: number; body: string; connection?: string }>((resolve, reject) => {
        const req = http.request(
          `${mode.api.url}/generate`,
          { method: "POST", headers: { "content-type": "application/json", ...headers } },
          (res) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode!, body, connection: res.headers.connection }));
          },
        );
        req.on("error", reject);
        // 12 MB in 256 KB chunks, stopping as soon as the answer is there.
        const chunk = Buffer.alloc(256 * 1024, 0x61);
        let sent = 0;
        let answered = false;
        req.on("response", () => (answered = true));
        const pump = () => {
          while (!answered && sent < 12 * 1024 * 1024) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once("drain", pump);
          }
          req.end();
        };
        pump();
      });
    for (const headers of [{ "content-length": 12 * 1024 * 1024 }, { "transfer-encoding": "chunked" }]) {
      const res = await post(headers);
      assert.equal(res.status, 413, JSON.stringify(headers));
      assert.equal(res.connection, "close");
      assert.deepEqual(JSON.parse(res.body), {
        error: `request body larger than ${DEFAULTS.maxBodyBytes} bytes`,
        code: "payload-too-large",
      });
    }
    // The server is fine afterwards.
    assert.equal((await fetch(`${mode.api.url}/local/queues`)).status, 200);
  });

  it("lists queued jobs however they were sent (API, SDK), with their prompts, for the gallery", async () => {
    mode.bedrock!.failWhenPromptIncludes("[held]", "throttle"); // they stay in the queue
    const viaApi = (await (
      await fetch(`${mode.api.url}/images`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ prompt: "queued through the API [held]" }),
      })
    ).json()) as { id: string };
    const viaSqs = await sqs.send(new SendMessageCommand({ QueueUrl: mode.queue.queueUrl, MessageBody: "sent with the SDK [held]" }));
    const jobs = await waitFor("both jobs listed", async () => {
      const q = (await (await fetch(`${mode.api.url}/local/queues`)).json()) as {
        jobs: Array<{ id: string; prompt: string; state: string }>;
      };
      return q.jobs.length === 2 ? q.jobs : undefined;
    });
    assert.deepEqual(
      jobs.map((j) => [j.id, j.prompt]).sort(),
      [
        [viaApi.id, "queued through the API [held]"],
        [viaSqs.MessageId, "sent with the SDK [held]"],
      ].sort(),
    );
    assert.ok(jobs.every((j) => ["waiting", "in-flight"].includes(j.state)));
  });

  it("GET /health checks every component for real: 200 while all answer, 503 naming the one that does not", async () => {
    const ok = await healthOnceAllAnswer(mode);
    assert.equal(ok.code, 200);
    assert.equal(ok.body.status, "ok");
    for (const name of ["api", "objectStore", "queue", "model", "worker"]) assert.equal(ok.body.components[name].status, "ok", name);
    assert.equal(ok.body.components.worker.state, "running");
    assert.ok(ok.body.components.worker.lastPollAt && ok.body.components.worker.lastPollOutcome);

    await mode.bedrock!.close();
    const noModel = await health(mode);
    assert.equal(noModel.code, 503);
    assert.equal(noModel.body.status, "degraded");
    assert.equal(noModel.body.components.model.status, "unreachable");
    assert.ok(noModel.body.components.model.error);
    assert.equal(noModel.body.components.objectStore.status, "ok");

    await mode.objectStore.close();
    assert.equal((await health(mode)).body.components.objectStore.status, "unreachable");

    await mode.queue.close();
    const noQueue = await waitFor("the worker to notice", async () => {
      const h = await health(mode);
      return h.body.components.worker.status === "degraded" ? h : undefined;
    });
    assert.equal(noQueue.code, 503);
    assert.equal(noQueue.body.components.queue.status, "unreachable");
    assert.equal(noQueue.body.components.worker.lastPollOutcome, "error");
    assert.match(noQueue.body.components.worker.lastError ?? "", /^receive: /);
    assert.equal(noQueue.body.components.api.status, "ok");
  });
});

describe("local mode in process: a model slower than the queue handler's budget", function () {
  this.timeout(60000);
  let mode: LocalMode;
  let dataDir: string;

  // 5 s visibility with 1 attempt leaves (5 - 4) s = 1 s per model call; the model takes 3 s.
  before(async () => {
    ({ mode, dataDir } = await startInProcess({
      LOCAL_VISIBILITY_TIMEOUT_SECONDS: "5",
      MAX_RECEIVE_COUNT: "2",
      BEDROCK_MAX_ATTEMPTS: "1",
      LOCAL_MODEL_LATENCY_MS: "3000",
    }));
  });
  after(async () => {
    await mode.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("makes one model call per delivery and ends in the DLQ once, with no picture from an overtaken call", async () => {
    assert.deepEqual(mode.config.queueModelBudget, { attempts: 1, tryTimeoutMs: 1000 });
    const prompt = "a very slow model at the beach";
    const res = await fetch(`${mode.api.url}/images`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt }),
    });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    const { s3, sqs } = sdkClientsOf(mode);
    try {
      const dead = await waitFor(
        "the job in the DLQ",
        async () =>
          (
            await sqs.send(
              new ReceiveMessageCommand({
                QueueUrl: mode.queue.dlqUrl,
                MaxNumberOfMessages: 10,
                VisibilityTimeout: 60,
              }),
            )
          ).Messages,
        40000,
        250,
      );
      assert.deepEqual(
        dead.map((m) => JSON.parse(m.Body!).jobId),
        [id],
        "the job, named in its body",
      );
      // Wait out the model's held answers (3 s each): an overtaken call would store its picture now.
      await waitFor("the model to finish its held calls", async () =>
        mode.bedrock!.calls.every((c) => c.status !== 0) ? true : undefined,
      );
      // The dev stack's model is a Stability one: its prompt is the body's `prompt`.
      const calls = mode.bedrock!.calls.filter((c) => c.body?.prompt === prompt);
      assert.equal(calls.length, mode.config.maxReceiveCount, "one call per delivery, none overlapping a redelivery");
      assert.ok(
        calls.every((c) => c.status === 499),
        "each call was given up by the client at its budget",
      );
      const { prefix, bucket } = mode.config;
      const keys = await listKeys(s3, bucket, `${prefix}/images/${id}`);
      assert.deepEqual(keys, [`${prefix}/images/${id}.failed.json`], "a failure record and no picture");
      assert.equal((await getJson(s3, bucket, keys[0])).kind, "transient");
      assert.deepEqual(mode.queue.jobs(), [], "nothing left in the queue");
    } finally {
      s3.destroy();
      sqs.destroy();
    }
  });
});
