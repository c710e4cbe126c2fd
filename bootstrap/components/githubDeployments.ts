import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";

/** One GitHub environment a workflow job deploys through. */
export interface DeploymentEnvironment {
  /** The environment's name, as the workflow job's `environment:` says it. */
  name: string;
  /** User ids (numbers, not logins) who must approve every job in this environment; none means no approval. */
  reviewerUserIds: number[];
  /** Team ids who may approve instead. */
  reviewerTeamIds: number[];
  /** Secrets only jobs in this environment see; they win over repository secrets of the same name. */
  secrets: Record<string, pulumi.Input<string>>;
}

/** Arguments of {@link GithubDeployments}. */
export interface GithubDeploymentsArgs {
  /** The repository's name (its owner is the GitHub provider's). */
  repository: string;
  environments: DeploymentEnvironment[];
  /** The only branch any environment deploys from. */
  deployBranch: string;
  /** Secrets every job of the repository sees. */
  repositorySecrets: Record<string, pulumi.Input<string>>;
  /**
   * Whether whoever started a job is barred from approving it. Off by default: in a one-person
   * repository the only reviewer is the author.
   * @default false
   */
  preventSelfReview?: boolean;
}

/**
 * The repository side of the deploy roles' safety. A job that names an environment gets an OIDC
 * subject `…:environment:<name>` whatever its branch, so only a deployment-branch rule keeps a
 * branch from adding `environment: production` to a job and assuming the prod role: each
 * environment accepts the deploy branch alone, and admins cannot bypass it. Environments with
 * reviewers make their jobs wait for an approval. Secrets scoped to an environment reach only its
 * jobs, after that approval ("Managing environments for deployment",
 * https://docs.github.com/en/actions/managing-workflow-runs-and-deployments/managing-deployments/managing-environments-for-deployment).
 */
export class GithubDeployments extends pulumi.ComponentResource {
  public readonly environments: Record<string, github.RepositoryEnvironment> = {};

  constructor(name: string, args: GithubDeploymentsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("couch-explorers-bootstrap:components:GithubDeployments", name, {}, opts);
    const parent = { parent: this };
    const repository = args.repository;

    for (const env of args.environments) {
      const reviewed = env.reviewerUserIds.length + env.reviewerTeamIds.length > 0;
      const environment = new github.RepositoryEnvironment(
        `${name}-${env.name}`,
        {
          repository,
          environment: env.name,
          canAdminsBypass: false,
          preventSelfReview: reviewed ? (args.preventSelfReview ?? false) : undefined,
          reviewers: reviewed ? [{ users: env.reviewerUserIds, teams: env.reviewerTeamIds }] : undefined,
          // Custom branch policies, not "protected branches": only the names listed below may deploy.
          deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true },
        },
        parent,
      );
      this.environments[env.name] = environment;
      new github.RepositoryEnvironmentDeploymentPolicy(
        `${name}-${env.name}-branch`,
        {
          repository,
          environment: environment.environment,
          branchPattern: args.deployBranch,
        },
        parent,
      );
      for (const [secretName, value] of Object.entries(env.secrets)) {
        new github.ActionsEnvironmentSecret(
          `${name}-${env.name}-${secretName}`,
          {
            repository,
            environment: environment.environment,
            secretName,
            value,
          },
          parent,
        );
      }
    }
    for (const [secretName, value] of Object.entries(args.repositorySecrets)) {
      new github.ActionsSecret(`${name}-${secretName}`, { repository, secretName, value }, parent);
    }
    this.registerOutputs({});
  }
}
