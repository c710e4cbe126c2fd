/**
 * What the CI roles may do, as IAM statements: reading the app (every role), writing it (the deploy
 * roles), delegating role creation under the permissions boundary (the deploy roles) and the
 * candidate's Pulumi state (each role its own part). Pure functions of the {@link AppScope}: the
 * roles in index.ts attach them, the tests read them.
 *
 * Mutating actions are always named one by one. Only reads use `Get*`, `List*` and `Describe*`, and
 * only for services whose reads return no data the app stores (no S3 objects, no log events); IAM
 * reads are named one by one too.
 */
import * as pulumi from "@pulumi/pulumi";
import type { PolicyStatement } from "../../components/policy";
import type { AppScope } from "./appScope";

/** The IAM actions that give a role permissions: each one is allowed only with the boundary attached. */
export const BOUNDED_ROLE_ACTIONS = [
  "iam:CreateRole",
  "iam:PutRolePermissionsBoundary",
  "iam:AttachRolePolicy",
  "iam:DetachRolePolicy",
  "iam:PutRolePolicy",
  "iam:DeleteRolePolicy",
] as const;

/** Managing the app's roles and policies beyond their permissions (no `iam:PermissionsBoundary` key exists for these). */
const ROLE_UPKEEP_ACTIONS = [
  "iam:DeleteRole",
  "iam:TagRole",
  "iam:UntagRole",
  "iam:UpdateRole",
  "iam:UpdateRoleDescription",
  "iam:UpdateAssumeRolePolicy",
];
const POLICY_ACTIONS = [
  "iam:CreatePolicy",
  "iam:DeletePolicy",
  "iam:CreatePolicyVersion",
  "iam:DeletePolicyVersion",
  "iam:SetDefaultPolicyVersion",
  "iam:TagPolicy",
  "iam:UntagPolicy",
];

/** Every IAM action a deploy role is allowed that changes something: none may touch the bootstrap's own roles and policies. */
export const IAM_WRITE_ACTIONS = [...BOUNDED_ROLE_ACTIONS, ...ROLE_UPKEEP_ACTIONS, ...POLICY_ACTIONS, "iam:PassRole"];

const IAM_READ_ACTIONS = [
  "iam:GetRole",
  "iam:GetRolePolicy",
  "iam:ListRolePolicies",
  "iam:ListAttachedRolePolicies",
  "iam:ListRoleTags",
  "iam:ListInstanceProfilesForRole",
  "iam:GetPolicy",
  "iam:GetPolicyVersion",
  "iam:ListPolicyVersions",
  "iam:ListPolicyTags",
];

/**
 * Bucket-level reads of the buckets a stack may create for itself (never object reads: `s3:Get*`
 * would include GetObject). The IAM names of the GetBucket*Configuration APIs differ from the API names.
 * s3:ListBucket is what HeadBucket needs ("To use this operation, you must have permissions to perform
 * the s3:ListBucket action", https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html), and
 * the provider's bucket resource calls HeadBucket to read the bucket and to wait for its creation and
 * deletion (hashicorp/terraform-provider-aws, internal/service/s3/bucket.go, `findBucket`).
 */
const S3_BUCKET_READ_ACTIONS = [
  "s3:ListBucket",
  "s3:GetBucket*",
  "s3:GetEncryptionConfiguration",
  "s3:GetLifecycleConfiguration",
  "s3:GetReplicationConfiguration",
  "s3:GetAccelerateConfiguration",
  "s3:GetIntelligentTieringConfiguration",
];

/** The API Gateway paths the app's APIs live under (HTTP APIs, REST APIs, usage plans, API keys, tags); never `/account`. */
export const API_GATEWAY_PATHS = [
  "/apis",
  "/apis/*",
  "/restapis",
  "/restapis/*",
  "/usageplans",
  "/usageplans/*",
  "/apikeys",
  "/apikeys/*",
  "/tags/*",
];

const apiGatewayArns = (scope: AppScope) =>
  API_GATEWAY_PATHS.map((path) => pulumi.interpolate`arn:${scope.partition}:apigateway:${scope.region}::${path}`);

/**
 * Reading everything the app program manages, which `pulumi preview`, `pulumi up` (the provider
 * reads what it just wrote) and `npm run model-check` (GetFoundationModel, before every preview and
 * up) need. The Bedrock agreement reads back `aws.bedrockfoundation.getModelAgreementOffers`.
 */
export function readStatements(scope: AppScope): PolicyStatement[] {
  const names = scope.namePattern;
  return [
    {
      Sid: "ReadAppServices",
      Effect: "Allow",
      Action: [
        "lambda:Get*",
        "lambda:List*",
        "sqs:Get*",
        "sqs:List*",
        "sns:Get*",
        "sns:List*",
        "cloudwatch:Describe*",
        "cloudwatch:Get*",
        "cloudwatch:List*",
        // No logs:Get*: GetLogEvents would read the functions' logs.
        "logs:Describe*",
        "logs:List*",
      ],
      Resource: "*",
    },
    { Sid: "ReadApis", Effect: "Allow", Action: ["apigateway:GET"], Resource: apiGatewayArns(scope) },
    {
      Sid: "ReadAppIam",
      Effect: "Allow",
      Action: IAM_READ_ACTIONS,
      Resource: [scope.iamArn(`role/${names}`), scope.iamArn(`policy/${names}`)],
    },
    { Sid: "ReadAppBuckets", Effect: "Allow", Action: S3_BUCKET_READ_ACTIONS, Resource: scope.s3Arn(names) },
    { Sid: "ReadModels", Effect: "Allow", Action: ["bedrock:GetFoundationModel"], Resource: scope.foundationModelsArn },
    {
      Sid: "ReadModelAgreements",
      Effect: "Allow",
      Action: ["bedrock:ListFoundationModelAgreementOffers", "bedrock:GetFoundationModelAvailability", "aws-marketplace:ViewSubscriptions"],
      Resource: "*",
    },
  ];
}

/**
 * Creating, changing and deleting what the app program creates: functions and their event sources,
 * queues, topics, log groups, alarms, dashboards, REST APIs with usage plans and API keys, a stack's
 * own bucket, and Bedrock model agreements. Everything with a name is limited to names holding the
 * candidate id. No CloudWatch Logs delivery actions: those are what the deployer of an HTTP API's
 * access logs needs ("Configuring logging for an HTTP API",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging.html), while a REST
 * API stage writes its access logs through the account's CloudWatch role in API Gateway's account
 * settings ("Set up CloudWatch logging for REST APIs",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html), which
 * ApiGatewayLogsRole sets once per account.
 */
export function deployStatements(scope: AppScope, marketplaceProductIds: string[]): PolicyStatement[] {
  const names = scope.namePattern;
  const functions = scope.arn("lambda", `function:${names}`);
  const subscribe: PolicyStatement = {
    Sid: "AcceptModelAgreements",
    Effect: "Allow",
    Action: [
      "bedrock:CreateFoundationModelAgreement",
      "bedrock:DeleteFoundationModelAgreement",
      "aws-marketplace:Subscribe",
      "aws-marketplace:Unsubscribe",
    ],
    Resource: "*",
  };
  // Bedrock's model-access guide limits marketplace subscriptions by product id this way.
  if (marketplaceProductIds.length)
    subscribe.Condition = { "ForAnyValue:StringEquals": { "aws-marketplace:ProductId": marketplaceProductIds } };
  return [
    {
      Sid: "ManageFunctions",
      Effect: "Allow",
      Action: [
        "lambda:CreateFunction",
        "lambda:DeleteFunction",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        "lambda:PublishVersion",
        "lambda:AddPermission",
        "lambda:RemovePermission",
        "lambda:TagResource",
        "lambda:UntagResource",
        "lambda:PutFunctionConcurrency",
        "lambda:DeleteFunctionConcurrency",
      ],
      Resource: functions,
    },
    {
      // Event source mappings have generated ids; Lambda's lambda:FunctionArn key ties them to our functions
      // (https://docs.aws.amazon.com/lambda/latest/dg/lambda-api-permissions-ref.html).
      Sid: "ManageEventSources",
      Effect: "Allow",
      Action: ["lambda:CreateEventSourceMapping", "lambda:UpdateEventSourceMapping", "lambda:DeleteEventSourceMapping"],
      Resource: "*",
      Condition: { StringLike: { "lambda:FunctionArn": functions } },
    },
    {
      Sid: "ManageQueues",
      Effect: "Allow",
      Action: ["sqs:CreateQueue", "sqs:DeleteQueue", "sqs:SetQueueAttributes", "sqs:TagQueue", "sqs:UntagQueue"],
      Resource: scope.arn("sqs", names),
    },
    {
      Sid: "ManageTopics",
      Effect: "Allow",
      Action: [
        "sns:CreateTopic",
        "sns:DeleteTopic",
        "sns:SetTopicAttributes",
        "sns:Subscribe",
        "sns:Unsubscribe",
        "sns:SetSubscriptionAttributes",
        "sns:TagResource",
        "sns:UntagResource",
      ],
      Resource: scope.arn("sns", names),
    },
    {
      Sid: "ManageLogGroups",
      Effect: "Allow",
      Action: [
        "logs:CreateLogGroup",
        "logs:DeleteLogGroup",
        "logs:PutRetentionPolicy",
        "logs:DeleteRetentionPolicy",
        "logs:TagResource",
        "logs:UntagResource",
        "logs:TagLogGroup",
        "logs:UntagLogGroup",
      ],
      Resource: [scope.arn("logs", `log-group:${names}`), scope.arn("logs", `log-group:${names}:*`)],
    },
    {
      Sid: "ManageAlarms",
      Effect: "Allow",
      Action: ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource"],
      Resource: scope.arn("cloudwatch", `alarm:${names}`),
    },
    {
      Sid: "ManageDashboards",
      Effect: "Allow",
      Action: ["cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"],
      Resource: scope.arnIn("", "cloudwatch", `dashboard/${names}`),
    },
    // API ids are generated, so the APIs cannot be limited by name; the account settings (/account) stay out of reach.
    {
      Sid: "ManageApis",
      Effect: "Allow",
      Action: ["apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"],
      Resource: apiGatewayArns(scope),
    },
    {
      Sid: "ManageOwnBuckets",
      Effect: "Allow",
      Action: [
        "s3:CreateBucket",
        "s3:DeleteBucket",
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketOwnershipControls",
        "s3:PutEncryptionConfiguration",
        "s3:PutBucketTagging",
        "s3:PutBucketVersioning",
      ],
      Resource: scope.s3Arn(names),
    },
    subscribe,
  ];
}

/**
 * Creating the app's roles, only ever carrying the boundary: AWS's pattern for delegating role
 * creation ("Permissions boundaries for IAM entities", delegating responsibility to others,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html): grant the
 * role-permission actions only with `iam:PermissionsBoundary` equal to the boundary, deny editing the
 * boundary policy and deny removing boundaries. On top of it, nothing here may touch the bootstrap's
 * own roles and policies (`protectedArns`): otherwise the dev role could, say, rewrite the prod
 * role's trust policy. The `iam:PermissionsBoundary` key applies to exactly BOUNDED_ROLE_ACTIONS
 * (Service Authorization Reference, IAM,
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html).
 */
export function iamDelegationStatements(
  scope: AppScope,
  boundaryArn: pulumi.Input<string>,
  protectedArns: pulumi.Input<string>[],
): PolicyStatement[] {
  const roles = scope.iamArn(`role/${scope.namePattern}`);
  return [
    {
      Sid: "CreateOrChangeRolesOnlyWithBoundary",
      Effect: "Allow",
      Action: [...BOUNDED_ROLE_ACTIONS],
      Resource: roles,
      Condition: { StringEquals: { "iam:PermissionsBoundary": boundaryArn } },
    },
    { Sid: "KeepUpAppRoles", Effect: "Allow", Action: ROLE_UPKEEP_ACTIONS, Resource: roles },
    {
      Sid: "ManageAppPolicies",
      Effect: "Allow",
      Action: POLICY_ACTIONS,
      Resource: scope.iamArn(`policy/${scope.namePattern}`),
    },
    {
      Sid: "PassAppRolesToLambda",
      Effect: "Allow",
      Action: ["iam:PassRole"],
      Resource: roles,
      Condition: { StringEquals: { "iam:PassedToService": "lambda.amazonaws.com" } },
    },
    {
      Sid: "NoBoundaryRemoval",
      Effect: "Deny",
      Action: ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"],
      Resource: "*",
    },
    {
      Sid: "NoBoundaryPolicyEdit",
      Effect: "Deny",
      Action: ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"],
      Resource: boundaryArn,
    },
    { Sid: "NoChangesToTheCiRolesAndPolicies", Effect: "Deny", Action: IAM_WRITE_ACTIONS, Resource: protectedArns },
  ];
}

/** Which of the candidate's state objects a role reaches. */
export type StateAccess = { read: "app" } | { readWrite: string };

/**
 * The candidate's Pulumi state: `s3://<bucket>/<candidate>/.pulumi/` holds `meta.yaml` and, per
 * project and stack, `stacks/<project>/<stack>.json`, `locks/organization/<project>/<stack>/` (the
 * stack's fully qualified name, pkg/backend/diy/lock.go),
 * `history/<project>/<stack>/` and `backups/<project>/<stack>/` ("Using a DIY backend",
 * https://www.pulumi.com/docs/iac/operations/stack-management/using-a-diy-backend/: the S3 backend
 * needs ListBucket, GetObject, PutObject and DeleteObject, and nothing more).
 * - `{ read: "app" }` (preview): reads every stack of the app project and writes lock files only,
 *   because `pulumi preview` locks the stack while it runs.
 * - `{ readWrite: stack }` (a deploy role): reads and writes that one stack's objects; the other
 *   stack's state (and the bootstrap's own) stays out of reach.
 */
export function stateStatements(scope: AppScope, access: StateAccess): PolicyStatement[] {
  const bucket = scope.s3Arn(scope.stateBucket);
  const under = (path: string) => scope.s3Arn(`${scope.stateBucket}/${scope.stateKeyPrefix}/${path}`);
  const list: PolicyStatement = {
    Sid: "ListCandidateState",
    Effect: "Allow",
    Action: ["s3:ListBucket"],
    Resource: bucket,
    Condition: { StringLike: { "s3:prefix": [scope.candidate, `${scope.candidate}/*`] } },
  };
  const meta: PolicyStatement = {
    Sid: "ReadBackendMetadata",
    Effect: "Allow",
    Action: ["s3:GetObject"],
    Resource: under("meta.yaml"),
  };
  if ("read" in access) {
    return [
      list,
      meta,
      { Sid: "ReadAppStacks", Effect: "Allow", Action: ["s3:GetObject"], Resource: under(`*/${scope.appProject}/*`) },
      {
        Sid: "LockAppStacks",
        Effect: "Allow",
        Action: ["s3:PutObject", "s3:DeleteObject"],
        Resource: under(`locks/*${scope.appProject}/*`),
      },
    ];
  }
  return [
    list,
    meta,
    {
      Sid: "ReadWriteOwnStack",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
      Resource: under(`*/${scope.appProject}/${access.readWrite}*`),
    },
  ];
}
