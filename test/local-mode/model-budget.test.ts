/**
 * The local API gives the model the same fitted per-try budget as the deployed API functions: its
 * handler's context counts down from the stack's apiTimeoutSeconds, as Lambda's counts down from
 * the function timeout (runtime/time-budget.ts). A hung model answers 503 after that budget, not
 * after the local model's 30 s hang.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadLocalConfig } from "../../local/app/config";
import { useDummyCredentials } from "../../local/fakes/credentials";
import { startLocalMode, type LocalMode } from "../../local/app/start";
import { DEFAULTS } from "../../runtime/defaults";
import { apiModelBudget } from "../../runtime/time-budget";
import { functionsByKey } from "../../tools/query";
import { evaluateStack } from "../../tools/stack";
import { REPO_ROOT } from "../../tools/local-child";

const PORTS = { LOCAL_API_PORT: "0", LOCAL_S3_PORT: "0", LOCAL_SQS_PORT: "0", LOCAL_BEDROCK_PORT: "0" };

describe("local mode: the API's model budget is the deployed API's", function () {
  this.timeout(120000);

  it("for the dev stack's files: the same tries and per-try wait as the deployed generate function", () => {
    const generate = functionsByKey(evaluateStack("dev")).generate;
    // What the deployed function's model call gets from a context counting down from its timeout.
    const deployed = apiModelBudget(generate.inputs.timeout);
    assert.equal(deployed.attempts, DEFAULTS.apiModelAttempts);
    assert.ok(deployed.tryTimeoutMs < DEFAULTS.bedrockTimeoutMs, "fitted to the API timeout, not the runtime's 60 s");
    const local = loadLocalConfig({ ...PORTS });
    assert.equal(local.apiTimeoutSeconds, generate.inputs.timeout, "the local API's context counts down from the same timeout");
    assert.deepEqual(local.apiModelBudget, deployed);
    // A variable given in the environment still wins, as for the queue handler.
    assert.equal(loadLocalConfig({ ...PORTS, BEDROCK_MAX_ATTEMPTS: "1" }).apiModelBudget.attempts, 1);
  });

  describe("with apiTimeoutSeconds 6 (1 s per try, 2 tries) and a model that never answers", () => {
    let root: string;
    let mode: LocalMode;
    before(async () => {
      useDummyCredentials();
      root = mkdtempSync(path.join(tmpdir(), "local-budget-"));
      writeFileSync(path.join(root, "Pulumi.yaml"), readFileSync(path.join(REPO_ROOT, "Pulumi.yaml")));
      const dev = readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8");
      assert.match(dev, /couch-explorers:apiTimeoutSeconds: \d+/);
      writeFileSync(
        path.join(root, "Pulumi.dev.yaml"),
        dev.replace(/couch-explorers:apiTimeoutSeconds: \d+/, "couch-explorers:apiTimeoutSeconds: 6"),
      );
      const env = {
        ...PORTS,
        LOCAL_DATA_DIR: path.join(root, ".data"),
        LOCAL_MODEL_FAIL_WHEN_PROMPT_INCLUDES: "[hang]=timeout",
      };
      mode = await startLocalMode(loadLocalConfig(env, root), { log: () => undefined });
    });
    after(async () => {
      await mode?.stop().catch(() => undefined);
      if (root) rmSync(root, { recursive: true, force: true });
    });

    it("POST /generate answers 503 after 2 tries of 1 s, saying so, while the model still holds both calls", async () => {
      assert.deepEqual(mode.config.apiModelBudget, { attempts: 2, tryTimeoutMs: 1000 });
      const res = await fetch(`${mode.api.url}/generate`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ prompt: "[hang] me on top of K2" }),
      });
      const body = (await res.json()) as { code: string; error: string };
      assert.equal(res.status, 503);
      assert.equal(body.code, "timeout");
      assert.match(body.error, /^the model stability\.stable-image-core-v1:1 did not answer within 1 s, 2 tries; retry later$/);
      // The local model holds a hung call for 30 s: both tries are still unanswered there.
      const calls = mode.bedrock!.calls;
      assert.equal(calls.length, 2);
      assert.ok(
        calls.every((c) => c.status === 0),
        "answered by our budget, not by the model",
      );
    });
  });
});
