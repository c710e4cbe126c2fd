// The lifecycle gate `npm run model-check -- <stack>`: the real BedrockClient asks the local
// Bedrock-compatible server (GetFoundationModel), which it finds through the SDK's own endpoint
// variable AWS_ENDPOINT_URL_BEDROCK. In-process for each outcome, and once as the npm script.
import { strict as assert } from "node:assert";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startBedrockServer, type BedrockServer } from "../../local/fakes/bedrock-server";
import { LOCAL_CREDENTIALS } from "../../local/fakes/credentials";
import { checkModel, type ModelCheckResult } from "../../scripts/model-check";
import { npmRun } from "../support/npm-run";

const ROOT = resolve(__dirname, "../..");
const ENDPOINT_VARIABLES = [
  "AWS_ENDPOINT_URL_BEDROCK",
  "AWS_ENDPOINT_URL",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_PROFILE",
];

/** One line of output with its stream. */
const text = (result: ModelCheckResult) => result.lines.map((l) => `${l.stream}: ${l.text}`).join("\n");

describe("npm run model-check -- <stack> (the lifecycle gate)", function () {
  this.timeout(60000);
  let server: BedrockServer;
  let root: string;
  const saved: Record<string, string | undefined> = {};

  /** A project directory with the repository's Pulumi.yaml and one stack file holding `settings`. */
  function stack(name: string, settings: Record<string, string | boolean>): void {
    const lines = Object.entries(settings).map(([key, value]) => `  couch-explorers:${key}: ${JSON.stringify(value)}`);
    writeFileSync(join(root, `Pulumi.${name}.yaml`), `config:\n  aws:region: eu-west-1\n${lines.join("\n")}\n`);
  }

  before(async () => {
    server = await startBedrockServer();
    for (const name of ENDPOINT_VARIABLES) saved[name] = process.env[name];
    for (const name of ENDPOINT_VARIABLES) delete process.env[name];
    process.env.AWS_ENDPOINT_URL_BEDROCK = server.url;
    process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
    root = mkdtempSync(join(tmpdir(), "model-check-"));
    copyFileSync(join(ROOT, "Pulumi.yaml"), join(root, "Pulumi.yaml"));
  });
  afterEach(() => server.reset());
  after(async () => {
    for (const name of ENDPOINT_VARIABLES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    rmSync(root, { recursive: true, force: true });
    await server.close();
  });

  it("ACTIVE (both stacks of this repository): one line on stdout, exit 0", async () => {
    for (const name of ["dev", "prod"]) {
      const result = await checkModel(name);
      assert.equal(result.exitCode, 0, text(result));
      assert.deepEqual(result.lines, [
        {
          stream: "stdout",
          text: `model-check ${name}: stability.stable-image-core-v1:1 in us-west-2 is ACTIVE (set in Pulumi.${name}.yaml)`,
        },
      ]);
    }
    assert.deepEqual(server.lookups, ["stability.stable-image-core-v1:1", "stability.stable-image-core-v1:1"]);
  });

  it("a stack that sets no model checks Pulumi.yaml's default", async () => {
    stack("bare", {});
    const result = await checkModel("bare", root);
    assert.equal(result.exitCode, 0, text(result));
    assert.match(text(result), /stability\.stable-image-core-v1:1 in us-west-2 is ACTIVE \(set in Pulumi\.yaml\)/);
  });

  it("LEGACY: exit 1 naming the state, its end of life and the settings to change", async () => {
    stack("legacy", { modelId: "amazon.nova-canvas-v1:0", bedrockRegion: "us-east-1" });
    const result = await checkModel("legacy", root);
    assert.equal(result.exitCode, 1);
    assert.equal(result.lines.length, 1);
    assert.equal(result.lines[0].stream, "stderr");
    assert.match(result.lines[0].text, /^model-check legacy: amazon\.nova-canvas-v1:0 in us-east-1 is LEGACY \(end of life 2026-09-30\)/);
    assert.match(
      result.lines[0].text,
      /Set modelId \(and bedrockRegion\) in Pulumi\.legacy\.yaml to an active model such as stability\.stable-image-core-v1:1 \(bedrockRegion us-west-2\), or set allowLegacyModel: true there/,
    );
  });

  it("LEGACY with allowLegacyModel: true (YAML boolean or the string pulumi config set writes): a warning, exit 0", async () => {
    for (const allow of [true, "true"]) {
      stack("legacy-ok", { modelId: "amazon.nova-canvas-v1:0", bedrockRegion: "us-east-1", allowLegacyModel: allow });
      const result = await checkModel("legacy-ok", root);
      assert.equal(result.exitCode, 0, text(result));
      assert.equal(result.lines.length, 1);
      assert.match(
        result.lines[0].text,
        /^warning: model-check legacy-ok: amazon\.nova-canvas-v1:0 in us-east-1 is LEGACY .* allowLegacyModel is true in Pulumi\.legacy-ok\.yaml, so this passes/,
      );
    }
    stack("legacy-no", { modelId: "amazon.nova-canvas-v1:0", bedrockRegion: "us-east-1", allowLegacyModel: false });
    assert.equal((await checkModel("legacy-no", root)).exitCode, 1);
  });

  it("not found (the exam's Titan in us-east-1, past its end of life): exit 1 with the model, the region and what to do", async () => {
    stack("exam", { modelId: "amazon.titan-image-generator-v1", bedrockRegion: "us-east-1" });
    const result = await checkModel("exam", root);
    assert.equal(result.exitCode, 1);
    assert.match(
      result.lines[0].text,
      /^model-check exam: amazon\.titan-image-generator-v1 in us-east-1: Bedrock does not know this model there: it is past its end of life, or the id or region is wrong/,
    );
    assert.match(result.lines[0].text, /Bedrock said: This model version has reached the end of its life/);
    assert.match(
      result.lines[0].text,
      /Set modelId \(and bedrockRegion\) in Pulumi\.exam\.yaml to an active model such as stability\.stable-image-core-v1:1/,
    );
  });

  it("access denied: exit 1 naming the permissions the checking and deploying roles need", async () => {
    server.failNextLookup("access-denied");
    const result = await checkModel("dev");
    assert.equal(result.exitCode, 1);
    assert.match(result.lines[0].text, /access denied .* need bedrock:GetFoundationModel in us-west-2/);
  });

  it("a model no adapter speaks fails before asking Bedrock (exit 1); no stack or an unreachable Bedrock is exit 2", async () => {
    stack("typo", { modelId: "stability.sd3-large-v1:0" });
    const typo = await checkModel("typo", root);
    assert.equal(typo.exitCode, 1);
    assert.match(typo.lines[0].text, /the functions cannot call it: no request adapter for model "stability\.sd3-large-v1:0"/);
    assert.deepEqual(server.lookups, []);
    assert.match(text(await checkModel(undefined)), /usage: npm run model-check -- <stack>/);
    assert.equal((await checkModel(undefined)).exitCode, 2);
    assert.equal((await checkModel("staging")).exitCode, 2);
    process.env.AWS_ENDPOINT_URL_BEDROCK = "http://127.0.0.1:9"; // nothing listens on the discard port
    try {
      const unreachable = await checkModel("dev");
      assert.equal(unreachable.exitCode, 2);
      assert.match(unreachable.lines[0].text, /could not ask Bedrock/);
    } finally {
      process.env.AWS_ENDPOINT_URL_BEDROCK = server.url;
    }
  });

  it("as the npm script: the SDK takes AWS_ENDPOINT_URL_BEDROCK from the environment, exit code and output as documented", async () => {
    const run = (stackName: string) => npmRun("model-check", [stackName]);
    const ok = await run("dev");
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "model-check dev: stability.stable-image-core-v1:1 in us-west-2 is ACTIVE (set in Pulumi.dev.yaml)\n");
    assert.deepEqual(server.lookups, ["stability.stable-image-core-v1:1"]);
    const missing = await run("staging");
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /there is no Pulumi\.staging\.yaml/);
  });
});
