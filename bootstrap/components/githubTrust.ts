/**
 * Who may assume a CI role: GitHub's OIDC token, matched on its `aud` and `sub` claims.
 *
 * The `sub` formats are GitHub's ("OpenID Connect reference", Example subject claims,
 * https://docs.github.com/en/actions/reference/security/oidc):
 * - a job that names an environment: `repo:OWNER/REPO:environment:NAME`, whatever branch or event;
 * - a pull_request job without an environment: `repo:OWNER/REPO:pull_request`;
 * - a branch job without an environment, not triggered by a pull request: `repo:OWNER/REPO:ref:refs/heads/BRANCH`.
 * Because an environment job's subject no longer names its branch, a deploy role trusting
 * `environment:production` is only as safe as that environment's deployment-branch rule (see
 * githubDeployments.ts): without it any branch could add `environment: production` to a job.
 */
import * as pulumi from "@pulumi/pulumi";

/** GitHub Actions' token issuer, without the scheme (as IAM names condition keys after it). */
export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";
/** The audience `aws-actions/configure-aws-credentials` asks GitHub for. */
export const STS_AUDIENCE = "sts.amazonaws.com";

/** The subjects a role trusts: exact values, or patterns with `*` (then matched with StringLike). */
export type SubjectMatch = { exactly: string } | { like: string[] };

/** The repository part of every subject: `OWNER/REPO`, or GitHub's immutable `OWNER@ID/REPO@ID`. */
export const environmentSubject = (repository: string, environment: string): SubjectMatch => ({
  exactly: `repo:${repository}:environment:${environment}`,
});

/** Pull requests and pushes to any branch, in jobs that name no environment. */
export const branchAndPullRequestSubjects = (repository: string): SubjectMatch => ({
  like: [`repo:${repository}:pull_request`, `repo:${repository}:ref:refs/heads/*`],
});

/**
 * The trust policy of a role that GitHub Actions assumes with `AssumeRoleWithWebIdentity`. The
 * audience is always matched exactly; an exact subject with StringEquals, so a `*` in it could never
 * widen it; patterns with StringLike.
 */
export function githubTrustPolicy(providerArn: pulumi.Input<string>, subject: SubjectMatch): pulumi.Output<string> {
  const audience = { [`${GITHUB_OIDC_HOST}:aud`]: STS_AUDIENCE };
  const condition =
    "exactly" in subject
      ? { StringEquals: { ...audience, [`${GITHUB_OIDC_HOST}:sub`]: subject.exactly } }
      : { StringEquals: audience, StringLike: { [`${GITHUB_OIDC_HOST}:sub`]: subject.like } };
  return pulumi.jsonStringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "GitHubActionsOidc",
        Effect: "Allow",
        Principal: { Federated: providerArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: condition,
      },
    ],
  });
}
