/**
 * What the GitHub workflows expect of the bootstrap, in one place: which GitHub environment deploys
 * which app stack (.github/workflows/infra.yml: the `up-dev` job runs in `dev`, `up-prod` in
 * `production`, and only production waits for a reviewer), and the secret names the jobs read.
 */
export const DEPLOYMENTS = [
  { environment: "dev", stack: "dev", reviewed: false },
  { environment: "production", stack: "prod", reviewed: true },
] as const;

export const SECRET_NAMES = {
  /** Repository secret: the preview role, for branch and pull-request jobs. */
  previewRoleArn: "AWS_PREVIEW_ROLE_ARN",
  /** Environment secret: in `dev` the dev deploy role, in `production` the prod one. */
  deployRoleArn: "AWS_DEPLOY_ROLE_ARN",
  /** Repository secret: `s3://<state bucket>/<candidate>`. */
  backendUrl: "PULUMI_BACKEND_URL",
  /** Repository secret: the passphrase of the app stacks' secrets provider. */
  configPassphrase: "PULUMI_CONFIG_PASSPHRASE",
} as const;
