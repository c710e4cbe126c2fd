/**
 * Start-up: configuration from the dev stack files with environment overrides, and clear
 * one-line failures (taken port, bad value) with exit code 1 and no stack trace.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadLocalConfig } from "../../local/config";
import { freshEnv, runStart } from "./helpers";

describe("local mode: configuration", () => {
  let root: string;
  before(() => {
    root = mkdtempSync(path.join(tmpdir(), "local-config-"));
    writeFileSync(
      path.join(root, "Pulumi.yaml"),
      "name: my-project\nruntime: nodejs\nconfig:\n  maxReceiveCount:\n    type: integer\n    default: 7\n  queueBatchSize:\n    type: integer\n    default: 9\n",
    );
    writeFileSync(
      path.join(root, "Pulumi.dev.yaml"),
      "config:\n  aws:region: eu-north-1\n  my-project:bucketName: stack-bucket\n  my-project:imagePrefix: candidate-7/dev\n  my-project:queueBatchSize: 3\n  my-project:modelId: amazon.nova-canvas-v1:0\n  other:bucketName: not-ours\n",
    );
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("takes the dev stack's values, then the project's declared defaults", () => {
    const c = loadLocalConfig({}, root);
    assert.equal(c.bucket, "stack-bucket");
    assert.equal(c.prefix, "candidate-7/dev");
    assert.equal(c.batchSize, 3);
    assert.equal(c.maxReceiveCount, 7);
    assert.equal(c.modelId, "amazon.nova-canvas-v1:0");
    assert.equal(c.region, "eu-north-1");
    assert.equal(c.model, "local");
  });

  it("lets environment variables override the stack", () => {
    const c = loadLocalConfig({ BUCKET_NAME: "env-bucket", IMAGE_PREFIX: "/x/y/", QUEUE_BATCH_SIZE: "10", MAX_RECEIVE_COUNT: "2", LOCAL_API_PORT: "0" }, root);
    assert.equal(c.bucket, "env-bucket");
    assert.equal(c.prefix, "x/y");
    assert.equal(c.batchSize, 10);
    assert.equal(c.maxReceiveCount, 2);
    assert.equal(c.ports.api, 0);
  });

  it("uses the stack's visibility timeout (six times the worker timeout) with MODEL=bedrock", () => {
    assert.equal(loadLocalConfig({ MODEL: "bedrock" }, root).visibilityTimeoutSeconds, 6 * 180);
    assert.equal(loadLocalConfig({ MODEL: "bedrock", LOCAL_VISIBILITY_TIMEOUT_SECONDS: "40" }, root).visibilityTimeoutSeconds, 40);
  });

  it("rejects bad values naming the variable", () => {
    assert.throws(() => loadLocalConfig({ LOCAL_SQS_PORT: "nine" }, root), /LOCAL_SQS_PORT/);
    assert.throws(() => loadLocalConfig({ MODEL: "dall-e" }, root), /MODEL must be "local" or "bedrock"/);
    assert.throws(() => loadLocalConfig({ LOCAL_MODEL_TRANSIENT_FAILURE_RATE: "2" }, root), /LOCAL_MODEL_TRANSIENT_FAILURE_RATE/);
  });
});

describe("local mode: start-up failures", function () {
  this.timeout(60000);
  let blocker: net.Server;
  let takenPort: number;
  const dirs: string[] = [];
  before(async () => {
    blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    takenPort = (blocker.address() as net.AddressInfo).port;
  });
  after(async () => {
    await new Promise((r) => blocker.close(r));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const env = (extra: Record<string, string>) => {
    const e = freshEnv(extra);
    dirs.push(e.LOCAL_DATA_DIR);
    return e;
  };

  for (const [variable, component] of [
    ["LOCAL_API_PORT", "API"],
    ["LOCAL_SQS_PORT", "queue"],
    ["LOCAL_S3_PORT", "object store"],
    ["LOCAL_BEDROCK_PORT", "model"],
  ]) {
    it(`a taken ${variable} gives one clear line and exit code 1`, async () => {
      const { code, stdout, stderr } = await runStart(env({ [variable]: String(takenPort) }));
      assert.equal(code, 1);
      const lines = stderr.split("\n").filter((l) => l.trim());
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0], new RegExp(`${component}.*port ${takenPort}.*already in use.*${variable}=`));
      assert.doesNotMatch(stderr + stdout, /\n\s+at /, "no stack trace");
      assert.doesNotMatch(stdout, /ready/);
    });
  }

  it("a bad setting gives one clear line and exit code 1", async () => {
    const { code, stderr } = await runStart(env({ QUEUE_BATCH_SIZE: "lots" }));
    assert.equal(code, 1);
    assert.match(stderr, /QUEUE_BATCH_SIZE must be an integer/);
    assert.doesNotMatch(stderr, /\n\s+at /);
  });
});
