/**
 * Evaluates the Pulumi program (index.ts) for one stack under `pulumi.runtime.setMocks`, with that
 * stack's YAML config, and returns every registered resource (type, name, parent, inputs — archives
 * included as text) and the stack outputs. No Pulumi CLI, no AWS, no credentials.
 *
 * Evaluations run in a child process, which loads Pulumi once and evaluates the stacks it is asked
 * for in turn: each in Pulumi's runtime state of its own (as Pulumi's automation API runs inline
 * programs) and with index.ts and the program's modules loaded afresh, since they register
 * resources when loaded. The child writes each result as JSON to its own file; `evaluateStack`
 * caches the result per stack and overrides. In a test run the workers share the results, and one
 * child at a time evaluates whatever any of them asks for (`publishInBackground`).
 * Used by the infra tests and by `npm run graph` (scripts/graph.ts).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, sep } from "node:path";
import YAML from "yaml";
import { processAlive } from "../local/fakes/process-alive";
import { serializeClosuresCheaply } from "./closure-inspection";
import { writeAtomically } from "./write-atomically";
import { readStackConfig } from "./stack-config";

export const REPO_ROOT = resolve(__dirname, "..");
/** The account id the mocks pretend to deploy into. */
const MOCK_ACCOUNT = "123456789012";

/** What any mocked evaluation records of a resource. */
export interface MockedResource {
  type: string;
  name: string;
  urn: string;
  /** The id the mocks gave it (e.g. what an API Gateway route's target names). */
  id: string;
  /** URN of the parent; undefined for the stack's top-level resources. */
  parent?: string;
  custom: boolean;
  /** Inputs as the program passed them; an archive is `{ $archive: { <file>: { text } | { path } } }`. */
  inputs: Record<string, any>;
  /** Outputs the mocks made up (arn, url, name, …). */
  state: Record<string, any>;
}

/** A resource of the app program, with the options the engine is told (the mocks do not see them). */
export interface EvaluatedResource extends MockedResource {
  /** URNs it waits for (dependsOn plus those its inputs come from), as the engine is told. */
  dependencies: string[];
  retainOnDelete: boolean;
  ignoreChanges: string[];
}

export interface EvaluatedStack<R extends MockedResource = EvaluatedResource> {
  stack: string;
  project: string;
  /** The config the program saw: `<namespace>:<key>` → string. */
  config: Record<string, string>;
  resources: R[];
  outputs: Record<string, unknown>;
}

/** Project name and config schema (with defaults) from Pulumi.yaml. */
export function readProject(): {
  name: string;
  config: Record<string, { type: string; description: string; default?: unknown }>;
} {
  return YAML.parse(readFileSync(join(REPO_ROOT, "Pulumi.yaml"), "utf8"));
}

/** The stack's config as the Pulumi CLI hands it to the program: stack file values over Pulumi.yaml defaults. */
export function stackConfig(stack: string, overrides: Record<string, string | null> = {}): Record<string, string> {
  const project = readProject();
  // The same reader the local mode uses (stack file over Pulumi.yaml defaults), namespaced again.
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(readStackConfig(REPO_ROOT, stack).values)) {
    config[key.includes(":") ? key : `${project.name}:${key}`] = typeof value === "object" ? JSON.stringify(value) : String(value);
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== null) config[key] = value;
    else {
      // Removing the stack's value leaves the project default, if there is one.
      const fallback = project.config?.[key.slice(project.name.length + 1)]?.default;
      if (fallback === undefined) delete config[key];
      else config[key] = String(fallback);
    }
  }
  // As the Pulumi CLI does before running the program: a declared key with no default must be set.
  const missing = Object.keys(project.config ?? {}).filter((key) => config[`${project.name}:${key}`] === undefined);
  if (missing.length) throw new Error(`Stack '${stack}' is missing configuration value(s): ${missing.join(", ")}`);
  return config;
}

const cache = new Map<string, EvaluatedStack>();

/**
 * Names the environment variable that holds a directory shared by the test files of one run (set
 * by test/support/fixtures.ts). mocha runs files in parallel worker processes; through it they
 * evaluate each stack once between them instead of once per worker.
 */
export const SHARED_STACKS_DIR = "INFRA_SHARED_STACKS_DIR";

/** The child's environment: ours minus anything that would feed Pulumi config from outside. */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.PULUMI_CONFIG;
  delete env.PULUMI_CONFIG_SECRET_KEYS;
  return env;
}

/**
 * Evaluates the program for `stack` (config from Pulumi.<stack>.yaml). `overrides` replaces config
 * values (`null` removes the stack's value, leaving the project default), e.g. to see what a stack without a bucket name creates.
 */
export function evaluateStack(stack: string, overrides: Record<string, string | null> = {}): EvaluatedStack {
  const key = stackKey(stack, overrides);
  const cached = cache.get(key);
  if (cached) return cached;
  // Asked for first; the run's child goes on with the stacks nobody asked for yet.
  publishStacks([[stack, overrides], ...everyStack()]);
  const result = unwrap(
    stack,
    evaluateOncePerRun(key, (outFile) => evaluateInChild(stack, overrides, outFile)),
  );
  cache.set(key, result);
  return result;
}

const stackKey = (stack: string, overrides: Record<string, string | null>) => JSON.stringify([stack, overrides]);

/** What an evaluation child writes: the stack, or why the program failed. */
export type Published<R extends MockedResource = EvaluatedResource> = { stack: EvaluatedStack<R> } | { error: string };

function unwrap(stack: string, published: Published): EvaluatedStack {
  if ("error" in published) throw new Error(`evaluating stack "${stack}" failed:\n${published.error}`);
  return published.stack;
}

/** The stacks that have a Pulumi.<stack>.yaml. */
function stackNames(): string[] {
  return readdirSync(REPO_ROOT).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []);
}

/** Where the run's shared evaluation of `key` is locked and published (`<base>.lock`, `<base>.json`). */
function sharedBase(shared: string, key: string): string {
  return join(shared, shortHash(key));
}

/**
 * `evaluate(outFile)` once per run across the test workers when they share a directory (else here
 * and now); `key` names the evaluation (program, stack and options).
 */
export function evaluateOncePerRun<R extends MockedResource>(key: string, evaluate: (outFile: string) => Published<R>): Published<R> {
  const shared = process.env[SHARED_STACKS_DIR];
  if (shared) return evaluateOnce(sharedBase(shared, key), key, evaluate);
  const dir = mkdtempSync(join(tmpdir(), "pulumi-eval-"));
  try {
    return evaluate(join(dir, "stack.json"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What an evaluation child loads TypeScript with: TypeScript's own transpiler through ts-node, not
 * the tests' SWC, so the code Pulumi serializes is what `pulumi up` would see; its output cached.
 */
export const EVALUATION_REGISTER = join(REPO_ROOT, "tools", "cached-transpile.js");

/** One evaluation a child is asked for: the stack, its config overrides, and where to publish the result. */
interface StackJob {
  stack: string;
  overrides: Record<string, string | null>;
  out: string;
}

/** The command line of a child that runs `script` (with the evaluation register) on `jobs` in turn, then on those appended to `queue`. */
export function evaluationArgs(script: string, jobs: unknown[], queue?: string): string[] {
  return ["-r", EVALUATION_REGISTER, script, JSON.stringify(jobs), ...(queue ? [queue] : [])];
}

const childArgs = (jobs: StackJob[]) => evaluationArgs(__filename, jobs);

/** A failed child's stack trace, in TypeScript positions. */
export function readableStack(err: unknown): string {
  return (require(EVALUATION_REGISTER) as { sourceMappedStack(err: unknown): string }).sourceMappedStack(err);
}

/** Runs a child (`args`, in `cwd`) that writes its Published result to `outFile`; what it printed when it died first. */
export function runEvaluationChild<R extends MockedResource = EvaluatedResource>(
  args: string[],
  cwd: string,
  outFile: string,
): Published<R> {
  const child = spawnSync(process.execPath, args, { cwd, encoding: "utf8", env: childEnv(), maxBuffer: 64 * 1024 * 1024 });
  if (!existsSync(outFile))
    return {
      error: `the evaluation died (exit ${child.status}, signal ${child.signal}):\n${child.stderr}\n${child.stdout}`,
    };
  return JSON.parse(readFileSync(outFile, "utf8")) as Published<R>;
}

function evaluateInChild(stack: string, overrides: Record<string, string | null>, outFile: string): Published {
  return runEvaluationChild(childArgs([{ stack, overrides, out: outFile }]), REPO_ROOT, outFile);
}

/**
 * Evaluates once across processes: whoever creates `<base>.lock` evaluates, and its child publishes
 * `<base>.json`; the others wait for that file. A lock whose process died is taken over.
 */
function evaluateOnce<R extends MockedResource>(
  base: string,
  what: string,
  evaluate: (outFile: string) => Published<R>,
  timeoutMs = 300000,
): Published<R> {
  const resultFile = `${base}.json`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(resultFile)) return JSON.parse(readFileSync(resultFile, "utf8")) as Published<R>;
    if (claim(`${base}.lock`)) {
      const published = evaluate(resultFile);
      if (!existsSync(resultFile)) publish(resultFile, published);
      return published;
    }
    if (Date.now() > deadline) throw new Error(`no evaluation of ${what} within ${timeoutMs} ms`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100); // a synchronous 100 ms sleep
  }
}

/** Evaluations started in the background by this process, stopped when it exits (a run that never needed them). */
const background: ChildProcess[] = [];
process.on("exit", () => {
  for (const child of background) if (child.exitCode === null && child.signalCode === null) child.kill();
});

type StackEvaluation = [stack: string, overrides: Record<string, string | null>];

/**
 * Starts evaluating each `[stack, overrides]` for this run that nobody evaluates yet, so that a
 * later `evaluateStack` of it waits less. A no-op outside a shared run (a single process evaluates on demand).
 */
export function evaluateInBackground(evaluations: StackEvaluation[]): void {
  publishStacks([...everyStack(), ...evaluations]);
}

/** Every stack as its file configures it: each infra suite evaluates them all, so they go first. */
const everyStack = (): StackEvaluation[] => stackNames().map((stack) => [stack, {}]);

function publishStacks(evaluations: StackEvaluation[]): void {
  publishInBackground(
    APP_CHILD,
    evaluations.map(([stack, overrides]) => ({ key: stackKey(stack, overrides), job: { stack, overrides } })),
  );
}

/** A program's evaluation child: the script whose main evaluates jobs in turn, and the folder it runs in. */
export interface EvaluationChild {
  script: string;
  cwd: string;
}

const APP_CHILD: EvaluationChild = { script: __filename, cwd: REPO_ROOT };

/**
 * In a shared run, has each of `runs` that nobody has claimed evaluated and published in the
 * background: by the run's child of that program while it is at work or waiting for more (Pulumi
 * loads once per child, ~3 s of CPU for the app), else by a new child that then takes later runs
 * too. A no-op outside a shared run.
 */
export function publishInBackground<J extends object>(child: EvaluationChild, runs: Array<{ key: string; job: J }>): void {
  const shared = process.env[SHARED_STACKS_DIR];
  if (!shared) return;
  const unique = [...new Map(runs.map((run) => [run.key, run])).values()];
  const claimed = unique.flatMap(({ key, job }) => {
    const base = sharedBase(shared, key);
    return existsSync(`${base}.json`) || !claim(`${base}.lock`) ? [] : [{ ...job, out: `${base}.json` }];
  });
  if (!claimed.length) return;
  const queue = join(shared, `${shortHash(child.script)}.queue`);
  const publisher = appendToQueue(queue, claimed) ?? startPublisher(child, claimed, queue);
  for (const { out } of claimed) {
    const lock = out.replace(/\.json$/, ".lock");
    // From now on the locks name the publisher: should it die before a result, a waiter takes over.
    if (publisher) writeFileSync(lock, String(publisher));
    else rmSync(lock, { force: true });
  }
}

let appended = 0;

/** Hands `jobs` to the live child that owns `queue`; its pid, or undefined when no child takes them. */
function appendToQueue(queue: string, jobs: unknown[]): number | undefined {
  const owner = queueOwner(queue);
  if (!owner || !processAlive(owner)) return undefined;
  const name = `${Date.now()}-${process.pid}-${appended++}.json`; // sorts oldest first
  const batch = `${queue}-${name}`;
  writeFileSync(batch, JSON.stringify(jobs));
  try {
    renameSync(batch, join(queue, name));
    return owner;
  } catch (err) {
    rmSync(batch, { force: true });
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined; // the child closed its queue just now
    throw err;
  }
}

/** The pid of the child that takes jobs appended to `queue`, if any. */
function queueOwner(queue: string): number | undefined {
  try {
    return Number(readFileSync(join(queue, "pid"), "utf8"));
  } catch {
    return undefined;
  }
}

/** Starts a child for `jobs` that goes on with jobs appended to `queue` (unless another child owns one); its pid. */
function startPublisher(child: EvaluationChild, jobs: unknown[], queue: string): number | undefined {
  const proc = spawn(process.execPath, evaluationArgs(child.script, jobs, queue), { cwd: child.cwd, env: childEnv(), stdio: "ignore" });
  proc.unref();
  background.push(proc);
  if (!proc.pid) return undefined;
  // The queue appears whole, pid inside, or not at all (another child's, even a dead one's, stays: later jobs then start children of their own).
  const offered = mkdtempSync(`${queue}-`);
  writeFileSync(join(offered, "pid"), String(proc.pid));
  try {
    renameSync(offered, queue);
  } catch {
    rmSync(offered, { recursive: true, force: true });
  }
  return proc.pid;
}

/**
 * How long a child that owns a queue waits for more jobs once it has none before it closes the
 * queue. Test files load at different times (a bootstrap file may start 15 s after another's jobs
 * are done): a later file then finds the program's child still there instead of starting another,
 * which would load Pulumi again (~1.2 s of CPU). Waiting costs nothing; the child goes when the
 * worker that started it does.
 */
const QUEUE_IDLE_MS = 30000;

/**
 * An evaluation child's jobs: those on its command line, then, if it owns the queue named there,
 * those appended to it until it has found none for `idleMs` and closes it.
 */
export async function* childJobs<J>(argv = process.argv, idleMs = QUEUE_IDLE_MS): AsyncGenerator<J> {
  yield* JSON.parse(argv[2]) as J[];
  const queue = argv[3];
  if (!queue || queueOwner(queue) !== process.pid) return;
  let idleSince = Date.now();
  for (;;) {
    if (!existsSync(queue)) return; // the run is over and its directory gone
    const batch = takeQueued<J>(queue);
    if (batch.length) {
      yield* batch;
      idleSince = Date.now();
    } else if (Date.now() - idleSince < idleMs) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    } else break;
  }
  // Closed by a rename: an append either landed before it (taken below) or fails and starts a child of its own.
  const closed = `${queue}-closed-${process.pid}`;
  renameSync(queue, closed);
  const last = takeQueued<J>(closed);
  rmSync(closed, { recursive: true });
  yield* last;
}

/** The jobs appended to `dir`, oldest first, removed from it. */
function takeQueued<J>(dir: string): J[] {
  const batches = readdirSync(dir)
    .filter((file) => file.endsWith(".json"))
    .sort();
  return batches.flatMap((file) => {
    const jobs = JSON.parse(readFileSync(join(dir, file), "utf8")) as J[];
    rmSync(join(dir, file));
    return jobs;
  });
}

/** Writes `file` in one step, so a reader in another process never sees half of it. */
function publish<R extends MockedResource>(file: string, published: Published<R>): void {
  writeAtomically(file, JSON.stringify(published));
}

/** Creates `file` (holding `content`) unless it exists; true if this call created it. */
function createdNow(file: string, content = ""): boolean {
  try {
    writeFileSync(file, content, { flag: "wx" });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    return false;
  }
}

/** Creates `lockFile` holding our pid, or replaces one whose process is gone; false while another process holds it. */
function claim(lockFile: string): boolean {
  if (createdNow(lockFile, String(process.pid))) return true;
  let owner: number;
  try {
    owner = Number(readFileSync(lockFile, "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return claim(lockFile); // just taken over and being recreated
    throw err;
  }
  // An empty lock is being written by its creator right now.
  if (!owner || processAlive(owner)) return false;
  rmSync(lockFile, { force: true });
  return claim(lockFile);
}

// ---------------------------------------------------------------------------------------------
// Child process: evaluate the program under mocks.

function shortHash(text: string): string {
  return createHash("sha1").update(text).digest("hex").slice(0, 7);
}

/** Turns deserialized inputs into JSON: waits for promises, writes assets and archives out as text. */
async function plain(value: any): Promise<any> {
  value = await value;
  if (value === null || value === undefined || typeof value !== "object") return value;
  if (Buffer.isBuffer(value)) return value.toString("base64");
  if (value.__pulumiArchive || value.assets !== undefined) {
    const assets = await value.assets;
    if (assets === undefined) return { $archive: { path: await value.path, uri: await value.uri } };
    const files: Record<string, unknown> = {};
    for (const [file, asset] of Object.entries<any>(assets)) {
      if (asset.__pulumiAsset || asset.text !== undefined || asset.path !== undefined) {
        const text = await asset.text;
        files[file] = text !== undefined ? { text } : { path: await asset.path };
      } else {
        files[file] = await plain(asset);
      }
    }
    return { $archive: files };
  }
  if (Array.isArray(value)) return Promise.all(value.map(plain));
  const result: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) result[k] = await plain(v);
  return result;
}

/**
 * The mocks' answers to the lookups of where a program deploys: the partition, the region and the
 * caller (IAM user `user` of `account`); undefined for any other call.
 */
export function accountLookup(token: string, account: string, user: string, region: string): Record<string, string> | undefined {
  switch (token) {
    case "aws:index/getPartition:getPartition":
      return { id: "aws", partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
    case "aws:index/getRegion:getRegion":
      return { id: region, name: region, region, endpoint: `ec2.${region}.amazonaws.com`, description: region };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { id: account, accountId: account, arn: `arn:aws:iam::${account}:user/${user}`, userId: user.toUpperCase() };
    default:
      return undefined;
  }
}

/** Outputs the mocks report for a new resource: plausible names, ARNs, URLs and ids per type. */
function mockState(type: string, name: string, inputs: any, region: string): { id: string; state: Record<string, unknown> } {
  const [, mod = "", kind = ""] = /^aws:([^/]+)\/([^:]+):/.exec(type) ?? [];
  const physical: string = inputs.name ?? inputs.bucket ?? inputs.dashboardName ?? `${name}-${shortHash(name)}`;
  const state: Record<string, unknown> = { ...inputs, name: physical };
  let id = `${physical}-id`;
  switch (`${mod}/${kind}`) {
    case "sqs/queue":
      state.arn = `arn:aws:sqs:${region}:${MOCK_ACCOUNT}:${physical}`;
      state.url = id = `https://sqs.${region}.amazonaws.com/${MOCK_ACCOUNT}/${physical}`;
      break;
    case "lambda/function":
      id = physical;
      state.arn = `arn:aws:lambda:${region}:${MOCK_ACCOUNT}:function:${physical}`;
      state.invokeArn = `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${state.arn}/invocations`;
      break;
    case "iam/role":
      id = physical;
      state.arn = `arn:aws:iam::${MOCK_ACCOUNT}:role/${physical}`;
      break;
    case "iam/policy":
      state.arn = id = `arn:aws:iam::${MOCK_ACCOUNT}:policy/${physical}`;
      break;
    case "cloudwatch/logGroup":
      id = physical;
      state.arn = `arn:aws:logs:${region}:${MOCK_ACCOUNT}:log-group:${physical}`;
      break;
    case "cloudwatch/metricAlarm":
      id = physical;
      state.arn = `arn:aws:cloudwatch:${region}:${MOCK_ACCOUNT}:alarm:${physical}`;
      break;
    case "sns/topic":
      state.arn = id = `arn:aws:sns:${region}:${MOCK_ACCOUNT}:${physical}`;
      break;
    case "s3/bucket":
      id = state.bucket = physical;
      state.arn = `arn:aws:s3:::${physical}`;
      break;
    case "apigateway/restApi":
      id = shortHash(`api:${name}`);
      state.rootResourceId = `${id}-root`;
      state.executionArn = `arn:aws:execute-api:${region}:${MOCK_ACCOUNT}:${id}`;
      break;
    case "apigateway/resource":
      id = shortHash(`resource:${name}`);
      break;
    case "apigateway/stage":
      state.invokeUrl = `https://${inputs.restApi}.execute-api.${region}.amazonaws.com/${inputs.stageName}`;
      break;
    case "apigateway/apiKey":
      // API Gateway generates a key of 20-128 alphanumeric characters.
      state.value = createHash("sha256").update(`key:${name}`).digest("hex").slice(0, 40);
      break;
    default:
      state.arn = `arn:aws:${mod.toLowerCase()}:${region}:${MOCK_ACCOUNT}:${kind}/${physical}`;
  }
  return { id, state };
}

/**
 * Pulumi's serializer finds the npm workspace root (package.json `workspaces`) with fs.promises.glob,
 * which Node.js has from 22 on, as @pulumi/pulumi requires. So that the suite still runs on Node 20
 * (end of life, but what some machines have), the child brings the one case it meets: workspace
 * entries that name a folder, no wildcards. On Node 22+ Node's own glob runs, as under `pulumi up`.
 */
function provideGlobOnNode20(): void {
  const fsp = require("node:fs/promises") as { glob?: unknown };
  if (fsp.glob) return;
  fsp.glob = async function* literalGlob(pattern: string) {
    if (/[*?[\]{}!]/.test(pattern)) throw new Error(`package.json workspaces with wildcards (${pattern}) need Node.js 22 or newer`);
    if (existsSync(pattern)) yield pattern;
  };
}

/**
 * Pulumi's serializer reads the whole node_modules tree (arborist's loadActual) once per
 * CallbackFunction, to find the packages the archive needs; the program has four. The tree does
 * not change while the program runs, so the child reads it once: the same archives (checked),
 * ~1 s less CPU per evaluation.
 */
function readPackageTreeOnce(): void {
  const { Arborist } = require("@npmcli/arborist") as {
    Arborist: { prototype: { path: string; loadActual(...args: unknown[]): Promise<unknown> } };
  };
  const loadActual = Arborist.prototype.loadActual;
  const trees = new Map<string, Promise<unknown>>();
  Arborist.prototype.loadActual = function (...args: unknown[]) {
    const key = JSON.stringify([this.path, args]);
    if (!trees.has(key)) trees.set(key, loadActual.apply(this, args));
    return trees.get(key)!;
  };
}

/**
 * Forgets every module of the repository outside node_modules and tools/ (the program, its
 * components and runtime code), so that the next program loaded registers its resources afresh.
 */
function forgetProgramModules(): void {
  const tools = join(REPO_ROOT, "tools") + sep;
  for (const file of Object.keys(require.cache)) {
    if (file.startsWith(REPO_ROOT + sep) && !file.includes(`${sep}node_modules${sep}`) && !file.startsWith(tools))
      delete require.cache[file];
  }
}

/**
 * Evaluates each job in turn in this process, Pulumi loaded once: each in a Pulumi runtime state
 * of its own (`withLocalStorage`, what Pulumi's automation API runs each inline program in) and
 * with the program's modules loaded afresh. Publishes each result, or the error, to the job's file.
 * Resource modules and packages stay in Pulumi's global store, where @pulumi/aws registered them
 * when it was loaded. True if every job evaluated.
 */
export async function evaluateInTurn<J extends { out: string }, R extends MockedResource>(
  jobs: Iterable<J> | AsyncIterable<J>,
  evaluate: (job: J) => Promise<EvaluatedStack<R>>,
  describeError: (err: unknown) => string = readableStack,
): Promise<boolean> {
  provideGlobOnNode20();
  readPackageTreeOnce();
  serializeClosuresCheaply();
  const state = (await import("@pulumi/pulumi/runtime/state")) as unknown as {
    withLocalStorage<T>(run: () => Promise<T>): Promise<T>;
  };
  let allEvaluated = true;
  for await (const job of jobs) {
    forgetProgramModules();
    try {
      publish(job.out, { stack: await state.withLocalStorage(() => evaluate(job)) });
    } catch (err) {
      const error = describeError(err);
      publish(job.out, { error });
      console.error(error);
      allEvaluated = false;
    }
  }
  return allEvaluated;
}

async function runChild(stack: string, overrides: Record<string, string | null>): Promise<EvaluatedStack> {
  // Loaded here so that importing this module (tests, graph script) does not load Pulumi.
  const pulumi: typeof import("@pulumi/pulumi") = require("@pulumi/pulumi");
  const project = readProject().name;
  const config = stackConfig(stack, overrides);
  const region = config["aws:region"] ?? "eu-west-1";
  pulumi.runtime.setAllConfig(config, []);

  const resources = new Map<string, EvaluatedResource>();
  const pending: Promise<unknown>[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: async ({ type, name, inputs, custom }) => {
        const { id, state } = mockState(type, name, inputs, region);
        const key = `${type}::${name}`;
        if (resources.has(key)) throw new Error(`two resources of type ${type} are named ${name}`);
        const record = {
          type,
          name,
          urn: "",
          id,
          custom: !!custom,
          inputs: {},
          state,
          dependencies: [],
          retainOnDelete: false,
          ignoreChanges: [],
        };
        const work = plain(inputs).then((converted) => {
          record.inputs = converted;
        });
        pending.push(work);
        resources.set(key, record as EvaluatedResource);
        return { id, state };
      },
      call: ({ token, inputs }) => {
        switch (token) {
          case "aws:bedrockfoundation/getModelAgreementOffers:getModelAgreementOffers":
            // One public offer, shaped like ListFoundationModelAgreementOffers' answer.
            return {
              id: inputs.modelId,
              modelId: inputs.modelId,
              offerType: inputs.offerType,
              region: inputs.region ?? region,
              offers: [
                {
                  offerId: `offer-${shortHash(inputs.modelId)}`,
                  offerToken: `token-${shortHash(inputs.modelId)}`,
                  termDetails: [],
                },
              ],
            };
          default: {
            const answer = accountLookup(token, MOCK_ACCOUNT, "mock", region);
            if (!answer) throw new Error(`the infra mocks do not answer ${token}; add it to tools/stack.ts`);
            return answer;
          }
        }
      },
    },
    project,
    stack,
    false,
  );

  // The mocks do not see a resource's parent; the monitor's requests do.
  const monitor = pulumi.runtime.getMonitor() as any;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: (err: any, res: any) => void) =>
    register(req, (err: any, res: any) => {
      const record = resources.get(`${req.getType()}::${req.getName()}`);
      if (record && res) {
        record.urn = res.getUrn();
        record.parent = req.getParent() || undefined;
        const urns: string[] = [...req.getDependenciesList()];
        req.getPropertydependenciesMap().forEach((deps: { getUrnsList(): string[] }) => urns.push(...deps.getUrnsList()));
        record.dependencies = [...new Set(urns)];
        record.retainOnDelete = req.getRetainondelete() ?? false;
        record.ignoreChanges = req.getIgnorechangesList();
      }
      callback(err, res);
    });

  const program = require(join(REPO_ROOT, "index.ts")) as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(program)) {
    outputs[name] = pulumi.Output.isInstance(value)
      ? await new Promise((done) =>
          (value as import("@pulumi/pulumi").Output<unknown>).apply((v) => {
            done(v);
            return v;
          }),
        )
      : value;
  }
  const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
  await waitForRPCs();
  await Promise.all(pending);

  const keys = new Set<string>();
  for (const r of resources.values()) {
    if (keys.has(r.urn)) throw new Error(`duplicate URN ${r.urn}`);
    keys.add(r.urn);
  }
  return { stack, project, config, resources: [...resources.values()], outputs };
}

if (require.main === module) {
  evaluateInTurn(childJobs<StackJob>(), (job) => runChild(job.stack, job.overrides)).then((allEvaluated) =>
    process.exit(allEvaluated ? 0 : 1),
  );
}
