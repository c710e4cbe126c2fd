// `npm run lint` (ESLint, then Prettier's check) as one test of the suite, so that it runs beside
// the others instead of before them, and a finding fails `npm test` with the findings printed.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { resolve } from "node:path";

const ROOT = resolve(__dirname, "../..");

function npmRunLint(): Promise<{ code: number | null; output: string }> {
  const child = spawn("npm", ["run", "--silent", "lint"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  return new Promise((done, fail) => {
    child.on("error", fail);
    child.on("close", (code) => done({ code, output }));
  });
}

describe("lint", function () {
  this.timeout(180_000); // a fresh clone lints every file; later runs only the changed ones
  it("npm run lint finds nothing: ESLint's and typescript-eslint's recommended rules, Prettier's format", async () => {
    const { code, output } = await npmRunLint();
    assert.equal(code, 0, `npm run lint exited ${code}:\n${output}`);
  });
});
