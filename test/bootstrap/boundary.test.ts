// The permissions boundary: the most any role a deploy role creates can do, whatever policies it
// is given — the app's functions' needs, for this candidate only, and never the Pulumi state.
import assert from "node:assert/strict";
import { jobKeys } from "../../runtime/keys";
import { functionsByKey, list, ofType, roleOf, TYPES, type GrantedStatement, type Statement } from "../../tools/query";
import { evaluateStack, type EvaluatedStack } from "../../tools/stack";
import { evaluateBootstrap, MOCK_ACCOUNT } from "./evaluate";
import { decide, statementsOf, type IamRequest } from "./iam-eval";

const BOUNDARY_NAME = "couch-explorers-candidate-42-boundary";
const JOB_ID = "3ce3b775-378b-47f5-bada-cc1982527121";
const logs = (group: string) => `arn:aws:logs:eu-west-1:${MOCK_ACCOUNT}:log-group:${group}:log-stream:2026/12/01/[$LATEST]abc`;

describe("bootstrap: the permissions boundary", function () {
  this.timeout(120000);
  let boundary: Statement[];
  before(() => {
    const policy = ofType(evaluateBootstrap(), TYPES.policy).find((p) => p.inputs.name === BOUNDARY_NAME);
    assert.ok(policy, `no policy named ${BOUNDARY_NAME}`);
    boundary = statementsOf(policy.inputs.policy);
  });

  it("leaves room for what the app's functions do, for this candidate", () => {
    const allowed: IamRequest[] = [
      { action: "logs:CreateLogStream", resource: logs("/aws/lambda/couch-explorers-candidate-42-prod-api-generate") },
      { action: "logs:PutLogEvents", resource: logs("/aws/lambda/couch-explorers-candidate-42-prod-jobs-worker") },
      {
        action: "bedrock:InvokeModel",
        resource: "arn:aws:bedrock:us-west-2::foundation-model/stability.stable-image-core-v1:1",
      },
      {
        action: "s3:PutObject",
        resource: "arn:aws:s3:::pgr301-couch-explorers/candidate-42/prod/generated_images/7.png",
      },
      {
        action: "s3:GetObject",
        resource: "arn:aws:s3:::pgr301-couch-explorers/candidate-42/dev/generated_images/7.png",
      },
      {
        action: "s3:ListBucket",
        resource: "arn:aws:s3:::pgr301-couch-explorers",
        context: { "s3:prefix": "candidate-42/dev/jobs/" },
      },
      // The enqueue function takes back a job's marker when SQS refuses the message; the worker deletes it when the job ends.
      {
        action: "s3:DeleteObject",
        resource: `arn:aws:s3:::pgr301-couch-explorers/${jobKeys("candidate-42/prod", JOB_ID).marker}`,
      },
      {
        action: "s3:DeleteObject",
        resource: `arn:aws:s3:::candidate-42-dev-images-bucket-1a2b3c4/${jobKeys("candidate-42", JOB_ID).marker}`,
      },
      ...["SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes"].map((a) => ({
        action: `sqs:${a}`,
        resource: `arn:aws:sqs:eu-west-1:${MOCK_ACCOUNT}:couch-explorers-candidate-42-prod-jobs-queue-1a2b3c4`,
      })),
    ];
    for (const req of allowed) assert.equal(decide(boundary, req), "allow", `${req.action} ${req.resource}`);
  });

  it("caps everything else: other candidates, IAM, other services, and the Pulumi state even under the candidate's prefix", () => {
    const capped: IamRequest[] = [
      {
        action: "s3:PutObject",
        resource: "arn:aws:s3:::pgr301-couch-explorers/candidate-7/prod/generated_images/7.png",
      },
      {
        action: "s3:ListBucket",
        resource: "arn:aws:s3:::pgr301-couch-explorers",
        context: { "s3:prefix": "candidate-7/" },
      },
      {
        action: "s3:GetObject",
        resource: "arn:aws:s3:::pgr301-2024-terraform-state/candidate-42/.pulumi/stacks/couch-explorers/prod.json",
      },
      {
        action: "s3:PutObject",
        resource: "arn:aws:s3:::pgr301-2024-terraform-state/candidate-42/.pulumi/stacks/couch-explorers/prod.json",
      },
      {
        action: "s3:ListBucket",
        resource: "arn:aws:s3:::pgr301-2024-terraform-state",
        context: { "s3:prefix": "candidate-42/.pulumi/" },
      },
      {
        action: "s3:DeleteObject",
        resource: "arn:aws:s3:::pgr301-couch-explorers/candidate-42/prod/generated_images/7.png",
      },
      // A finished job's picture, sidecar and failure record stay.
      ...(["image", "sidecar", "failure"] as const).map((kind) => ({
        action: "s3:DeleteObject",
        resource: `arn:aws:s3:::pgr301-couch-explorers/${jobKeys("candidate-42/prod", JOB_ID)[kind]}`,
      })),
      {
        action: "s3:DeleteObject",
        resource: `arn:aws:s3:::pgr301-couch-explorers/${jobKeys("candidate-7/prod", JOB_ID).marker}`,
      },
      {
        action: "s3:DeleteObject",
        resource: "arn:aws:s3:::pgr301-2024-terraform-state/candidate-42/.pulumi/stacks/couch-explorers/prod.queued.json",
      },
      {
        action: "sqs:SendMessage",
        resource: `arn:aws:sqs:eu-west-1:${MOCK_ACCOUNT}:couch-explorers-candidate-7-prod-jobs-queue`,
      },
      { action: "logs:PutLogEvents", resource: logs("/aws/lambda/couch-explorers-candidate-7-prod-api-generate") },
      { action: "iam:CreateRole", resource: `arn:aws:iam::${MOCK_ACCOUNT}:role/couch-explorers-candidate-42-x` },
      {
        action: "iam:PassRole",
        resource: `arn:aws:iam::${MOCK_ACCOUNT}:role/couch-explorers-candidate-42-ci-deploy-prod`,
      },
      {
        action: "lambda:UpdateFunctionCode",
        resource: `arn:aws:lambda:eu-west-1:${MOCK_ACCOUNT}:function:couch-explorers-candidate-42-prod-api-generate`,
      },
      { action: "bedrock:CreateFoundationModelAgreement", resource: "*" },
    ];
    for (const req of capped) assert.notEqual(decide(boundary, req), "allow", `${req.action} ${req.resource}`);
    assert.ok(
      boundary.every((s) => s.Effect === "Deny" || !JSON.stringify(s.Action).includes("iam:")),
      "the boundary allows IAM actions",
    );
  });

  // The app stacks of this candidate (candidate-42), shared with the infra tests' evaluations.
  for (const stackName of ["dev", "prod"]) {
    it(`leaves room for everything each role of the ${stackName} app stack is granted (so a new grant the boundary would cut fails here)`, () => {
      const stack = evaluateStack(stackName);
      const fns = Object.values(functionsByKey(stack));
      assert.deepEqual(
        ofType(stack, TYPES.role)
          .map((r) => r.name)
          .sort(),
        fns.map((fn) => roleOf(stack, fn).role.name).sort(),
        "a role that runs no function: check its statements here too",
      );
      const requests = fns.flatMap((fn) =>
        roleOf(stack, fn)
          .statements.filter((s) => s.Effect === "Allow")
          .flatMap((s) => requestsOf(stack, s)),
      );
      assert.ok(requests.length >= 20, `only ${requests.length} requests`);
      for (const req of requests)
        assert.equal(
          decide(boundary, req),
          "allow",
          `${stackName}: the boundary cuts ${req.action} ${req.resource} ${JSON.stringify(req.context ?? {})}`,
        );
    });
  }
});

/**
 * Every action on every resource an app statement allows, as requests in the bootstrap's mocked
 * account (both programs deploy into one account; their mocks name different ones). A resource or
 * condition pattern is asked as it stands: the boundary must allow the whole pattern, `*` included.
 */
function requestsOf(stack: EvaluatedStack, statement: GrantedStatement): IamRequest[] {
  const appAccount = /^arn:aws:iam::(\d{12}):/.exec(ofType(stack, TYPES.role)[0].state.arn)![1];
  const context = Object.fromEntries(
    Object.values(statement.Condition ?? {}).flatMap((keys) => Object.entries(keys).map(([key, values]) => [key, list(values)[0]])),
  );
  return list(statement.Action).flatMap((action) =>
    list(statement.Resource).map((resource) => ({
      action,
      resource: resource.replace(`:${appAccount}:`, `:${MOCK_ACCOUNT}:`),
      ...(statement.Condition ? { context } : {}),
    })),
  );
}
