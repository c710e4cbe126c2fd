// TypeScript for `npm start`, mocha, its workers and the processes the tests start: SWC's transpiler
// called directly, with the options ts-node --swc derives from tsconfig.json
// (ts-node/dist/transpilers/swc.js), and its output kept on disk by content. A process whose files
// are all there loads neither TypeScript, ts-node nor SWC, and transpiles nothing: a local mode boot
// costs ~0.7 s of CPU instead of ~1.2 s through ts-node. Types are checked by `npm run typecheck`. The Pulumi
// program is still evaluated with TypeScript's transpiler (tools/cached-transpile.js), as the
// Pulumi CLI runs it.
require("./compile-cache");
const { createHash } = require("node:crypto");
const { readFileSync } = require("node:fs");
const { SourceMap } = require("node:module");
const { join, resolve } = require("node:path");
const { writeAtomically } = require("./write-atomically");

const REPO_ROOT = resolve(__dirname, "..");
const CACHE_DIR = join(REPO_ROOT, "node_modules", ".cache", "swc");

/**
 * What ts-node --swc passes to SWC for `compilerOptions`, for what this project can set: CommonJS
 * output, a target of ES5 or later, legacy decorators. The source map is inline and without the
 * source, which stack traces don't need.
 */
function swcOptions({ module, target, esModuleInterop, experimentalDecorators, emitDecoratorMetadata, useDefineForClassFields }) {
  if (String(module).toLowerCase() !== "commonjs") throw new Error(`tools/register.js emits CommonJS; tsconfig.json asks for "${module}"`);
  const swcTarget = String(target).toLowerCase();
  const year = swcTarget === "esnext" ? Infinity : Number(swcTarget.slice(2)); // es5 → 5, es2022 → 2022
  return {
    sourceMaps: "inline",
    inlineSourcesContent: false,
    module: { type: "commonjs", noInterop: !esModuleInterop, strictMode: true, ignoreDynamic: false },
    swcrc: false,
    jsc: {
      parser: { syntax: "typescript", decorators: experimentalDecorators, dynamicImport: true, importAssertions: true },
      target: swcTarget,
      transform: {
        decoratorMetadata: emitDecoratorMetadata,
        legacyDecorator: true,
        useDefineForClassFields: useDefineForClassFields ?? year >= 2022, // TypeScript's default
      },
      keepClassNames: year >= 2016,
      experimental: { keepImportAttributes: true, emitAssertForImportAttributes: true },
    },
  };
}

const SWC_OPTIONS = swcOptions(JSON.parse(readFileSync(join(REPO_ROOT, "tsconfig.json"), "utf8")).compilerOptions);
/** What an output depends on besides the file's name and source. */
const OPTIONS_KEY = `${require("@swc/core/package.json").version}\0${JSON.stringify(SWC_OPTIONS)}`;

function transpile(source, filename) {
  const file = join(CACHE_DIR, `${createHash("sha256").update(`${OPTIONS_KEY}\0${filename}\0${source}`).digest("hex")}.js`);
  try {
    return readFileSync(file, "utf8");
  } catch {
    // not transpiled yet
  }
  const { code } = require("@swc/core").transformSync(source, { ...SWC_OPTIONS, filename });
  try {
    writeAtomically(file, code);
  } catch {
    // a cache that cannot be written only costs time
  }
  return code;
}

/** TypeScript file → the JavaScript it ran as, replaced by its parsed source map once a stack trace needs it. */
const outputs = new Map();

require.extensions[".ts"] = function loadTypeScript(module, filename) {
  const output = transpile(readFileSync(filename, "utf8"), filename);
  outputs.set(filename, output);
  module._compile(output, filename);
};

function sourceMapOf(filename) {
  let map = outputs.get(filename);
  if (typeof map === "string") {
    const base64 = map.slice(map.lastIndexOf("base64,") + "base64,".length);
    map = new SourceMap(JSON.parse(Buffer.from(base64, "base64").toString("utf8")));
    outputs.set(filename, map);
  }
  return map;
}

/** A stack frame as V8 prints it, at its TypeScript line and column when it is in a file loaded here. */
function mappedFrame(frame) {
  const text = String(frame);
  const filename = frame.getFileName();
  if (!filename || !outputs.has(filename)) return text;
  const position = `${filename}:${frame.getLineNumber()}:${frame.getColumnNumber()}`;
  const at = text.lastIndexOf(position);
  if (at < 0) return text;
  const { originalLine, originalColumn } = sourceMapOf(filename).findEntry(frame.getLineNumber() - 1, frame.getColumnNumber() - 1);
  if (originalLine === undefined) return text;
  return `${text.slice(0, at)}${filename}:${originalLine + 1}:${originalColumn + 1}${text.slice(at + position.length)}`;
}

// Stack traces name TypeScript lines: V8's format, with the frames of files loaded here mapped when a
// stack is read. Node's own source maps (process.setSourceMapsEnabled) see only modules Node compiles
// itself, so on Node 20 every TypeScript file would lose compile-cache.js's code cache: 30-50 ms a boot.
Error.prepareStackTrace = function typeScriptStack(error, frames) {
  let header;
  try {
    header = Error.prototype.toString.call(error);
  } catch {
    header = "<error>";
  }
  return [header, ...frames.map((frame) => `    at ${mappedFrame(frame)}`)].join("\n");
};

module.exports = { transpile };
