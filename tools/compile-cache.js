// V8's code cache for every CommonJS module a test process loads, kept on disk by content: a
// process that evaluates the Pulumi program compiles ~1,200 modules (Pulumi, the AWS provider,
// TypeScript, the AWS SDK); with the cache it spends ~0.5 s less CPU (~5.4 -> ~4.9 s), a local mode
// boot ~0.2 s less. Node 22 does this itself (module.enableCompileCache); on Node 20 the same V8
// API is used here, as the v8-compile-cache package does. The module runs unchanged: the same
// source, wrapper arguments and dynamic import(); a cache V8 rejects (other Node version or flags)
// is compiled again; ES module syntax goes to Node's own loader.
// A cache is kept per V8 flag state (v8.cachedDataVersionTag()): @pulumi/pulumi turns on
// --allow-natives-syntax when it loads (runtime/closure/v8.js), so a process's modules compile under
// two flag states, and V8 rejects a cache made under the other one. With one file per module, each
// run rewrote the other state's caches (~1,800 modules in a warm `npm test`, 12-16 s of CPU).
// Node 22's own cache rejects and rewrites those modules too (NODE_DEBUG_NATIVE=COMPILE_CACHE), but
// this file's cache in its place measured no gain there: 62-67 s of CPU per warm run against 63 s.
const { createHash } = require("node:crypto");
const { readFileSync } = require("node:fs");
const Module = require("node:module");
const v8 = require("node:v8");
const { dirname, join, resolve } = require("node:path");
const vm = require("node:vm");
const { writeAtomically } = require("./write-atomically");

const CACHE_DIR = join(resolve(__dirname, ".."), "node_modules", ".cache", "v8-code", `${process.version}-${process.arch}`);

/** Node's `require` for `mod`, as the loader builds it (the parts modules use). */
function requireFor(mod) {
  const require = (id) => mod.require(id);
  require.resolve = (request, options) => Module._resolveFilename(request, mod, false, options);
  require.resolve.paths = (request) => Module._resolveLookupPaths(request, mod);
  require.main = process.mainModule;
  require.extensions = Module._extensions;
  require.cache = Module._cache;
  return require;
}

/** Modules this process compiled with a cache V8 accepted, and without one. */
const codeCache = { fromCache: 0, compiled: 0 };

function cachedScript(content, filename) {
  const file = join(CACHE_DIR, `${createHash("sha256").update(`${v8.cachedDataVersionTag()}\0${filename}\0${content}`).digest("hex")}.bin`);
  let cachedData;
  try {
    cachedData = readFileSync(file);
  } catch {
    // not cached yet
  }
  // A leading #! line is only valid at the start of a script, not inside the wrapper; kept as a comment (same lines).
  const source = content.startsWith("#!") ? `//${content.slice(2)}` : content;
  const script = new vm.Script(Module.wrap(source), {
    filename,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const save = !cachedData || script.cachedDataRejected;
  codeCache[save ? "compiled" : "fromCache"]++;
  return { script, save: save ? () => store(file, script.createCachedData()) : () => undefined };
}

function store(file, data) {
  try {
    writeAtomically(file, data);
  } catch {
    // a cache that cannot be written only costs time
  }
}

const compileWithoutCache = Module.prototype._compile;

function compileWithCodeCache(content, filename) {
  let compiled;
  try {
    compiled = cachedScript(content, filename);
  } catch (err) {
    // ES module syntax (Node's loader runs it as an ES module) or a real syntax error: Node's own way.
    if (err instanceof SyntaxError) return compileWithoutCache.call(this, content, filename);
    throw err;
  }
  const { script, save } = compiled;
  const wrapper = script.runInThisContext({ displayErrors: true });
  const result = wrapper.call(this.exports, this.exports, requireFor(this), this, filename, dirname(filename));
  save(); // after the module ran, so the functions it called are in the cache too
  return result;
}

if (Module.enableCompileCache) Module.enableCompileCache(CACHE_DIR);
else Module.prototype._compile = compileWithCodeCache;

module.exports = { codeCache };
