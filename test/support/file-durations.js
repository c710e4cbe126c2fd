// How long each test file took in the previous `npm test`, kept for the next run's order
// (.mocharc.js reads it, test/support/slowest-reporter.ts writes it). Plain JavaScript: mocha
// reads its config before TypeScript can be loaded.
const { readFileSync } = require("node:fs");
const { join } = require("node:path");
const { writeAtomically } = require("../../tools/write-atomically");

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
    writeAtomically(FILE, JSON.stringify({ ...readFileDurations(), ...durations }, null, 1));
  } catch {
    // the order only costs time
  }
}

module.exports = { readFileDurations, writeFileDurations };
