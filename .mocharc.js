// mocha's settings. In parallel mode each file runs whole in one worker, so a long file that starts
// late sets the end of the run: `npm test` starts the files longest first, as the previous run
// measured them (test/support/file-durations.js). Files it did not measure go first; with no
// figures at all (a fresh clone), SLOW_FIRST orders them.
// `npx mocha <file>` runs just that file.
const { readdirSync } = require("node:fs");
const { readFileDurations } = require("./test/support/file-durations.js");

/**
 * A fresh clone's order, longest first: lint (ESLint and Prettier with empty caches), the five files
 * that run longest (20-30 s each, mostly waiting on queues and timeouts: measured on 2026-11-23),
 * then the rest of the directories whose files start processes or wait on queues.
 */
const SLOW_FIRST = [
  "test/delivery/lint.test.ts",
  "test/runtime/queue-handler.test.ts",
  "test/local-mode/browser.test.ts",
  "test/local-mode/crash.test.ts",
  "test/runtime/jobs.test.ts",
  "test/local-mode/faults.test.ts",
  "test/local-mode/",
  "test/runtime/",
  "test/infra/",
  "test/bootstrap/",
];

function testFilesLongestFirst() {
  const files = readdirSync("test", { recursive: true })
    .map((file) => `test/${file.split("\\").join("/")}`)
    .filter((file) => file.endsWith(".test.ts"))
    .sort();
  const measured = readFileDurations();
  const ms = (file) => measured[file] ?? Infinity;
  const kind = (file) => {
    const i = SLOW_FIRST.findIndex((dir) => file.startsWith(dir));
    return i === -1 ? SLOW_FIRST.length : i;
  };
  return files.sort((a, b) => ms(b) - ms(a) || kind(a) - kind(b));
}

module.exports = {
  require: ["tools/register.js", "test/support/fixtures.ts"],
  extension: ["ts"],
  parallel: true,
  jobs: 6,
  reporter: "test/support/slowest-reporter.ts",
  timeout: 20000,
  exit: true,
  ...(process.env.npm_lifecycle_event === "test" && { spec: testFilesLongestFirst() }),
};
