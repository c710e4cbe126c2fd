/**
 * Start-up: configuration from the dev stack files with environment overrides, and clear
 * one-line failures (taken port, bad value) with exit code 1 and no stack trace.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { LOCAL_DEFAULTS, loadLocalConfig } from "../../local/app/config";
import { readStackConfig } from "../../tools/stack-config";
import { apiModelBudget, modelCallBudget } from "../../runtime/time-budget";
import { DEFAULTS } from "../../runtime/defaults";
import { freshEnv, REPO_ROOT, runStart } from "../../tools/local-child";

/** The handlers' settings a project declares with defaults (Pulumi.yaml is their one home). */
const HANDLER_SETTINGS = [
  ["modelId", "stability.stable-image-core-v1:1"],
  ["bedrockRegion", "us-west-2"],
  ["workerConcurrency", 5],
  ["urlExpirySeconds", 3600],
  ["apiAuth", "none"],
]
  .map(([key, value]) => `  ${key}:\n    default: ${value}\n`)
  .join("");

describe("local mode: configuration", () => {
  let root: string;
  before(() => {
    root = mkdtempSync(path.join(tmpdir(), "local-config-"));
    writeFileSync(
      path.join(root, "Pulumi.yaml"),
      "name: my-project\nruntime: nodejs\nconfig:\n  maxReceiveCount:\n    type: integer\n    default: 7\n  queueBatchSize:\n    type: integer\n    default: 9\n  workerTimeoutSeconds:\n    type: integer\n    default: 150\n  apiTimeoutSeconds:\n    type: integer\n    default: 20\n" +
        HANDLER_SETTINGS,
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
    const c = loadLocalConfig(
      {
        BUCKET_NAME: "env-bucket",
        IMAGE_PREFIX: "/x/y/",
        QUEUE_BATCH_SIZE: "10",
        MAX_RECEIVE_COUNT: "2",
        LOCAL_API_PORT: "0",
      },
      root,
    );
    assert.equal(c.bucket, "env-bucket");
    assert.equal(c.prefix, "x/y");
    assert.equal(c.batchSize, 10);
    assert.equal(c.maxReceiveCount, 2);
    assert.equal(c.ports.api, 0);
  });

  it("uses the stack's visibility timeout (DEFAULTS.visibilityTimeoutFactor × the worker timeout) with MODEL=bedrock", () => {
    assert.equal(loadLocalConfig({ MODEL: "bedrock" }, root).visibilityTimeoutSeconds, DEFAULTS.visibilityTimeoutFactor * 150);
    assert.equal(loadLocalConfig({ MODEL: "bedrock", LOCAL_VISIBILITY_TIMEOUT_SECONDS: "40" }, root).visibilityTimeoutSeconds, 40);
  });

  it("rejects bad values naming the variable, or the YAML key and file they came from", () => {
    assert.throws(() => loadLocalConfig({ LOCAL_SQS_PORT: "nine" }, root), /LOCAL_SQS_PORT/);
    assert.throws(() => loadLocalConfig({ MODEL: "dall-e" }, root), /MODEL must be "local" or "bedrock"/);
    assert.throws(() => loadLocalConfig({ LOCAL_MODEL_TRANSIENT_FAILURE_RATE: "2" }, root), /LOCAL_MODEL_TRANSIENT_FAILURE_RATE/);
    const bad = mkdtempSync(path.join(tmpdir(), "local-config-"));
    try {
      writeFileSync(
        path.join(bad, "Pulumi.yaml"),
        "name: p\nconfig:\n  maxReceiveCount:\n    default: 5\n  workerTimeoutSeconds:\n    default: 60\n  apiTimeoutSeconds:\n    default: 29\n" +
          HANDLER_SETTINGS,
      );
      writeFileSync(path.join(bad, "Pulumi.dev.yaml"), "config:\n  p:imagePrefix: x\n  p:queueBatchSize: lots\n");
      assert.throws(() => loadLocalConfig({}, bad), /^LocalConfigError: queueBatchSize in Pulumi\.dev\.yaml must be an integer.*"lots"/);
      assert.throws(() => loadLocalConfig({ QUEUE_BATCH_SIZE: "0" }, bad), /^LocalConfigError: QUEUE_BATCH_SIZE must be an integer/);
      writeFileSync(path.join(bad, "Pulumi.dev.yaml"), "config:\n  p:queueBatchSize: 2\n");
      assert.throws(
        () => loadLocalConfig({}, bad),
        /imagePrefix is not set in Pulumi\.dev\.yaml or Pulumi\.yaml; set it there or set IMAGE_PREFIX/,
      );
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it("takes the stack values from the repository's own stack files, with nothing repeated in LOCAL_DEFAULTS", () => {
    const c = loadLocalConfig({});
    const dev = readStackConfig(REPO_ROOT, "dev").values;
    assert.equal(c.bucket, dev.bucketName);
    assert.equal(c.prefix, dev.imagePrefix);
    assert.equal(c.batchSize, dev.queueBatchSize);
    assert.equal(c.maxReceiveCount, dev.maxReceiveCount);
    assert.equal(c.region, dev["aws:region"]);
    for (const key of ["bucket", "prefix", "batchSize", "maxReceiveCount", "workerTimeoutSeconds", "region"]) {
      assert.ok(!(key in LOCAL_DEFAULTS), `LOCAL_DEFAULTS repeats the stack's ${key}`);
    }
  });

  it("gives the queue handler a model-call budget that ends within the visibility timeout", () => {
    // dev-like: batch 3 with the stack's default concurrency (5) is one round of 3 attempts in 30 s.
    const c = loadLocalConfig({}, root);
    const perAttempt = c.queueModelBudget.tryTimeoutMs;
    const attempts = c.queueModelBudget.attempts;
    assert.equal(attempts, DEFAULTS.bedrockMaxAttempts);
    assert.ok(
      attempts * perAttempt < c.visibilityTimeoutSeconds * 1000,
      `${attempts} × ${perAttempt} ms vs ${c.visibilityTimeoutSeconds} s`,
    );
    // Two rounds (batch 4, concurrency 2) and 2 attempts in 20 s: (20 - 4) s / 4.
    const small = loadLocalConfig(
      {
        LOCAL_VISIBILITY_TIMEOUT_SECONDS: "20",
        QUEUE_BATCH_SIZE: "4",
        WORKER_CONCURRENCY: "2",
        BEDROCK_MAX_ATTEMPTS: "2",
      },
      root,
    );
    assert.deepEqual(small.queueModelBudget, { attempts: 2, tryTimeoutMs: 4000 });
    // With MODEL=bedrock the stack's worker timeout (shorter than the visibility timeout) sets it, as on AWS.
    const bedrock = loadLocalConfig({ MODEL: "bedrock" }, root);
    assert.deepEqual(bedrock.queueModelBudget, modelCallBudget(150, DEFAULTS.bedrockMaxAttempts, Math.ceil(3 / bedrock.workerConcurrency)));
    assert.throws(
      () => loadLocalConfig({ LOCAL_VISIBILITY_TIMEOUT_SECONDS: "4" }, root),
      /leaves under 1 s per model call.*LOCAL_VISIBILITY_TIMEOUT_SECONDS/,
    );
    // The per-try wait is no setting any more: it comes from the invocation's time.
    assert.deepEqual(loadLocalConfig({ BEDROCK_TIMEOUT_MS: "2000" }, root).queueModelBudget, c.queueModelBudget);
  });

  it("gives the API handler the deployed API's budget for the stack's apiTimeoutSeconds, and names that key when it cannot fit", () => {
    assert.deepEqual(loadLocalConfig({}, root).apiModelBudget, apiModelBudget(20));
    assert.deepEqual(loadLocalConfig({}, root).apiModelBudget, { attempts: 2, tryTimeoutMs: 8000 });
    const tight = mkdtempSync(path.join(tmpdir(), "local-config-"));
    try {
      writeFileSync(
        path.join(tight, "Pulumi.yaml"),
        "name: p\nconfig:\n  maxReceiveCount:\n    default: 5\n  workerTimeoutSeconds:\n    default: 60\n  apiTimeoutSeconds:\n    default: 5\n" +
          HANDLER_SETTINGS,
      );
      writeFileSync(path.join(tight, "Pulumi.dev.yaml"), "config:\n  p:imagePrefix: x\n  p:queueBatchSize: 2\n");
      assert.throws(
        () => loadLocalConfig({}, tight),
        /^LocalConfigError: apiTimeoutSeconds in Pulumi\.yaml: a 5 s function timeout leaves under 1 s per model call/,
      );
    } finally {
      rmSync(tight, { recursive: true, force: true });
    }
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
