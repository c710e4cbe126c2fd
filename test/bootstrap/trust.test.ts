// Who may assume the CI roles: the exact trust policies, what they mean for real GitHub subjects,
// and the switch that adopts an account's existing OIDC provider instead of creating one.
import assert from "node:assert/strict";
import { ofType } from "../../tools/query";
import type { EvaluatedStack, MockedResource } from "../../tools/stack";
import { evaluateBootstrap, MOCK_ACCOUNT, runBootstrap, runBootstrapInBackground, type BootstrapOptions } from "./evaluate";
import { decide, roleNamed, statementsOf } from "./iam-eval";

const REPO = "couch-explorers/couch-explorers-images";
const PROVIDER = `arn:aws:iam::${MOCK_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
const ROLES = {
  preview: "couch-explorers-candidate-42-ci-preview",
  dev: "couch-explorers-candidate-42-ci-deploy-dev",
  prod: "couch-explorers-candidate-42-ci-deploy-prod",
};

/** Adopting the account's existing provider (PROVIDER) that answers as `found`. */
const adopting = (found: { url: string; clientIdLists: string[] }, overrides: Record<string, unknown> = {}): BootstrapOptions => ({
  overrides: { githubOidcProviderArn: PROVIDER, ...overrides },
  existingOidcProviders: { [PROVIDER]: found },
});
const ADOPTED = {
  github: adopting(
    { url: "token.actions.githubusercontent.com", clientIdLists: ["sts.amazonaws.com"] },
    { oidcSubjectRepository: "couch-explorers@4242/couch-explorers-images@987654" },
  ),
  gitlab: adopting({ url: "gitlab.com", clientIdLists: ["sts.amazonaws.com"] }),
  noAudience: adopting({
    url: "https://token.actions.githubusercontent.com",
    clientIdLists: ["https://github.com/couch-explorers"],
  }),
};
// The course stack and the adopting variants below, started when the file loads (one child evaluates them in turn).
runBootstrapInBackground([{}, ...Object.values(ADOPTED)].map((options) => ["course", options]));

const trustOf = (stack: EvaluatedStack<MockedResource>, roleName: string) => JSON.parse(roleNamed(stack, roleName).inputs.assumeRolePolicy);

/** The trust document a role must have, written out in full. */
function expectedTrust(provider: string, condition: Record<string, Record<string, string | string[]>>) {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "GitHubActionsOidc",
        Effect: "Allow",
        Principal: { Federated: provider },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: condition,
      },
    ],
  };
}

/** Whether a GitHub token with this audience and subject may assume the role. */
const admits = (stack: EvaluatedStack<MockedResource>, roleName: string, sub: string, aud = "sts.amazonaws.com") =>
  decide(statementsOf(roleNamed(stack, roleName).inputs.assumeRolePolicy), {
    action: "sts:AssumeRoleWithWebIdentity",
    context: { "token.actions.githubusercontent.com:aud": aud, "token.actions.githubusercontent.com:sub": sub },
  }) === "allow";

describe("bootstrap: who may assume the CI roles", function () {
  this.timeout(120000);
  let stack: EvaluatedStack<MockedResource>;
  before(() => {
    stack = evaluateBootstrap();
  });

  it("creates GitHub's OIDC provider with the sts.amazonaws.com audience (and no thumbprint)", () => {
    const [provider, ...others] = ofType(stack, "aws:iam/openIdConnectProvider:OpenIdConnectProvider");
    assert.equal(others.length, 0);
    assert.deepEqual(provider.inputs, {
      url: "https://token.actions.githubusercontent.com",
      clientIdLists: ["sts.amazonaws.com"],
    });
    assert.equal(stack.outputs.githubOidcProviderArn, PROVIDER);
  });

  it("trusts the dev deploy role to the dev environment alone, both claims with StringEquals", () => {
    assert.deepEqual(
      trustOf(stack, ROLES.dev),
      expectedTrust(PROVIDER, {
        StringEquals: {
          "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
          "token.actions.githubusercontent.com:sub": `repo:${REPO}:environment:dev`,
        },
      }),
    );
  });

  it("trusts the prod deploy role to the production environment alone, both claims with StringEquals", () => {
    assert.deepEqual(
      trustOf(stack, ROLES.prod),
      expectedTrust(PROVIDER, {
        StringEquals: {
          "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
          "token.actions.githubusercontent.com:sub": `repo:${REPO}:environment:production`,
        },
      }),
    );
  });

  it("trusts the preview role to pull requests and branch pushes: the audience with StringEquals, the subjects with StringLike", () => {
    assert.deepEqual(
      trustOf(stack, ROLES.preview),
      expectedTrust(PROVIDER, {
        StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" },
        StringLike: {
          "token.actions.githubusercontent.com:sub": [`repo:${REPO}:pull_request`, `repo:${REPO}:ref:refs/heads/*`],
        },
      }),
    );
  });

  it("admits exactly the subjects GitHub gives each kind of job", () => {
    const cases: [string, Record<keyof typeof ROLES, boolean>][] = [
      [`repo:${REPO}:environment:dev`, { preview: false, dev: true, prod: false }],
      [`repo:${REPO}:environment:production`, { preview: false, dev: false, prod: true }],
      // A job in an environment is named by the environment whatever its branch: only the
      // environment's branch rule (github.test.ts) keeps feature branches out of it.
      [`repo:${REPO}:pull_request`, { preview: true, dev: false, prod: false }],
      [`repo:${REPO}:ref:refs/heads/main`, { preview: true, dev: false, prod: false }],
      [`repo:${REPO}:ref:refs/heads/feature/login`, { preview: true, dev: false, prod: false }],
      [`repo:${REPO}:ref:refs/tags/v1.0.0`, { preview: false, dev: false, prod: false }],
      [`repo:${REPO}:environment:Production`, { preview: false, dev: false, prod: false }],
      [`repo:someone-else/couch-explorers-images:environment:production`, { preview: false, dev: false, prod: false }],
      [`repo:${REPO}-fork:pull_request`, { preview: false, dev: false, prod: false }],
    ];
    for (const [sub, expected] of cases) {
      for (const [role, admitted] of Object.entries(expected)) {
        assert.equal(
          admits(stack, ROLES[role as keyof typeof ROLES], sub),
          admitted,
          `${role} ${admitted ? "must" : "must not"} admit ${sub}`,
        );
      }
    }
    for (const role of Object.values(ROLES)) {
      assert.equal(
        admits(stack, role, `repo:${REPO}:environment:production`, "https://github.com/couch-explorers"),
        false,
        `${role} admits GitHub's default audience`,
      );
    }
  });
});

describe("bootstrap: adopting the account's existing OIDC provider", function () {
  this.timeout(120000);
  const existing = `arn:aws:iam::${MOCK_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;

  it("creates no provider when given one's ARN, and every role trusts that one (immutable subjects when configured)", () => {
    const stack = evaluateBootstrap("course", ADOPTED.github);
    assert.equal(ofType(stack, "aws:iam/openIdConnectProvider:OpenIdConnectProvider").length, 0);
    assert.equal(stack.outputs.githubOidcProviderArn, existing);
    for (const role of Object.values(ROLES)) assert.deepEqual(trustOf(stack, role).Statement[0].Principal, { Federated: existing }, role);
    assert.equal(
      trustOf(stack, ROLES.prod).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"],
      "repo:couch-explorers@4242/couch-explorers-images@987654:environment:production",
    );
  });

  it("refuses a provider of another issuer and one without the sts.amazonaws.com audience", () => {
    const gitlab = runBootstrap("course", ADOPTED.gitlab);
    assert.equal(gitlab.ok, false);
    assert.match(gitlab.error, /is the provider for gitlab\.com, not token\.actions\.githubusercontent\.com/);
    const noAudience = runBootstrap("course", ADOPTED.noAudience);
    assert.equal(noAudience.ok, false);
    assert.match(noAudience.error, /does not accept the audience sts\.amazonaws\.com \(it has: https:\/\/github\.com\/couch-explorers\)/);
  });
});
