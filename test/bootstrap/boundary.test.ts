// The permissions boundary: the most any role a deploy role creates can do, whatever policies it
// is given — the app's functions' needs, for this candidate only, and never the Pulumi state.
import assert from "node:assert/strict";
import { ofType, TYPES, type Statement } from "../../tools/query";
import { evaluateBootstrap, MOCK_ACCOUNT } from "./evaluate";
import { decide, statementsOf, type IamRequest } from "./iam-eval";

const BOUNDARY_NAME = "couch-explorers-candidate-42-boundary";
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
      { action: "bedrock:InvokeModel", resource: "arn:aws:bedrock:us-west-2::foundation-model/stability.stable-image-core-v1:1" },
      { action: "s3:PutObject", resource: "arn:aws:s3:::pgr301-couch-explorers/candidate-42/prod/generated_images/7.png" },
      { action: "s3:GetObject", resource: "arn:aws:s3:::pgr301-couch-explorers/candidate-42/dev/generated_images/7.png" },
      { action: "s3:ListBucket", resource: "arn:aws:s3:::pgr301-couch-explorers", context: { "s3:prefix": "candidate-42/dev/jobs/" } },
      ...["SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes"].map((a) => ({
        action: `sqs:${a}`, resource: `arn:aws:sqs:eu-west-1:${MOCK_ACCOUNT}:couch-explorers-candidate-42-prod-jobs-queue-1a2b3c4`,
      })),
    ];
    for (const req of allowed) assert.equal(decide(boundary, req), "allow", `${req.action} ${req.resource}`);
  });

  it("caps everything else: other candidates, IAM, other services, and the Pulumi state even under the candidate's prefix", () => {
    const capped: IamRequest[] = [
      { action: "s3:PutObject", resource: "arn:aws:s3:::pgr301-couch-explorers/candidate-7/prod/generated_images/7.png" },
      { action: "s3:ListBucket", resource: "arn:aws:s3:::pgr301-couch-explorers", context: { "s3:prefix": "candidate-7/" } },
      { action: "s3:GetObject", resource: "arn:aws:s3:::pgr301-2024-terraform-state/candidate-42/.pulumi/stacks/couch-explorers/prod.json" },
      { action: "s3:PutObject", resource: "arn:aws:s3:::pgr301-2024-terraform-state/candidate-42/.pulumi/stacks/couch-explorers/prod.json" },
      { action: "s3:ListBucket", resource: "arn:aws:s3:::pgr301-2024-terraform-state", context: { "s3:prefix": "candidate-42/.pulumi/" } },
      { action: "s3:DeleteObject", resource: "arn:aws:s3:::pgr301-couch-explorers/candidate-42/prod/generated_images/7.png" },
      { action: "sqs:SendMessage", resource: `arn:aws:sqs:eu-west-1:${MOCK_ACCOUNT}:couch-explorers-candidate-7-prod-jobs-queue` },
      { action: "logs:PutLogEvents", resource: logs("/aws/lambda/couch-explorers-candidate-7-prod-api-generate") },
      { action: "iam:CreateRole", resource: `arn:aws:iam::${MOCK_ACCOUNT}:role/couch-explorers-candidate-42-x` },
      { action: "iam:PassRole", resource: `arn:aws:iam::${MOCK_ACCOUNT}:role/couch-explorers-candidate-42-ci-deploy-prod` },
      { action: "lambda:UpdateFunctionCode", resource: `arn:aws:lambda:eu-west-1:${MOCK_ACCOUNT}:function:couch-explorers-candidate-42-prod-api-generate` },
      { action: "bedrock:CreateFoundationModelAgreement", resource: "*" },
    ];
    for (const req of capped) assert.notEqual(decide(boundary, req), "allow", `${req.action} ${req.resource}`);
    assert.ok(boundary.every((s) => s.Effect === "Deny" || !JSON.stringify(s.Action).includes("iam:")), "the boundary allows IAM actions");
  });
});
