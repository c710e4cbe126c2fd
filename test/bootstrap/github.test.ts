// The repository side: environments deployable from main only, reviewers on production, the
// secrets the workflows read (checked against .github/workflows/infra.yml itself), the outputs,
// the optional account-level API Gateway logging role, and config the program refuses.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";
import { DEPLOYMENTS } from "../../bootstrap/pipeline";
import { ofType, TYPES } from "../../tools/query";
import type { MockedResource, EvaluatedStack } from "../../tools/stack";
import {
  evaluateBootstrap,
  MOCK_ACCOUNT,
  runBootstrap,
  runBootstrapInBackground,
  TEST_PASSPHRASE,
  type BootstrapOptions,
} from "./evaluate";
import { roleNamed } from "./iam-eval";

const GH = {
  environment: "github:index/repositoryEnvironment:RepositoryEnvironment",
  branchPolicy: "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy",
  environmentSecret: "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret",
  secret: "github:index/actionsSecret:ActionsSecret",
  provider: "pulumi:providers:github",
};
const REPOSITORY = "couch-explorers-images";
const roleArn = (name: string) => `arn:aws:iam::${MOCK_ACCOUNT}:role/couch-explorers-candidate-42-ci-${name}`;

/** A secret's value as the mocks saw it (Pulumi secrets arrive wrapped). */
const plain = (value: any): unknown => (value && typeof value === "object" && "value" in value ? value.value : value);
const secretsOf = (resources: MockedResource[]) => Object.fromEntries(resources.map((s) => [s.inputs.secretName, plain(s.inputs.value)]));

/** The course stack's option sets evaluated below besides its own, all started when the file loads (one child evaluates them in turn). */
const VARIANTS = {
  apiGatewayLogsRole: {
    overrides: {
      manageApiGatewayLogsRole: true,
      productionReviewerUserIds: [],
      productionReviewerTeamIds: [77],
      preventSelfReview: true,
    },
  },
  marketplace: { overrides: { marketplaceProductIds: ["prod-abc123"] } },
  otherCandidate: { overrides: { candidate: "candidate-7" } },
  noReviewer: { overrides: { productionReviewerUserIds: [], productionReviewerTeamIds: [] } },
  wildcardCandidate: { overrides: { candidate: "candidate-*" } },
} satisfies Record<string, BootstrapOptions>;
runBootstrapInBackground([{}, ...Object.values(VARIANTS)].map((options) => ["course", options]));

describe("bootstrap: the GitHub repository", function () {
  this.timeout(120000);
  let stack: EvaluatedStack<MockedResource>;
  before(() => {
    stack = evaluateBootstrap();
  });

  it("manages the configured repository's owner through its own GitHub provider", () => {
    const [provider, ...others] = ofType(stack, GH.provider);
    assert.equal(others.length, 0);
    assert.equal(provider.inputs.owner, "couch-explorers");
  });

  it("creates dev and production, each deployable from main only, admins included", () => {
    const environments = ofType(stack, GH.environment);
    assert.deepEqual(environments.map((e) => e.inputs.environment).sort(), ["dev", "production"]);
    for (const env of environments) {
      assert.equal(env.inputs.repository, REPOSITORY);
      assert.equal(env.inputs.canAdminsBypass, false, env.inputs.environment);
      assert.deepEqual(env.inputs.deploymentBranchPolicy, { protectedBranches: false, customBranchPolicies: true }, env.inputs.environment);
      const policies = ofType(stack, GH.branchPolicy).filter((p) => p.inputs.environment === env.inputs.environment);
      assert.deepEqual(
        policies.map((p) => p.inputs),
        [{ repository: REPOSITORY, environment: env.inputs.environment, branchPattern: "main" }],
      );
    }
  });

  it("requires the configured reviewers on production and none on dev", () => {
    const byName = Object.fromEntries(ofType(stack, GH.environment).map((e) => [e.inputs.environment, e.inputs]));
    assert.deepEqual(byName.production.reviewers, [{ users: [1234567], teams: [] }]);
    assert.equal(byName.production.preventSelfReview, false);
    assert.equal(byName.dev.reviewers, undefined);
  });

  it("stores each deploy role's ARN in its own environment and the rest as repository secrets", () => {
    const inEnvironment = (env: string) => secretsOf(ofType(stack, GH.environmentSecret).filter((s) => s.inputs.environment === env));
    assert.deepEqual(inEnvironment("dev"), { AWS_DEPLOY_ROLE_ARN: roleArn("deploy-dev") });
    assert.deepEqual(inEnvironment("production"), { AWS_DEPLOY_ROLE_ARN: roleArn("deploy-prod") });
    assert.deepEqual(secretsOf(ofType(stack, GH.secret)), {
      AWS_PREVIEW_ROLE_ARN: roleArn("preview"),
      PULUMI_BACKEND_URL: "s3://pgr301-2024-terraform-state/candidate-42",
      PULUMI_CONFIG_PASSPHRASE: TEST_PASSPHRASE,
    });
    for (const s of [...ofType(stack, GH.secret), ...ofType(stack, GH.environmentSecret)]) assert.equal(s.inputs.repository, REPOSITORY);
  });

  it("provides every secret infra.yml reads to the job that reads it, and its environments deploy the stacks bootstrap scoped them to", () => {
    const workflow = parse(readFileSync(resolve(__dirname, "../../.github/workflows/infra.yml"), "utf8"));
    const referenced = (value: unknown) => [...JSON.stringify(value ?? {}).matchAll(/secrets\.([A-Z0-9_]+)/g)].map((m) => m[1]);
    const repositoryLevel = new Set(ofType(stack, GH.secret).map((s) => s.inputs.secretName));
    let checked = 0;
    for (const [id, job] of Object.entries<any>(workflow.jobs)) {
      if (job.uses) continue; // a reusable workflow gets only what it is passed
      const environment: string | undefined = typeof job.environment === "string" ? job.environment : job.environment?.name;
      const environmentLevel = new Set(
        ofType(stack, GH.environmentSecret)
          .filter((s) => s.inputs.environment === environment)
          .map((s) => s.inputs.secretName),
      );
      for (const name of new Set([...referenced(workflow.env), ...referenced(job)])) {
        if (name === "GITHUB_TOKEN") continue; // provided by Actions
        assert.ok(
          repositoryLevel.has(name) || environmentLevel.has(name),
          `job ${id} reads secrets.${name}, which bootstrap does not provide to it`,
        );
        checked++;
      }
      if (environment) {
        const deployment = DEPLOYMENTS.find((d) => d.environment === environment);
        assert.ok(deployment, `job ${id} runs in environment ${environment}, which bootstrap does not create`);
        const stackNames = (job.steps ?? []).map((s: any) => s.with?.["stack-name"]).filter(Boolean);
        assert.deepEqual(stackNames, [deployment.stack], `job ${id} in ${environment} must deploy the ${deployment.stack} stack`);
      }
    }
    assert.ok(checked >= 5, `only ${checked} secret uses found`);
  });

  it("exports the role ARNs, the boundary ARN and the state URL", () => {
    assert.deepEqual(stack.outputs, {
      githubOidcProviderArn: `arn:aws:iam::${MOCK_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`,
      previewRoleArn: roleArn("preview"),
      devDeployRoleArn: roleArn("deploy-dev"),
      prodDeployRoleArn: roleArn("deploy-prod"),
      permissionsBoundaryArn: `arn:aws:iam::${MOCK_ACCOUNT}:policy/couch-explorers-candidate-42-boundary`,
      stateUrl: "s3://pgr301-2024-terraform-state/candidate-42",
    });
  });
});

describe("bootstrap: options and refusals", function () {
  this.timeout(120000);

  it("with manageApiGatewayLogsRole, gives API Gateway its CloudWatch role in the account settings; team reviewers and self-review rules pass through", () => {
    const stack = evaluateBootstrap("course", VARIANTS.apiGatewayLogsRole);
    const role = roleNamed(stack, "couch-explorers-apigateway-cloudwatch-logs");
    assert.deepEqual(JSON.parse(role.inputs.assumeRolePolicy).Statement, [
      { Effect: "Allow", Principal: { Service: "apigateway.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
    const attachments = ofType(stack, TYPES.attachment).filter((a) => a.inputs.role === role.inputs.name);
    assert.deepEqual(
      attachments.map((a) => a.inputs.policyArn),
      ["arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"],
    );
    const [account, ...more] = ofType(stack, "aws:apigateway/account:Account");
    assert.equal(more.length, 0);
    assert.equal(account.inputs.cloudwatchRoleArn, role.state.arn);
    assert.equal(stack.outputs.apiGatewayLogsRoleArn, role.state.arn);
    const production = ofType(stack, GH.environment).find((e) => e.inputs.environment === "production")!;
    assert.deepEqual(production.inputs.reviewers, [{ users: [], teams: [77] }]);
    assert.equal(production.inputs.preventSelfReview, true);
    // Off by default: the course account has one such setting for every candidate.
    assert.equal(ofType(evaluateBootstrap(), "aws:apigateway/account:Account").length, 0);
  });

  it("limits Marketplace subscriptions to the configured product ids", () => {
    const stack = evaluateBootstrap("course", VARIANTS.marketplace);
    const app = ofType(stack, TYPES.policy).find((p) => p.inputs.name === "couch-explorers-candidate-42-ci-deploy-prod-app")!;
    const subscribe = JSON.parse(app.inputs.policy).Statement.find((s: any) => s.Action.includes("aws-marketplace:Subscribe"));
    assert.deepEqual(subscribe.Condition, {
      "ForAnyValue:StringEquals": { "aws-marketplace:ProductId": ["prod-abc123"] },
    });
  });

  it("names everything after the candidate, so two candidates in one account share no name", () => {
    const names = (stack: EvaluatedStack<MockedResource>) =>
      stack.resources.filter((r) => r.custom && r.inputs.name).map((r) => r.inputs.name as string);
    const [a, b] = [evaluateBootstrap(), evaluateBootstrap("course", VARIANTS.otherCandidate)].map(names);
    assert.equal(a.length, 12);
    assert.deepEqual(
      a.filter((n) => b.includes(n)),
      [],
    );
    for (const n of b) assert.match(n, /candidate-7/);
  });

  it("refuses production without a reviewer, and a candidate id that is not a plain name", () => {
    const noReviewer = runBootstrap("course", VARIANTS.noReviewer);
    assert.equal(noReviewer.ok, false);
    assert.match(noReviewer.error, /production needs at least one required reviewer/);
    const wildcard = runBootstrap("course", VARIANTS.wildcardCandidate);
    assert.equal(wildcard.ok, false);
    assert.match(
      wildcard.error,
      /candidate must be 1-32 lowercase letters, digits or inner dashes \(e\.g\. candidate-42\), got "candidate-\*"/,
    );
  });
});

describe("bootstrap: the Pulumi project", () => {
  it("names its own entry point, or Pulumi would run the root package.json's main (the app program)", () => {
    const root = JSON.parse(readFileSync(resolve(__dirname, "../../package.json"), "utf8"));
    assert.equal(root.main, "index.ts");
    const project = parse(readFileSync(resolve(__dirname, "../../bootstrap/Pulumi.yaml"), "utf8"));
    assert.equal(project.main, "index.ts");
    assert.equal(project.name, "couch-explorers-bootstrap");
    assert.ok(readFileSync(resolve(__dirname, "../../bootstrap", project.main), "utf8").includes("new GithubOidcProvider("));
  });
});
