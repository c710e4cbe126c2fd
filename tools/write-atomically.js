// The one way the disk caches under node_modules/.cache are written: several processes fill them at
// once, and one reading a file must never see half of it.
const { mkdirSync, renameSync, writeFileSync } = require("node:fs");
const { dirname } = require("node:path");

/** Writes `data` to a file of this process's own, then renames it to `file`. */
function writeAtomically(file, data) {
  mkdirSync(dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}`;
  writeFileSync(partial, data);
  renameSync(partial, file);
}

module.exports = { writeAtomically };
