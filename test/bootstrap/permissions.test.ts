// What the CI roles may do, asked of their policies with a small IAM evaluator: role creation
// only under the boundary, no way around it, a read-only preview role, each deploy role on its
// own stack's state, and every resource type the app program creates within the deploy roles' reach.
import assert from "node:assert/strict";
import { BOUNDED_ROLE_ACTIONS, IAM_WRITE_ACTIONS } from "../../bootstrap/components/ciAccess";
import { resourcePrefix } from "../../components/names";
import { list, ofType, OWN_BUCKET_OF_ANOTHER_CANDIDATE, TYPES, type Statement } from "../../tools/query";
import { evaluateStack, type EvaluatedStack, type MockedResource } from "../../tools/stack";
import { evaluateBootstrap, MOCK_ACCOUNT } from "./evaluate";
import { allows, decide, permissionsOf, statementsOf, type IamRequest } from "./iam-eval";

const CANDIDATE = "candidate-42";
const REGION = "eu-west-1";
const STATE = `arn:aws:s3:::pgr301-2024-terraform-state/${CANDIDATE}/.pulumi`;
const ROLES = {
  preview: `couch-explorers-${CANDIDATE}-ci-preview`,
  dev: `couch-explorers-${CANDIDATE}-ci-deploy-dev`,
  prod: `couch-explorers-${CANDIDATE}-ci-deploy-prod`,
};
const BOUNDARY = `arn:aws:iam::${MOCK_ACCOUNT}:policy/couch-explorers-${CANDIDATE}-boundary`;
const iam = (path: string) => `arn:aws:iam::${MOCK_ACCOUNT}:${path}`;
const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${MOCK_ACCOUNT}:${resource}`;
const apiPath = (path: string) => `arn:aws:apigateway:${REGION}::${path}`;
const READ_ACTION = /^[a-z0-9-]+:(Get|List|Describe|View)[A-Za-z]*\*?$|^apigateway:GET$/;

/** Names as the app gives them: `<candidate>-<stack>-…` (components/names.ts). */
const appName = (suffix: string, candidate = CANDIDATE) => `${resourcePrefix(candidate, "dev")}-${suffix}`;
const withBoundary = { "iam:PermissionsBoundary": BOUNDARY };

/**
 * The calls that create (and for the main types, change and delete) each resource type the app
 * program may create, on names holding the candidate. A type the app creates and this table does not
 * know fails the coverage test: the deploy roles must be checked for it first.
 */
const CREATES: Record<string, IamRequest[]> = (() => {
  const fn = arn("lambda", `function:${appName("api-generate-1a2b3c4")}`);
  const role = iam(`role/${appName("api-generate-role-1a2b3c4")}`);
  const queue = arn("sqs", appName("jobs-queue-1a2b3c4"));
  const topic = arn("sns", appName("queue-age-topic-1a2b3c4"));
  const logGroup = arn("logs", `log-group:/aws/lambda/${appName("api-generate")}`);
  const bucket = `arn:aws:s3:::${appName("images-bucket-1a2b3c4")}`;
  const api = (method: string, path: string): IamRequest => ({
    action: `apigateway:${method}`,
    resource: apiPath(path),
  });
  return {
    [TYPES.function]: [
      { action: "lambda:CreateFunction", resource: fn },
      { action: "lambda:UpdateFunctionCode", resource: fn },
      { action: "lambda:UpdateFunctionConfiguration", resource: fn },
      { action: "lambda:DeleteFunction", resource: fn },
      { action: "lambda:GetFunction", resource: fn },
      { action: "lambda:ListVersionsByFunction", resource: fn },
      { action: "iam:PassRole", resource: role, context: { "iam:PassedToService": "lambda.amazonaws.com" } },
    ],
    [TYPES.permission]: [
      { action: "lambda:AddPermission", resource: fn },
      { action: "lambda:RemovePermission", resource: fn },
    ],
    [TYPES.eventSourceMapping]: ["Create", "Update", "Delete"].map((verb) => ({
      action: `lambda:${verb}EventSourceMapping`,
      resource: "*",
      context: { "lambda:FunctionArn": fn },
    })),
    [TYPES.role]: [
      { action: "iam:CreateRole", resource: role, context: withBoundary },
      { action: "iam:GetRole", resource: role },
      { action: "iam:DeleteRole", resource: role },
      { action: "iam:ListInstanceProfilesForRole", resource: role },
      { action: "iam:PutRolePermissionsBoundary", resource: role, context: withBoundary },
    ],
    [TYPES.rolePolicy]: [
      { action: "iam:PutRolePolicy", resource: role, context: withBoundary },
      { action: "iam:DeleteRolePolicy", resource: role, context: withBoundary },
    ],
    [TYPES.attachment]: [
      { action: "iam:AttachRolePolicy", resource: role, context: withBoundary },
      { action: "iam:DetachRolePolicy", resource: role, context: withBoundary },
    ],
    [TYPES.policy]: ["CreatePolicy", "CreatePolicyVersion", "DeletePolicyVersion", "DeletePolicy", "GetPolicyVersion"].map((a) => ({
      action: `iam:${a}`,
      resource: iam(`policy/${appName("images-write-1a2b3c4")}`),
    })),
    [TYPES.logGroup]: ["CreateLogGroup", "PutRetentionPolicy", "DeleteLogGroup"].map((a) => ({
      action: `logs:${a}`,
      resource: logGroup,
    })),
    [TYPES.queue]: ["CreateQueue", "SetQueueAttributes", "GetQueueAttributes", "DeleteQueue"].map((a) => ({
      action: `sqs:${a}`,
      resource: queue,
    })),
    [TYPES.topic]: ["CreateTopic", "SetTopicAttributes", "GetTopicAttributes", "DeleteTopic"].map((a) => ({
      action: `sns:${a}`,
      resource: topic,
    })),
    [TYPES.subscription]: [
      { action: "sns:Subscribe", resource: topic },
      { action: "sns:Unsubscribe", resource: `${topic}:0f5e0d2c` },
    ],
    [TYPES.alarm]: [
      {
        action: "cloudwatch:PutMetricAlarm",
        resource: arn("cloudwatch", `alarm:${appName("queue-age-oldest-message-age")}`),
      },
    ],
    [TYPES.dashboard]: [
      {
        action: "cloudwatch:PutDashboard",
        resource: `arn:aws:cloudwatch::${MOCK_ACCOUNT}:dashboard/${appName("overview")}`,
      },
    ],
    // The REST API with its API keys and usage plan.
    "aws:apigateway/restApi:RestApi": [api("POST", "/restapis"), api("PUT", "/restapis/r1s2t3"), api("DELETE", "/restapis/r1s2t3")],
    "aws:apigateway/resource:Resource": [api("POST", "/restapis/r1s2t3/resources/p4r5n6")],
    "aws:apigateway/method:Method": [api("PUT", "/restapis/r1s2t3/resources/p4r5n6/methods/POST")],
    "aws:apigateway/integration:Integration": [api("PUT", "/restapis/r1s2t3/resources/p4r5n6/methods/POST/integration")],
    "aws:apigateway/methodResponse:MethodResponse": [api("PUT", "/restapis/r1s2t3/resources/p4r5n6/methods/POST/responses/200")],
    "aws:apigateway/integrationResponse:IntegrationResponse": [
      api("PUT", "/restapis/r1s2t3/resources/p4r5n6/methods/POST/integration/responses/200"),
    ],
    "aws:apigateway/deployment:Deployment": [api("POST", "/restapis/r1s2t3/deployments")],
    "aws:apigateway/stage:Stage": [api("POST", "/restapis/r1s2t3/stages"), api("PATCH", "/restapis/r1s2t3/stages/prod")],
    "aws:apigateway/methodSettings:MethodSettings": [api("PATCH", "/restapis/r1s2t3/stages/prod")],
    "aws:apigateway/response:Response": [api("PUT", "/restapis/r1s2t3/gatewayresponses/MISSING_AUTHENTICATION_TOKEN")],
    "aws:apigateway/usagePlan:UsagePlan": [api("POST", "/usageplans"), api("PATCH", "/usageplans/u1p2")],
    "aws:apigateway/apiKey:ApiKey": [api("POST", "/apikeys"), api("GET", "/apikeys/k1e2")],
    "aws:apigateway/usagePlanKey:UsagePlanKey": [api("POST", "/usageplans/u1p2/keys")],
    // A stack without a bucket name creates a private bucket of its own.
    [TYPES.bucket]: [
      { action: "s3:CreateBucket", resource: bucket },
      { action: "s3:DeleteBucket", resource: bucket },
      { action: "s3:GetBucketTagging", resource: bucket },
      { action: "s3:ListBucket", resource: bucket },
    ],
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": [{ action: "s3:PutBucketPublicAccessBlock", resource: bucket }],
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": [{ action: "s3:PutBucketOwnershipControls", resource: bucket }],
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": [
      { action: "s3:PutEncryptionConfiguration", resource: bucket },
    ],
    "aws:s3/bucketPolicy:BucketPolicy": [
      { action: "s3:PutBucketPolicy", resource: bucket },
      { action: "s3:DeleteBucketPolicy", resource: bucket },
    ],
    // Accepting a Stability model's Marketplace offer (NOTES: Stability models need the agreement first).
    "aws:bedrockfoundation/modelAgreement:ModelAgreement": [
      { action: "bedrock:ListFoundationModelAgreementOffers", resource: "*" },
      { action: "bedrock:CreateFoundationModelAgreement", resource: "*" },
      { action: "aws-marketplace:Subscribe", resource: "*" },
      { action: "aws-marketplace:ViewSubscriptions", resource: "*" },
      { action: "bedrock:GetFoundationModelAvailability", resource: "*" },
    ],
  };
})();

describe("bootstrap: what the CI roles may do", function () {
  this.timeout(180000);
  let stack: EvaluatedStack<MockedResource>;
  let can: Record<keyof typeof ROLES, Statement[]>;
  before(() => {
    stack = evaluateBootstrap();
    can = {
      preview: permissionsOf(stack, ROLES.preview),
      dev: permissionsOf(stack, ROLES.dev),
      prod: permissionsOf(stack, ROLES.prod),
    };
  });

  const everyDocument = () => [
    ...ofType(stack, TYPES.policy).map((p) => ({
      source: p.inputs.name as string,
      statements: statementsOf(p.inputs.policy),
    })),
    ...ofType(stack, TYPES.role).map((r) => ({
      source: `${r.inputs.name} trust`,
      statements: statementsOf(r.inputs.assumeRolePolicy),
    })),
  ];

  it("never allows iam:* (nor any IAM or mutating action by wildcard), and uses no NotAction or NotResource", () => {
    const documents = everyDocument();
    assert.equal(documents.length, 12, documents.map((d) => d.source).join(", "));
    for (const { source, statements } of documents) {
      for (const s of statements as (Statement & Record<string, unknown>)[]) {
        assert.equal(s.NotAction, undefined, source);
        assert.equal(s.NotResource, undefined, source);
        if (s.Effect !== "Allow") continue;
        for (const action of list(s.Action)) {
          assert.notEqual(action, "*", source);
          if (action.startsWith("iam:")) assert.doesNotMatch(action, /[*?]/, `${source} allows ${action}`);
          // Wildcards only ever complete a read: Get*, List*, Describe*.
          if (/[*?]/.test(action)) assert.match(action, /^[a-z0-9-]+:(Get|List|Describe)[A-Za-z]*\*$/, `${source} allows ${action}`);
        }
      }
    }
  });

  it("allows the actions that give a role permissions only with the boundary attached, in both deploy roles", () => {
    for (const role of ["dev", "prod"] as const) {
      const granting = can[role].filter(
        (s) => s.Effect === "Allow" && list(s.Action).some((a) => (BOUNDED_ROLE_ACTIONS as readonly string[]).includes(a)),
      );
      assert.equal(granting.length, 1, role);
      assert.deepEqual([...list(granting[0].Action)].sort(), [...BOUNDED_ROLE_ACTIONS].sort(), role);
      assert.deepEqual(granting[0].Condition, { StringEquals: { "iam:PermissionsBoundary": BOUNDARY } }, role);
      const appRole = iam(`role/${appName("api-status-role-9f8e7d6")}`);
      for (const action of BOUNDED_ROLE_ACTIONS) {
        assert.equal(
          decide(can[role], { action, resource: appRole, context: withBoundary }),
          "allow",
          `${role} ${action} with the boundary`,
        );
        assert.equal(decide(can[role], { action, resource: appRole }), "implicit-deny", `${role} ${action} without a boundary`);
        assert.equal(
          decide(can[role], {
            action,
            resource: appRole,
            context: { "iam:PermissionsBoundary": iam("policy/AdministratorAccess") },
          }),
          "implicit-deny",
          `${role} ${action} under another boundary`,
        );
      }
    }
    assert.equal(stack.outputs.permissionsBoundaryArn, BOUNDARY);
  });

  it("denies removing any boundary and editing or deleting the boundary policy", () => {
    for (const role of ["dev", "prod"] as const) {
      for (const target of [iam(`role/${appName("api-status-role-9f8e7d6")}`), iam("role/anything"), iam("user/anyone")]) {
        for (const action of ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"]) {
          assert.equal(decide(can[role], { action, resource: target }), "deny", `${role} ${action} ${target}`);
        }
      }
      for (const action of ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"]) {
        assert.equal(decide(can[role], { action, resource: BOUNDARY }), "deny", `${role} ${action} on the boundary`);
      }
    }
  });

  it("lets no deploy role change the CI's own roles and policies (while it may change the app's)", () => {
    const ciRoles = Object.values(ROLES).map((r) => iam(`role/${r}`));
    const ciPolicies = ofType(stack, TYPES.policy).map((p) => p.state.arn as string);
    assert.equal(ciPolicies.length, 9);
    for (const role of ["dev", "prod"] as const) {
      for (const action of IAM_WRITE_ACTIONS) {
        const context = { ...withBoundary, "iam:PassedToService": "lambda.amazonaws.com" };
        const onApp =
          action.includes("Polic") && !action.includes("Role")
            ? iam(`policy/${appName("images-read-1a2b3c4")}`)
            : iam(`role/${appName("api-status-role-9f8e7d6")}`);
        assert.equal(decide(can[role], { action, resource: onApp, context }), "allow", `${role} may ${action} on the app's ${onApp}`);
        for (const target of [...ciRoles, ...ciPolicies]) {
          assert.equal(decide(can[role], { action, resource: target, context }), "deny", `${role} may ${action} on ${target}`);
        }
      }
    }
  });

  it("keeps the preview role read-only: reads, plus writing and deleting its lock files and nothing else", () => {
    for (const s of can.preview.filter((x) => x.Effect === "Allow")) {
      const writes = list(s.Action).filter((a) => !READ_ACTION.test(a));
      if (!writes.length) continue;
      assert.deepEqual([...writes].sort(), ["s3:DeleteObject", "s3:PutObject"], s.Sid);
      assert.deepEqual(list(s.Resource), [`${STATE}/locks/*couch-explorers/*`], s.Sid);
    }
    const lock = `${STATE}/locks/organization/couch-explorers/prod/1b9e4c.json`;
    assert.ok(allows(can.preview, { action: "s3:PutObject", resource: lock }));
    assert.ok(allows(can.preview, { action: "s3:DeleteObject", resource: lock }));
    assert.ok(allows(can.preview, { action: "s3:GetObject", resource: `${STATE}/stacks/couch-explorers/prod.json` }));
    for (const [action, resource] of [
      ["s3:PutObject", `${STATE}/stacks/couch-explorers/dev.json`],
      ["s3:PutObject", `${STATE}/meta.yaml`],
      ["s3:GetObject", `${STATE}/stacks/couch-explorers-bootstrap/course.json`],
      ["lambda:CreateFunction", arn("lambda", `function:${appName("api-generate")}`)],
      ["iam:CreateRole", iam(`role/${appName("x")}`)],
      ["apigateway:POST", apiPath("/apis")],
      ["logs:GetLogEvents", arn("logs", `log-group:/aws/lambda/${appName("api-generate")}:log-stream:x`)],
      ["s3:GetObject", `arn:aws:s3:::pgr301-couch-explorers/${CANDIDATE}/dev/generated_images/a.png`],
    ])
      assert.notEqual(decide(can.preview, { action, resource, context: withBoundary }), "allow", `preview may ${action} ${resource}`);
  });

  it("gives each deploy role its own stack's state, the backend metadata to read, and nothing of the other stack or candidate", () => {
    const object = (path: string) => `${STATE}/${path}`;
    for (const [role, own, other] of [
      ["dev", "dev", "prod"],
      ["prod", "prod", "dev"],
    ] as const) {
      for (const path of [
        `stacks/couch-explorers/${own}.json`,
        `stacks/couch-explorers/${own}.json.bak`,
        `history/couch-explorers/${own}/${own}-1767225600.history.json`,
        `backups/couch-explorers/${own}/${own}.1767225600.json`,
        `locks/organization/couch-explorers/${own}/4c1d.json`,
      ]) {
        for (const action of ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"])
          assert.ok(allows(can[role], { action, resource: object(path) }), `${role} ${action} ${path}`);
      }
      assert.ok(allows(can[role], { action: "s3:GetObject", resource: object("meta.yaml") }));
      assert.ok(!allows(can[role], { action: "s3:PutObject", resource: object("meta.yaml") }));
      assert.ok(
        allows(can[role], {
          action: "s3:ListBucket",
          resource: "arn:aws:s3:::pgr301-2024-terraform-state",
          context: { "s3:prefix": `${CANDIDATE}/.pulumi/stacks/couch-explorers/` },
        }),
      );
      assert.ok(
        !allows(can[role], {
          action: "s3:ListBucket",
          resource: "arn:aws:s3:::pgr301-2024-terraform-state",
          context: { "s3:prefix": "candidate-7/" },
        }),
      );
      for (const path of [
        `stacks/couch-explorers/${other}.json`,
        `locks/organization/couch-explorers/${other}/4c1d.json`,
        "stacks/couch-explorers-bootstrap/course.json",
      ]) {
        for (const action of ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"])
          assert.ok(!allows(can[role], { action, resource: object(path) }), `${role} ${action} ${path}`);
      }
      assert.ok(
        !allows(can[role], {
          action: "s3:PutObject",
          resource: `arn:aws:s3:::pgr301-2024-terraform-state/candidate-7/.pulumi/stacks/couch-explorers/${own}.json`,
        }),
      );
    }
    assert.equal(stack.outputs.stateUrl, `s3://pgr301-2024-terraform-state/${CANDIDATE}`);
  });

  it("lets all three roles read the model's lifecycle (npm run model-check) in any region", () => {
    for (const role of Object.keys(ROLES) as (keyof typeof ROLES)[]) {
      for (const model of [
        "arn:aws:bedrock:us-west-2::foundation-model/stability.stable-image-core-v1:1",
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-canvas-v1:0",
      ]) {
        assert.ok(allows(can[role], { action: "bedrock:GetFoundationModel", resource: model }), `${role} ${model}`);
      }
      assert.ok(
        !allows(can[role], {
          action: "bedrock:InvokeModel",
          resource: "arn:aws:bedrock:us-west-2::foundation-model/stability.stable-image-core-v1:1",
        }),
        role,
      );
    }
  });

  it("keeps the deploy roles off other candidates' resources and off the account's API Gateway settings", () => {
    for (const role of ["dev", "prod"] as const) {
      for (const [action, resource, context] of [
        ["lambda:CreateFunction", arn("lambda", `function:${appName("api-generate", "candidate-7")}`)],
        ["sqs:DeleteQueue", arn("sqs", appName("jobs-queue", "candidate-7"))],
        ["iam:CreateRole", iam(`role/${appName("api-role", "candidate-7")}`), withBoundary],
        [
          "lambda:CreateEventSourceMapping",
          "*",
          { "lambda:FunctionArn": arn("lambda", `function:${appName("jobs-worker", "candidate-7")}`) },
        ],
        ["apigateway:PATCH", apiPath("/account")],
        ["apigateway:POST", apiPath("/domainnames")],
        ["s3:PutObject", `arn:aws:s3:::pgr301-couch-explorers/${CANDIDATE}/dev/x.png`],
      ] as [string, string, Record<string, string>?][]) {
        assert.notEqual(decide(can[role], { action, resource, context }), "allow", `${role} ${action} ${resource}`);
      }
    }
  });

  it("fits every policy in IAM's 6,144-character limit for managed policies (whitespace not counted)", () => {
    for (const p of ofType(stack, TYPES.policy)) {
      const size = (p.inputs.policy as string).replace(/\s/g, "").length;
      assert.ok(size <= 6144, `${p.inputs.name}: ${size} characters`);
    }
  });

  it("covers every resource type the app program creates in dev, prod and a stack with its own bucket", () => {
    const appStacks = [evaluateStack("dev"), evaluateStack("prod"), evaluateStack("dev", OWN_BUCKET_OF_ANOTHER_CANDIDATE)];
    const types = new Set(appStacks.flatMap((s) => s.resources.filter((r) => r.custom && r.type.startsWith("aws:")).map((r) => r.type)));
    assert.ok(types.size >= 15, [...types].join(", "));
    for (const type of types) {
      const requests = CREATES[type];
      assert.ok(requests, `the app creates ${type}: add what creating it takes to CREATES and check the deploy roles allow it`);
      for (const role of ["dev", "prod"] as const) {
        for (const req of requests)
          assert.equal(decide(can[role], req), "allow", `${role} cannot ${req.action} ${req.resource} for ${type}`);
      }
    }
    // The table itself is checked in full, so types the app may add (REST API, usage plans, agreements) are ready.
    for (const [type, requests] of Object.entries(CREATES)) {
      for (const req of requests) assert.equal(decide(can.dev, req), "allow", `dev cannot ${req.action} ${req.resource} for ${type}`);
    }
  });
});
