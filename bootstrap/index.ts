/**
 * Bootstrap: what the CI pipelines of one candidate need in an AWS account and a GitHub repository,
 * created once by an admin with `pulumi up` in this folder (README.md here). Nothing is pasted by
 * hand: the OIDC provider, the three CI roles, the boundary on every role the app creates, the
 * GitHub environments and the secrets the workflows read all come from this program.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as github from "@pulumi/github";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { ApiGatewayLogsRole } from "./components/apiGatewayLogsRole";
import { appScope } from "./components/appScope";
import { deployStatements, iamDelegationStatements, readStatements, stateStatements } from "./components/ciAccess";
import { CiRole } from "./components/ciRole";
import { GithubDeployments } from "./components/githubDeployments";
import { GithubOidcProvider } from "./components/githubOidcProvider";
import { branchAndPullRequestSubjects, environmentSubject } from "./components/githubTrust";
import { PermissionsBoundary } from "./components/permissionsBoundary";
import { DEPLOYMENTS, SECRET_NAMES } from "./pipeline";
import { boundaryPolicyName } from "../components/names";
import { policyDocument } from "../components/policy";

const config = new pulumi.Config();
const candidate = config.require("candidate");
const owner = config.require("githubOwner");
const repository = config.require("githubRepository");
// GitHub's immutable subjects (OWNER@ID/REPO@ID) apply to repositories created after 2026-07-15.
const subjectRepository = config.require("oidcSubjectRepository") || `${owner}/${repository}`;

// The app's state files are named after its project: read it where it is declared.
const appProject: string = parse(readFileSync(join(__dirname, "..", "Pulumi.yaml"), "utf8")).name;
const scope = appScope({ candidate, appProject, stateBucket: config.require("stateBucket") });
const names = {
  // The app program names the boundary of its roles with the same function.
  boundary: boundaryPolicyName(appProject, candidate),
  read: `${appProject}-${candidate}-ci-read`,
  preview: `${appProject}-${candidate}-ci-preview`,
  deploy: (stack: string) => `${appProject}-${candidate}-ci-deploy-${stack}`,
};

// One provider per account and issuer: a second candidate in the same account adopts the first one's.
const oidc = new GithubOidcProvider("github-oidc", {
  existingProviderArn: config.require("githubOidcProviderArn") || undefined,
});

// Every role a deploy role creates must carry this; the deploy roles can neither edit nor remove it.
const boundary = new PermissionsBoundary("app-boundary", { scope, policyName: names.boundary });

// Reading the app (and the model-check before every preview and up) is common to all three roles.
const read = new aws.iam.Policy("ci-read", { name: names.read, policy: policyDocument(readStatements(scope)) });

const preview = new CiRole("preview", {
  roleName: names.preview,
  description: `pulumi preview of ${appProject} (${candidate}) from branches and pull requests: read-only`,
  providerArn: oidc.arn,
  subject: branchAndPullRequestSubjects(subjectRepository),
  policies: { state: { name: `${names.preview}-state`, statements: stateStatements(scope, { read: "app" }) } },
  sharedPolicyArns: { read: read.arn },
});

// The CI's own roles and policies: no deploy role may change any of them (nor itself).
const policiesOf = (role: string) => [`${role}-state`, `${role}-app`, `${role}-iam`];
const protectedArns = [
  ...[names.preview, ...DEPLOYMENTS.map((d) => names.deploy(d.stack))].map((role) => scope.iamArn(`role/${role}`)),
  ...[names.boundary, names.read, `${names.preview}-state`, ...DEPLOYMENTS.flatMap((d) => policiesOf(names.deploy(d.stack)))].map(
    (policy) => scope.iamArn(`policy/${policy}`),
  ),
];

// One deploy role per environment, each trusting only jobs in that environment (which only main may deploy).
const deployRoles = Object.fromEntries(
  DEPLOYMENTS.map((d) => {
    const roleName = names.deploy(d.stack);
    const [state, app, iam] = policiesOf(roleName);
    return [
      d.stack,
      new CiRole(`deploy-${d.stack}`, {
        roleName,
        description: `pulumi up of the ${d.stack} stack of ${appProject} (${candidate}) from the ${d.environment} environment`,
        providerArn: oidc.arn,
        subject: environmentSubject(subjectRepository, d.environment),
        policies: {
          state: { name: state, statements: stateStatements(scope, { readWrite: d.stack }) },
          app: {
            name: app,
            statements: deployStatements(scope, config.requireObject<string[]>("marketplaceProductIds")),
          },
          iam: { name: iam, statements: iamDelegationStatements(scope, boundary.arn, protectedArns) },
        },
        sharedPolicyArns: { read: read.arn },
      }),
    ];
  }),
);

// REST API stages log only once the account names a CloudWatch role: one per account, so opt-in.
const apiGatewayLogs = config.requireBoolean("manageApiGatewayLogsRole")
  ? new ApiGatewayLogsRole("apigateway-logs", { roleName: `${appProject}-apigateway-cloudwatch-logs` })
  : undefined;

// The repository: environments deployable from the deploy branch only, reviewers on production,
// and the secrets the workflows read.
const reviewerUserIds = config.requireObject<number[]>("productionReviewerUserIds");
const reviewerTeamIds = config.requireObject<number[]>("productionReviewerTeamIds");
if (reviewerUserIds.length + reviewerTeamIds.length === 0) {
  throw new Error("production needs at least one required reviewer: set productionReviewerUserIds or productionReviewerTeamIds");
}
new GithubDeployments(
  "repository",
  {
    repository,
    deployBranch: config.require("deployBranch"),
    preventSelfReview: config.requireBoolean("preventSelfReview"),
    environments: DEPLOYMENTS.map((d) => ({
      name: d.environment,
      reviewerUserIds: d.reviewed ? reviewerUserIds : [],
      reviewerTeamIds: d.reviewed ? reviewerTeamIds : [],
      secrets: { [SECRET_NAMES.deployRoleArn]: deployRoles[d.stack].arn },
    })),
    repositorySecrets: {
      [SECRET_NAMES.previewRoleArn]: preview.arn,
      [SECRET_NAMES.backendUrl]: scope.stateUrl,
      [SECRET_NAMES.configPassphrase]: config.requireSecret("appStacksPassphrase"),
    },
  },
  { providers: [new github.Provider("github", { owner })] },
);

export const githubOidcProviderArn = oidc.arn;
export const previewRoleArn = preview.arn;
export const devDeployRoleArn = deployRoles.dev.arn;
export const prodDeployRoleArn = deployRoles.prod.arn;
export const permissionsBoundaryArn = boundary.arn;
export const stateUrl = scope.stateUrl;
export const apiGatewayLogsRoleArn = apiGatewayLogs?.role.arn;
