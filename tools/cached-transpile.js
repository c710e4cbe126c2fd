// TypeScript for the processes that evaluate a Pulumi program under mocks (tools/stack.ts,
// test/bootstrap/evaluate.ts): ts-node's transpile-only compiler, as `pulumi up` runs the program,
// with its output kept on disk by content. A suite evaluates the same files a dozen times; loading
// TypeScript and transpiling cost ~2 s of CPU per evaluation, a cache hit costs a file read. The
// output is ts-node's, byte for byte: a miss asks ts-node, and the key covers everything its
// output depends on (compiler versions, tsconfig files, file name and source).
//
// Stack traces are left unmapped while the program runs (Pulumi takes one per resource, and
// mapping each through source maps cost ~0.7 s per evaluation); `sourceMappedStack` maps the one
// a failed evaluation reports.
require("./compile-cache");
const { createHash } = require("node:crypto");
const { readFileSync } = require("node:fs");
const { dirname, join, resolve } = require("node:path");
const { writeAtomically } = require("./write-atomically");

const REPO_ROOT = resolve(__dirname, "..");
const CACHE_DIR = join(REPO_ROOT, "node_modules", ".cache", "cached-transpile");

/** What the output depends on besides the file: the compilers, and the tsconfig files from here up. */
function configKey() {
  const parts = [require("typescript/package.json").version, require("ts-node/package.json").version, process.cwd()];
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    try {
      parts.push(dir, readFileSync(join(dir, "tsconfig.json"), "utf8"));
    } catch {
      // no tsconfig.json here
    }
    if (dir === REPO_ROOT || dir === dirname(dir)) return parts.join("\0");
  }
}

const CONFIG_KEY = configKey();
/** File name → the JavaScript it ran as, for mapping a stack trace. */
const outputs = new Map();
let service;

/** ts-node's transpile-only service, created on the first miss. */
function tsNode() {
  if (!service) {
    const unmapped = Error.prepareStackTrace;
    service = require("ts-node").create({ transpileOnly: true });
    Error.prepareStackTrace = unmapped; // create() installs source-map-support
  }
  return service;
}

function transpile(code, filename) {
  const key = createHash("sha256").update(`${CONFIG_KEY}\0${filename}\0${code}`).digest("hex");
  const file = join(CACHE_DIR, `${key}.js`);
  try {
    return readFileSync(file, "utf8");
  } catch {
    const output = tsNode().compile(code, filename);
    writeAtomically(file, output);
    return output;
  }
}

require.extensions[".ts"] = function loadTypeScript(module, filename) {
  const output = transpile(readFileSync(filename, "utf8"), filename);
  outputs.set(filename, output);
  module._compile(output, filename);
};

/** `err`'s stack with TypeScript positions (as ts-node would have printed it). */
function sourceMappedStack(err) {
  if (!(err instanceof Error)) return String(err);
  require("@cspotcode/source-map-support").install({
    environment: "node",
    retrieveFile: (path) => outputs.get(path) ?? null,
  });
  return String(err.stack);
}

module.exports = { sourceMappedStack };
