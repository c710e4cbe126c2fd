import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { checkCandidate } from "../../components/names";

/** Arguments of {@link appScope}. */
export interface AppScopeArgs {
  /**
   * The candidate id (e.g. `candidate-42`): the first segment of the state prefix and of the
   * pictures' key prefix, and part of every name the app program gives a resource.
   */
  candidate: string;
  /** The app program's Pulumi project name (its `Pulumi.yaml`), which names its state files. */
  appProject: string;
  /** The course's Pulumi state bucket; each candidate's state lives under `<candidate>/` in it. */
  stateBucket: string;
}

/**
 * Where one candidate's app lives in the account: the ARN patterns the CI roles may touch and the
 * candidate's corner of the state bucket. Every ARN is built here, so the roles and the boundary
 * can never disagree about what "this candidate's resources" means.
 */
export interface AppScope {
  candidate: string;
  appProject: string;
  stateBucket: string;
  /** `s3://<stateBucket>/<candidate>`: what `pulumi login` and `PULUMI_BACKEND_URL` take. */
  stateUrl: string;
  accountId: pulumi.Output<string>;
  partition: pulumi.Output<string>;
  region: pulumi.Output<string>;
  /** A name that contains the candidate id: the app names every resource this way (issue 12). */
  namePattern: string;
  /** `arn:<partition>:<service>:<region>:<account>:<resource>`, for the app's own region. */
  arn(service: string, resource: string): pulumi.Output<string>;
  /** `arn:<partition>:<service>:<region>:<account>:<resource>` with an explicit (possibly empty or `*`) region. */
  arnIn(region: string, service: string, resource: string): pulumi.Output<string>;
  /** An IAM ARN in this account (`arn:<partition>:iam::<account>:<resource>`). */
  iamArn(resource: string): pulumi.Output<string>;
  /** An S3 ARN (`arn:<partition>:s3:::<path>`). */
  s3Arn(path: string): pulumi.Output<string>;
  /** Every Bedrock foundation model, in any region (`arn:<partition>:bedrock:*::foundation-model/*`). */
  foundationModelsArn: pulumi.Output<string>;
  /** Key prefix of every state object of this candidate: `<candidate>/.pulumi`. */
  stateKeyPrefix: string;
}

export function appScope(args: AppScopeArgs): AppScope {
  // The app program checks its candidate with the same rule (components/names.ts).
  checkCandidate(args.candidate);
  const identity = aws.getCallerIdentityOutput();
  const partition = aws.getPartitionOutput().partition;
  const region = aws.getRegionOutput().region;
  const arnIn = (where: string, service: string, resource: string) =>
    pulumi.interpolate`arn:${partition}:${service}:${where}:${identity.accountId}:${resource}`;
  return {
    candidate: args.candidate,
    appProject: args.appProject,
    stateBucket: args.stateBucket,
    stateUrl: `s3://${args.stateBucket}/${args.candidate}`,
    accountId: identity.accountId,
    partition,
    region,
    namePattern: `*${args.candidate}*`,
    arn: (service, resource) => pulumi.interpolate`arn:${partition}:${service}:${region}:${identity.accountId}:${resource}`,
    arnIn,
    iamArn: (resource) => arnIn("", "iam", resource),
    s3Arn: (path) => pulumi.interpolate`arn:${partition}:s3:::${path}`,
    foundationModelsArn: pulumi.interpolate`arn:${partition}:bedrock:*::foundation-model/*`,
    stateKeyPrefix: `${args.candidate}/.pulumi`,
  };
}
