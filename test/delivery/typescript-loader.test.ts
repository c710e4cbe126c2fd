// The TypeScript loader of `npm start`, mocha and the processes the tests start (tools/register.js):
// the JavaScript it runs is what ts-node --swc made of the same files, stack traces name TypeScript
// lines, and a process that finds its files transpiled on disk loads no compiler.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "../..");
const REGISTER = join(ROOT, "tools", "register.js");
const { transpile } = require(REGISTER) as { transpile(source: string, filename: string): string };

/** Runs `script` in a new Node process with the loader (from the repository root); what it printed, as JSON. */
function runWithLoader<T>(script: string): T {
  const child = spawnSync(process.execPath, ["-r", REGISTER, "-e", script], { cwd: ROOT, encoding: "utf8" });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as T;
}

/** The code without its trailing source map comment (ts-node writes its own, with the source in it). */
const withoutSourceMap = (code: string) => code.replace(/\s*\/\/# sourceMappingURL=\S+\s*$/, "");

describe("the TypeScript loader (tools/register.js)", function () {
  this.timeout(60000);

  it("runs every TypeScript file of the project as ts-node --swc transpiles it from tsconfig.json", () => {
    const ts = require("typescript") as typeof import("typescript");
    const project = ts.getParsedCommandLineOfConfigFile(
      join(ROOT, "tsconfig.json"),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(String(d.messageText)),
      },
    )!;
    const ownMapper = Error.prepareStackTrace;
    const tsNode = require("ts-node").create({ swc: true, project: join(ROOT, "tsconfig.json") });
    Error.prepareStackTrace = ownMapper; // create() installs source-map-support
    assert.ok(project.fileNames.length > 100, `tsconfig.json lists ${project.fileNames.length} files`);
    for (const file of project.fileNames) {
      const source = readFileSync(file, "utf8");
      assert.equal(withoutSourceMap(transpile(source, file)), withoutSourceMap(tsNode.compile(source, file)), file);
    }
  });

  describe("with a TypeScript file that throws", () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), "loader-"));
      // Types, an import and an export shift the JavaScript's lines away from these.
      const lines = [
        'import { join } from "node:path";',
        "",
        "interface Place { name: string; country: string }",
        "",
        "export async function visit(place: Place): Promise<never> {",
        "  await null;",
        "  throw new Error(join(place.country, place.name));",
        "}",
      ];
      writeFileSync(join(dir, "visit.ts"), `${lines.join("\n")}\n`);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("names its TypeScript line and column in stack traces, also after an await", async () => {
      const { visit } = require(join(dir, "visit.ts"));
      const err: Error = await visit({ name: "Eiffel Tower", country: "France" }).then(assert.fail, (e: Error) => e);
      assert.equal(err.message, join("France", "Eiffel Tower"));
      const [header, first] = err.stack!.split("\n");
      assert.equal(header, `Error: ${err.message}`);
      assert.equal(first, `    at visit (${join(dir, "visit.ts")}:7:9)`);
    });

    it("leaves TypeScript, ts-node and SWC unloaded in a process that finds its files transpiled", () => {
      const script = `
        require(${JSON.stringify(join(dir, "visit.ts"))});
        require("./local/app/config");
        const loaded = Object.keys(require.cache);
        console.log(JSON.stringify({
          compilers: loaded.filter((f) => /node_modules\\/(typescript|ts-node|@swc)\\/.*\\.(js|node)$/.test(f)),
          typeScript: loaded.filter((f) => f.endsWith(".ts")).length,
        }));`;
      const run = () => runWithLoader<{ compilers: string[]; typeScript: number }>(script);
      run(); // transpiles what is not on disk yet
      const warm = run();
      assert.ok(warm.typeScript >= 5, `loaded ${warm.typeScript} TypeScript files`);
      assert.deepEqual(warm.compilers, []);
    });
  });

  describe("V8's code cache (tools/compile-cache.js)", () => {
    let dir: string;
    before(function () {
      if (require("node:module").enableCompileCache) this.skip(); // Node 22 keeps its own cache; the file is not used
      dir = mkdtempSync(join(tmpdir(), "code-cache-"));
      writeFileSync(join(dir, "landmark.js"), `module.exports = ${JSON.stringify(`Nidaros Cathedral ${dir}`)};\n`);
    });
    after(() => dir && rmSync(dir, { recursive: true, force: true }));

    it("serves a module from its cache both before and after @pulumi/pulumi turns on --allow-natives-syntax", () => {
      const script = (natives: boolean) => `
        const { codeCache } = require("./tools/compile-cache");
        ${natives ? 'require("@pulumi/pulumi/runtime/closure/v8Hooks");' : ""}
        const before = { ...codeCache };
        require(${JSON.stringify(join(dir, "landmark.js"))});
        console.log(JSON.stringify({ fromCache: codeCache.fromCache - before.fromCache, compiled: codeCache.compiled - before.compiled }));`;
      const run = (natives: boolean) => runWithLoader<{ fromCache: number; compiled: number }>(script(natives));
      assert.deepEqual(
        [run(false), run(true)],
        [
          { fromCache: 0, compiled: 1 },
          { fromCache: 0, compiled: 1 },
        ],
      );
      assert.deepEqual(
        [run(false), run(true), run(false)],
        [
          { fromCache: 1, compiled: 0 },
          { fromCache: 1, compiled: 0 },
          { fromCache: 1, compiled: 0 },
        ],
      );
    });
  });
});
