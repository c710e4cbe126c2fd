// How long each test file took in the previous `npm test`, kept for the next run's order
// (.mocharc.js reads it, test/support/slowest-reporter.ts writes it). Plain JavaScript: mocha
// reads its config before TypeScript can be loaded.
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require("node:fs");
const { dirname, join } = require("node:path");

const FILE = join(__dirname, "..", "..", "node_modules", ".cache", "mocha", "file-durations.json");

/** Milliseconds per test file (path relative to the repository, with `/`), or {} before any run. */
function readFileDurations() {
  try {
    return JSON.parse(readFileSync(FILE, "utf8"));
  } catch {
    return {};
  }
}

/** Keeps `durations` (merged over the previous ones, so a run of a few files forgets nothing). */
function writeFileDurations(durations) {
  try {
    mkdirSync(dirname(FILE), { recursive: true });
    writeFileSync(`${FILE}.${process.pid}`, JSON.stringify({ ...readFileDurations(), ...durations }, null, 1));
    renameSync(`${FILE}.${process.pid}`, FILE);
  } catch {
    // the order only costs time
  }
}

module.exports = { readFileDurations, writeFileDurations };
