/**
 * Evaluates the bootstrap program (bootstrap/index.ts) for one of its stacks under
 * `pulumi.runtime.setMocks`, in a child process (Pulumi's runtime state is per process, as in
 * tools/stack.ts), and returns its resources and outputs. The config is what the Pulumi CLI
 * would hand over: bootstrap/Pulumi.yaml's defaults under the stack file's values, plus overrides.
 * Existing OIDC providers the program may adopt are answered by the mocked
 * `aws:iam/getOpenIdConnectProvider` call.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import YAML from "yaml";
import { EVALUATION_REGISTER, evaluateOncePerRun, readableStack, type EvaluatedStack, type MockedResource, type Published } from "../../tools/stack";

export const BOOTSTRAP_DIR = resolve(__dirname, "..", "..", "bootstrap");
export const MOCK_ACCOUNT = "210987654321";

interface ProjectFile {
  name: string;
  config: Record<string, { type: string; default?: unknown; secret?: boolean }>;
}
export const bootstrapProject = (): ProjectFile => YAML.parse(readFileSync(join(BOOTSTRAP_DIR, "Pulumi.yaml"), "utf8"));

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
export function bootstrapConfig(stack: string, overrides: Record<string, unknown> = {}): { config: Record<string, string>; secretKeys: string[] } {
  const project = bootstrapProject();
  const key = (k: string) => (k.includes(":") ? k : `${project.name}:${k}`);
  const stackFile = YAML.parse(readFileSync(join(BOOTSTRAP_DIR, `Pulumi.${stack}.yaml`), "utf8"));
  const config: Record<string, string> = {};
  for (const [k, declared] of Object.entries(project.config)) if (declared.default !== undefined) config[key(k)] = toConfigString(declared.default);
  for (const [k, v] of Object.entries<unknown>(stackFile.config ?? {})) config[key(k)] = toConfigString(v);
  for (const [k, v] of Object.entries({ appStacksPassphrase: TEST_PASSPHRASE, ...overrides })) {
    if (v === null) delete config[key(k)];
    else config[key(k)] = toConfigString(v);
  }
  const missing = Object.keys(project.config).filter((k) => config[key(k)] === undefined);
  if (missing.length) throw new Error(`stack ${stack} is missing configuration value(s): ${missing.join(", ")}`);
  const secretKeys = Object.entries(project.config).filter(([, d]) => d.secret).map(([k]) => key(k));
  return { config, secretKeys };
}

export interface BootstrapRun {
  ok: boolean;
  stack?: EvaluatedStack<MockedResource>;
  /** What the program printed when it failed. */
  error: string;
}

/** Runs the bootstrap program under mocks; `ok: false` carries the failure instead of throwing. */
export function runBootstrap(stack = "course", options: BootstrapOptions = {}): BootstrapRun {
  // Once per run and option set, shared by the test workers (tools/stack.ts).
  const published = evaluateOncePerRun(JSON.stringify(["bootstrap", stack, options]), (out) => evaluateInChild(stack, options, out));
  return "error" in published ? { ok: false, error: published.error } : { ok: true, stack: published.stack, error: "" };
}

/** Runs the child, which publishes the stack to `out`; what it printed when it failed. */
function evaluateInChild(stack: string, options: BootstrapOptions, out: string): Published<MockedResource> {
  const env = { ...process.env };
  delete env.PULUMI_CONFIG;
  delete env.PULUMI_CONFIG_SECRET_KEYS;
  const child = spawnSync(process.execPath, ["-r", EVALUATION_REGISTER, __filename, JSON.stringify({ stack, out, options })], {
    cwd: BOOTSTRAP_DIR, encoding: "utf8", env, maxBuffer: 16 * 1024 * 1024,
  });
  if (child.status !== 0) return { error: `${child.stderr}\n${child.stdout}` };
  return JSON.parse(readFileSync(out, "utf8")) as Published<MockedResource>;
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

async function child({ stack, out, options }: { stack: string; out: string; options: BootstrapOptions }): Promise<void> {
  const pulumi: typeof import("@pulumi/pulumi") = require("@pulumi/pulumi");
  const { renameSync, writeFileSync } = require("node:fs") as typeof import("node:fs");
  const project = bootstrapProject().name;
  const { config, secretKeys } = bootstrapConfig(stack, options.overrides);
  const region = config["aws:region"] ?? "eu-west-1";
  pulumi.runtime.setAllConfig(config, secretKeys);

  const resources: MockedResource[] = [];
  await pulumi.runtime.setMocks({
    newResource: async ({ type, name, inputs, custom }) => {
      const { id, state } = mockedState(type, name, inputs);
      resources.push({ type, name, urn: `${type}::${name}`, id, custom: !!custom, inputs, state });
      return { id, state };
    },
    call: ({ token, inputs }) => {
      switch (token) {
        case "aws:index/getCallerIdentity:getCallerIdentity":
          return { id: MOCK_ACCOUNT, accountId: MOCK_ACCOUNT, arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/admin`, userId: "ADMIN" };
        case "aws:index/getPartition:getPartition":
          return { id: "aws", partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
        case "aws:index/getRegion:getRegion":
          return { id: region, name: region, region, endpoint: `ec2.${region}.amazonaws.com`, description: region };
        case "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider": {
          const found = options.existingOidcProviders?.[inputs.arn];
          if (!found) throw new Error(`no OIDC provider ${inputs.arn} in the mocked account`);
          return { id: inputs.arn, arn: inputs.arn, ...found, thumbprintLists: [], tags: {} };
        }
        default:
          throw new Error(`the bootstrap mocks do not answer ${token}; add it to test/bootstrap/evaluate.ts`);
      }
    },
  }, project, stack, false);

  const program = require(BOOTSTRAP_DIR) as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(program)) outputs[name] = await resolved(value);
  const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
  await waitForRPCs();
  const result: EvaluatedStack<MockedResource> = { stack, project, config, resources, outputs };
  // In one step (rename): other test workers may be waiting for this file.
  writeFileSync(`${out}.${process.pid}`, JSON.stringify({ stack: result }));
  renameSync(`${out}.${process.pid}`, out);
}

if (require.main === module) {
  child(JSON.parse(process.argv[2])).then(
    () => process.exit(0),
    (err) => {
      console.error(err?.message || err?.details || String(err), err instanceof Error ? readableStack(err) : "");
      process.exit(1);
    },
  );
}
