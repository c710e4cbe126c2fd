// `npm run lint` (ESLint, then Prettier's check) as one test of the suite, so that it runs beside
// the others instead of before them, and a finding fails `npm test` with the findings printed.
import { strict as assert } from "node:assert";
import { npmRun } from "../support/npm-run";

describe("lint", function () {
  this.timeout(180_000); // a fresh clone lints every file; later runs only the changed ones
  it("npm run lint finds nothing: ESLint's and typescript-eslint's recommended rules, Prettier's format", async () => {
    const { code, stdout, stderr } = await npmRun("lint");
    assert.equal(code, 0, `npm run lint exited ${code}:\n${stdout}${stderr}`);
  });
});
