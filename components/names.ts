/**
 * How the app's resources are named in an account other candidates share: the one home of the
 * candidate rule and the names the bootstrap program (bootstrap/) and the app program agree on.
 * Plain TypeScript, no Pulumi: both programs import it.
 *
 * The bootstrap's deploy roles and permissions boundary reach only names that contain the
 * candidate id (`*<candidate>*`), so every name the app gives, and every name Pulumi generates
 * from a logical name, starts with `<candidate>-<stack>`. The project name is left out of that
 * prefix: an IAM role name is at most 64 characters ("IAM object quotas",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html) and Pulumi adds an
 * 8-character random suffix ("-" and 7 hex digits) to it, so `<32-char candidate>-prod-api-generate-role`
 * plus the suffix is 63; with the project in front it would not fit.
 */

/** Lowercase letters, digits and inner dashes, 1-32 characters: safe in S3 keys, IAM names and ARN patterns (no `*`, `?`, `/`). */
export const CANDIDATE_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/** Throws unless `candidate` matches CANDIDATE_PATTERN. */
export function checkCandidate(candidate: string): string {
  if (!CANDIDATE_PATTERN.test(candidate)) {
    throw new Error(`candidate must be 1-32 lowercase letters, digits or inner dashes (e.g. candidate-42), got "${candidate}"`);
  }
  return candidate;
}

/**
 * The candidate id: the `candidate` setting, or when it is empty (Pulumi.yaml's default) the first
 * segment of the image prefix (`candidate-42/dev` → `candidate-42`), which the exam asks to start
 * with the candidate.
 */
export function candidateOf(settings: { candidate: string; imagePrefix: string }): string {
  const fromPrefix = settings.imagePrefix.split("/").find((segment) => segment !== "");
  if (!fromPrefix)
    throw new Error(
      `imagePrefix must be a non-empty S3 key prefix starting with the candidate id (e.g. candidate-42/dev), got "${settings.imagePrefix}"`,
    );
  // The bootstrap's boundary lets the functions reach pictures under `<bucket>/<candidate>/…` only.
  if (settings.candidate && settings.candidate !== fromPrefix) {
    throw new Error(
      `imagePrefix must start with the candidate id "${settings.candidate}" (the permissions boundary allows pictures under <bucket>/${settings.candidate}/ only), got "${settings.imagePrefix}"`,
    );
  }
  return checkCandidate(fromPrefix);
}

/** The managed policy every role the app creates carries as its permissions boundary (bootstrap creates it). */
export function boundaryPolicyName(project: string, candidate: string): string {
  return `${project}-${candidate}-boundary`;
}

/** `<candidate>-<stack>`: the start of every resource name and the metrics' Service dimension. */
export function resourcePrefix(candidate: string, stack: string): string {
  return `${candidate}-${stack}`;
}
