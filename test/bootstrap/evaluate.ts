/**
 * Evaluates the bootstrap program (bootstrap/index.ts) for one of its stacks under
 * `pulumi.runtime.setMocks`, in a child process that evaluates the runs it is asked for in turn
 * (tools/stack.ts `evaluateInTurn`), and returns its resources and outputs. The config is what the Pulumi CLI
 * would hand over: bootstrap/Pulumi.yaml's defaults under the stack file's values, plus overrides.
 * Existing OIDC providers the program may adopt are answered by the mocked
 * `aws:iam/getOpenIdConnectProvider` call.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import YAML from "yaml";
import {
  accountLookup,
  childJobs,
  evaluationArgs,
  evaluateInTurn,
  evaluateOncePerRun,
  publishInBackground,
  readableStack,
  runEvaluationChild,
  type EvaluatedStack,
  type EvaluationChild,
  type MockedResource,
  type Published,
} from "../../tools/stack";

const BOOTSTRAP_DIR = resolve(__dirname, "..", "..", "bootstrap");
export const MOCK_ACCOUNT = "210987654321";

interface ProjectFile {
  name: string;
  config: Record<string, { type: string; default?: unknown; secret?: boolean }>;
}
const bootstrapProject = (): ProjectFile => YAML.parse(readFileSync(join(BOOTSTRAP_DIR, "Pulumi.yaml"), "utf8"));

export interface BootstrapOptions {
  /** Config values by key without namespace (`candidate`, …) or with one (`aws:region`); `null` removes a stack value. */
  overrides?: Record<string, unknown>;
  /** OIDC providers that exist in the mocked account: ARN → what GetOpenIDConnectProvider answers. */
  existingOidcProviders?: Record<string, { url: string; clientIdLists: string[] }>;
}

/** Values the tests use for what a real stack sets with `pulumi config set --secret`. */
export const TEST_PASSPHRASE = "correct horse battery staple";

const toConfigString = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

/** The config the CLI would pass for `stack`, and which keys are secret. */
function bootstrapConfig(stack: string, overrides: Record<string, unknown> = {}): { config: Record<string, string>; secretKeys: string[] } {
  const project = bootstrapProject();
  const key = (k: string) => (k.includes(":") ? k : `${project.name}:${k}`);
  const stackFile = YAML.parse(readFileSync(join(BOOTSTRAP_DIR, `Pulumi.${stack}.yaml`), "utf8"));
  const config: Record<string, string> = {};
  for (const [k, declared] of Object.entries(project.config))
    if (declared.default !== undefined) config[key(k)] = toConfigString(declared.default);
  for (const [k, v] of Object.entries<unknown>(stackFile.config ?? {})) config[key(k)] = toConfigString(v);
  for (const [k, v] of Object.entries({ appStacksPassphrase: TEST_PASSPHRASE, ...overrides })) {
    if (v === null) delete config[key(k)];
    else config[key(k)] = toConfigString(v);
  }
  const missing = Object.keys(project.config).filter((k) => config[key(k)] === undefined);
  if (missing.length) throw new Error(`stack ${stack} is missing configuration value(s): ${missing.join(", ")}`);
  const secretKeys = Object.entries(project.config)
    .filter(([, d]) => d.secret)
    .map(([k]) => key(k));
  return { config, secretKeys };
}

export interface BootstrapRun {
  ok: boolean;
  stack?: EvaluatedStack<MockedResource>;
  /** What the program printed when it failed. */
  error: string;
}

/** One run a child is asked for, and where it publishes the result. */
interface BootstrapJob {
  stack: string;
  options: BootstrapOptions;
  out: string;
}

/** What names a run across the test workers (tools/stack.ts shares each once per test run). */
const runKey = (stack: string, options: BootstrapOptions) => JSON.stringify(["bootstrap", stack, options]);

const BOOTSTRAP_CHILD: EvaluationChild = { script: __filename, cwd: BOOTSTRAP_DIR };

/** Runs the bootstrap program under mocks; `ok: false` carries the failure instead of throwing. */
export function runBootstrap(stack = "course", options: BootstrapOptions = {}): BootstrapRun {
  // Once per run and option set, shared by the test workers, in the run's one bootstrap child (tools/stack.ts).
  runBootstrapInBackground([[stack, options]]);
  const published = evaluateOncePerRun(runKey(stack, options), (out) => evaluateInChild(stack, options, out));
  return "error" in published ? { ok: false, error: published.error } : { ok: true, stack: published.stack, error: "" };
}

/**
 * Starts the runs `[stack, options]` that nobody has started in this test run, in the run's
 * bootstrap child (Pulumi loads once), so that the `runBootstrap` or `evaluateBootstrap` of each
 * waits less. A no-op outside a shared run.
 */
export function runBootstrapInBackground(runs: Array<[stack: string, options: BootstrapOptions]>): void {
  publishInBackground(
    BOOTSTRAP_CHILD,
    runs.map(([stack, options]) => ({ key: runKey(stack, options), job: { stack, options } })),
  );
}

/** Runs the child, which publishes the stack or the program's error to `out`; what it printed if it died first. */
function evaluateInChild(stack: string, options: BootstrapOptions, out: string): Published<MockedResource> {
  return runEvaluationChild<MockedResource>(evaluationArgs(__filename, [{ stack, options, out }]), BOOTSTRAP_DIR, out);
}

const cache = new Map<string, EvaluatedStack<MockedResource>>();

/** The evaluated stack; fails the test with the program's own message when it does not evaluate. */
export function evaluateBootstrap(stack = "course", options: BootstrapOptions = {}): EvaluatedStack<MockedResource> {
  const key = JSON.stringify([stack, options]);
  if (!cache.has(key)) {
    const run = runBootstrap(stack, options);
    if (!run.ok || !run.stack) throw new Error(`bootstrap stack ${stack} failed:\n${run.error}`);
    cache.set(key, run.stack);
  }
  return cache.get(key)!;
}

// ---------------------------------------------------------------------------------------------
// Child process.

/** What the mocked account answers for a new resource: ARNs that follow AWS's formats. */
function mockedState(type: string, name: string, inputs: Record<string, any>): { id: string; state: Record<string, unknown> } {
  const iam = (path: string) => `arn:aws:iam::${MOCK_ACCOUNT}:${path}`;
  switch (type) {
    case "aws:iam/role:Role":
      return { id: inputs.name, state: { ...inputs, arn: iam(`role/${inputs.name}`) } };
    case "aws:iam/policy:Policy":
      return { id: iam(`policy/${inputs.name}`), state: { ...inputs, arn: iam(`policy/${inputs.name}`) } };
    case "aws:iam/openIdConnectProvider:OpenIdConnectProvider": {
      const arn = iam(`oidc-provider/${String(inputs.url).replace(/^https:\/\//, "")}`);
      return { id: arn, state: { ...inputs, arn } };
    }
    default:
      return { id: `${name}-id`, state: { ...inputs } };
  }
}

/** An output's value; rejects when an `apply` in the program threw (e.g. a config check). */
async function resolved(value: unknown): Promise<unknown> {
  const pulumi: typeof import("@pulumi/pulumi") = require("@pulumi/pulumi");
  return pulumi.Output.isInstance(value) ? (value as unknown as { promise(): Promise<unknown> }).promise() : value;
}

async function evaluateProgram({ stack, options }: BootstrapJob): Promise<EvaluatedStack<MockedResource>> {
  const pulumi: typeof import("@pulumi/pulumi") = require("@pulumi/pulumi");
  const project = bootstrapProject().name;
  const { config, secretKeys } = bootstrapConfig(stack, options.overrides);
  const region = config["aws:region"] ?? "eu-west-1";
  pulumi.runtime.setAllConfig(config, secretKeys);

  const resources: MockedResource[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: async ({ type, name, inputs, custom }) => {
        const { id, state } = mockedState(type, name, inputs);
        resources.push({ type, name, urn: `${type}::${name}`, id, custom: !!custom, inputs, state });
        return { id, state };
      },
      call: ({ token, inputs }) => {
        switch (token) {
          case "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider": {
            const found = options.existingOidcProviders?.[inputs.arn];
            if (!found) throw new Error(`no OIDC provider ${inputs.arn} in the mocked account`);
            return { id: inputs.arn, arn: inputs.arn, ...found, thumbprintLists: [], tags: {} };
          }
          default: {
            const answer = accountLookup(token, MOCK_ACCOUNT, "admin", region);
            if (!answer) throw new Error(`the bootstrap mocks do not answer ${token}; add it to test/bootstrap/evaluate.ts`);
            return answer;
          }
        }
      },
    },
    project,
    stack,
    false,
  );

  const program = require(BOOTSTRAP_DIR) as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(program)) outputs[name] = await resolved(value);
  const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
  await waitForRPCs();
  return { stack, project, config, resources, outputs };
}

/** The program's own message first (the tests match it), then where it was thrown. */
function describeError(err: unknown): string {
  const { message, details } = (err ?? {}) as { message?: string; details?: string };
  return `${message || details || String(err)} ${err instanceof Error ? readableStack(err) : ""}`;
}

if (require.main === module) {
  evaluateInTurn(childJobs<BootstrapJob>(), evaluateProgram, describeError).then((allEvaluated) => process.exit(allEvaluated ? 0 : 1));
}
