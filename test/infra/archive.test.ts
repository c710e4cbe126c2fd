import assert from "node:assert/strict";
import { builtinModules } from "node:module";
import { PROVIDED_BY_LAMBDA } from "../../components/handlerFunction";
import { archiveOf, archiveSize, functionsByKey } from "../../tools/query";
import { evaluateStack } from "../../tools/stack";

/** Budget of one function's archive (issue 3). */
const ARCHIVE_BUDGET_BYTES = 100 * 1024;

for (const stackName of ["dev", "prod"]) {
  describe(`infra: function archives in ${stackName}`, function () {
    this.timeout(120000);

    it(`holds only our serialized code, each ≤ ${ARCHIVE_BUDGET_BYTES / 1024} KB (sizes printed)`, () => {
      const stack = evaluateStack(stackName);
      const rows: string[] = [];
      for (const [key, fn] of Object.entries(functionsByKey(stack))) {
        const files = archiveOf(fn);
        // The SDK stays out: no node_modules, just the one serialized module.
        assert.deepEqual(Object.keys(files), ["__index.js"], `${key} archive holds ${Object.keys(files).join(", ")}`);
        const { bytes, deflated } = archiveSize(files);
        rows.push(
          `      ${stackName} ${key.padEnd(9)} ${(bytes / 1024).toFixed(1).padStart(6)} KB (deflated ${(deflated / 1024).toFixed(1)} KB)`,
        );
        assert.ok(bytes <= ARCHIVE_BUDGET_BYTES, `${key}: ${bytes} bytes > ${ARCHIVE_BUDGET_BYTES}`);
      }
      console.log(rows.join("\n"));
    });

    it("requires nothing but Node built-ins and the SDK packages the Lambda runtime ships", () => {
      const stack = evaluateStack(stackName);
      const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
      for (const [key, fn] of Object.entries(functionsByKey(stack))) {
        const code = archiveOf(fn)["__index.js"];
        const required = [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
        assert.ok(
          required.some((r) => r.startsWith("@aws-sdk/")),
          `${key} uses no SDK?`,
        );
        for (const name of required) {
          const pkg = name.startsWith("@") ? name.split("/").slice(0, 2).join("/") : name.split("/")[0];
          assert.ok(builtins.has(name) || PROVIDED_BY_LAMBDA.includes(pkg), `${key} requires ${name}, which Lambda does not provide`);
        }
        assert.match(code, /exports\.handler = /);
      }
    });

    it("carries only its own route's clients: each function requires exactly the SDK clients it uses", () => {
      const stack = evaluateStack(stackName);
      const expected: Record<string, string[]> = {
        generate: ["@aws-sdk/client-bedrock-runtime", "@aws-sdk/client-s3", "@aws-sdk/s3-request-presigner"],
        enqueue: ["@aws-sdk/client-s3", "@aws-sdk/client-sqs"],
        status: ["@aws-sdk/client-s3", "@aws-sdk/s3-request-presigner"],
        worker: ["@aws-sdk/client-bedrock-runtime", "@aws-sdk/client-s3"],
      };
      for (const [key, fn] of Object.entries(functionsByKey(stack))) {
        const code = archiveOf(fn)["__index.js"];
        const clients = new Set([...code.matchAll(/require\("(@aws-sdk\/[^/"]+)/g)].map((m) => m[1]));
        assert.deepEqual([...clients].sort(), expected[key], `${key} archive`);
      }
    });

    it("captures no module-level Set, Map or Buffer (Pulumi serializes them as broken plain objects)", () => {
      const stack = evaluateStack(stackName);
      for (const [key, fn] of Object.entries(functionsByKey(stack))) {
        const code = archiveOf(fn)["__index.js"];
        const broken = [
          ...code.matchAll(
            /^(?:var (\w+) = Object\.create|Object\.defineProperty\((\w+), "\w+").*global\.(Set|Map|WeakSet|WeakMap|Buffer|Uint8Array)\.prototype/gm,
          ),
        ].map((m) => `${(m[1] ?? m[2]).replace(/^__/, "")} (a ${m[3]})`);
        assert.deepEqual([...new Set(broken)], [], `${key}: create these inside a function, or use an array/object instead`);
      }
    });
  });
}
