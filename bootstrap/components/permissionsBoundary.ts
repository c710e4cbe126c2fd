import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument, type PolicyStatement } from "../../components/policy";
import { MARKER_SUFFIX } from "../../runtime/keys";
import type { AppScope } from "./appScope";

/** Arguments of {@link PermissionsBoundary}. */
export interface PermissionsBoundaryArgs {
  scope: AppScope;
  /** Name of the managed policy; the deploy roles' conditions compare against its ARN. */
  policyName: string;
}

/**
 * The most any role the deploy roles create can ever do, whatever policies they attach to it: what
 * the app's functions need (their own logs, the candidate's pictures, the candidate's queues,
 * invoking Bedrock models), and never the Pulumi state. A boundary grants nothing by itself
 * ("Permissions boundaries for IAM entities", https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html):
 * a role's effective permissions are its policies intersected with this.
 */
export class PermissionsBoundary extends pulumi.ComponentResource {
  public readonly policy: aws.iam.Policy;
  public readonly arn: pulumi.Output<string>;

  constructor(name: string, args: PermissionsBoundaryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("couch-explorers-bootstrap:components:PermissionsBoundary", name, {}, opts);
    this.policy = new aws.iam.Policy(
      `${name}-policy`,
      {
        name: args.policyName,
        description: `Ceiling of every role the ${args.scope.candidate} deploy roles create`,
        policy: policyDocument(boundaryStatements(args.scope)),
      },
      { parent: this },
    );
    this.arn = this.policy.arn;
    this.registerOutputs({ arn: this.arn });
  }
}

export function boundaryStatements(scope: AppScope): PolicyStatement[] {
  const names = scope.namePattern;
  return [
    {
      Sid: "WriteOwnLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: scope.arn("logs", `log-group:${names}:*`),
    },
    {
      Sid: "InvokeModels",
      Effect: "Allow",
      Action: ["bedrock:InvokeModel"],
      Resource: scope.foundationModelsArn,
    },
    // Pictures live under `<bucket>/<candidate>/…` whether in the course's shared bucket or a stack's own one.
    {
      Sid: "CandidatePictures",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject"],
      Resource: scope.s3Arn(`*/${scope.candidate}/*`),
    },
    // The only objects any function deletes: pending-job markers (runtime/keys.ts), whatever the stack's prefix below the candidate.
    {
      Sid: "CandidateJobMarkers",
      Effect: "Allow",
      Action: ["s3:DeleteObject"],
      Resource: scope.s3Arn(`*/${scope.candidate}/*${MARKER_SUFFIX}`),
    },
    {
      Sid: "ListCandidatePictures",
      Effect: "Allow",
      Action: ["s3:ListBucket"],
      Resource: scope.s3Arn("*"),
      Condition: { StringLike: { "s3:prefix": [`${scope.candidate}/*`] } },
    },
    {
      Sid: "CandidateQueues",
      Effect: "Allow",
      Action: ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
      Resource: scope.arn("sqs", names),
    },
    {
      // The state bucket's keys also start with the candidate: no app role may ever reach them.
      Sid: "NeverTheState",
      Effect: "Deny",
      Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"],
      Resource: [scope.s3Arn(scope.stateBucket), scope.s3Arn(`${scope.stateBucket}/*`)],
    },
  ];
}
