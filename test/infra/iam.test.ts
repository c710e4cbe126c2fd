import assert from "node:assert/strict";
import { jobKeys, jobMarkerPattern } from "../../runtime/keys";
import { decide, type IamRequest } from "../bootstrap/iam-eval";
import { cfg, functionsByKey, list, one, ofType, roleOf, TYPES, type GrantedStatement } from "../../tools/query";
import { evaluateStack, type EvaluatedStack } from "../../tools/stack";

const LOGS = ["logs:CreateLogStream", "logs:PutLogEvents"];
/** Exactly what each function may do; anything more fails. */
const EXPECTED_ACTIONS: Record<string, string[]> = {
  generate: [...LOGS, "bedrock:InvokeModel", "s3:GetObject", "s3:ListBucket", "s3:PutObject"],
  // The job's marker: written before the message is sent, deleted when SQS refuses it.
  enqueue: [...LOGS, "s3:DeleteObject", "s3:PutObject", "sqs:SendMessage"],
  status: [...LOGS, "s3:GetObject", "s3:ListBucket"],
  // Markers are written on each delivery and deleted when a job ends.
  worker: [
    ...LOGS,
    "bedrock:InvokeModel",
    "s3:DeleteObject",
    "s3:PutObject",
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
  ],
};

for (const stackName of ["dev", "prod"]) {
  describe(`infra: least-privilege IAM in ${stackName}`, function () {
    this.timeout(120000);
    let stack: EvaluatedStack;
    before(() => {
      stack = evaluateStack(stackName);
    });

    it("gives each function its own role that only Lambda can assume, with no AWS-managed policy", () => {
      const fns = Object.values(functionsByKey(stack));
      const roles = new Set(fns.map((fn) => fn.inputs.role));
      assert.equal(roles.size, fns.length);
      for (const fn of fns) {
        const { role, attachedArns } = roleOf(stack, fn);
        const trust = JSON.parse(role.inputs.assumeRolePolicy);
        assert.deepEqual(
          trust.Statement.map((s: any) => [s.Effect, s.Principal, s.Action]),
          [["Allow", { Service: "lambda.amazonaws.com" }, "sts:AssumeRole"]],
        );
        for (const arn of attachedArns) assert.doesNotMatch(arn, /:iam::aws:policy\//, `${fn.name} has AWS-managed ${arn}`);
      }
      // CallbackFunction's defaults (AWSLambda_FullAccess, AmazonS3FullAccess, …) appear nowhere.
      for (const a of ofType(stack, TYPES.attachment)) assert.doesNotMatch(a.inputs.policyArn, /FullAccess|PowerUser/);
    });

    it("grants bedrock:InvokeModel only on Stable Image Core in us-west-2, to the two functions that draw", () => {
      const model = "arn:aws:bedrock:us-west-2::foundation-model/stability.stable-image-core-v1:1";
      for (const [key, fn] of Object.entries(functionsByKey(stack))) {
        const bedrock = roleOf(stack, fn).statements.filter((s) => list(s.Action).some((a) => a.startsWith("bedrock:")));
        if (key === "generate" || key === "worker") {
          assert.deepEqual(
            bedrock.map((s) => [s.Effect, list(s.Action), list(s.Resource)]),
            [["Allow", ["bedrock:InvokeModel"], [model]]],
            key,
          );
        } else {
          assert.deepEqual(bedrock, [], key);
        }
      }
    });

    it("grants exactly the actions each function needs", () => {
      for (const [key, fn] of Object.entries(functionsByKey(stack))) {
        const allowed = roleOf(stack, fn)
          .statements.filter((s) => s.Effect === "Allow")
          .flatMap((s) => list(s.Action));
        assert.deepEqual([...new Set(allowed)].sort(), [...EXPECTED_ACTIONS[key]].sort(), key);
      }
    });

    it("never allows a wildcard action, in any policy of the stack or Lambda permission", () => {
      const documents: { source: string; policy: string }[] = [
        ...ofType(stack, TYPES.rolePolicy).map((p) => ({ source: p.name, policy: p.inputs.policy })),
        ...ofType(stack, TYPES.policy).map((p) => ({ source: p.name, policy: p.inputs.policy })),
        ...ofType(stack, TYPES.role).map((p) => ({ source: p.name, policy: p.inputs.assumeRolePolicy })),
      ];
      assert.ok(documents.length >= 10);
      for (const { source, policy } of documents) {
        for (const s of JSON.parse(policy).Statement) {
          if (s.Effect !== "Allow") continue;
          for (const action of list<string>(s.Action)) assert.doesNotMatch(action, /\*/, `${source} allows ${action}`);
          assert.equal(s.NotAction, undefined, `${source} uses NotAction`);
        }
      }
      for (const p of ofType(stack, TYPES.permission)) assert.equal(p.inputs.action, "lambda:InvokeFunction", p.name);
    });

    it("scopes every resource: S3 to the prefix, Bedrock to the model, SQS to the own queue, logs to the own group", () => {
      const bucket = cfg(stack, "bucketName");
      const prefix = cfg(stack, "imagePrefix");
      const modelArn = `arn:aws:bedrock:${cfg(stack, "bedrockRegion")}::foundation-model/${cfg(stack, "modelId")}`;
      const queueArn = one(stack, TYPES.queue, "-jobs-queue").state.arn;
      const check = (fnName: string, logGroupArn: string, s: GrantedStatement) => {
        const where = `${fnName} / ${s.source} / ${s.Sid}`;
        const resources = list(s.Resource);
        assert.ok(resources.length > 0, where);
        const services = new Set(list(s.Action).map((a) => a.split(":")[0]));
        assert.equal(services.size, 1, `${where} mixes services`);
        const [service] = services;
        for (const resource of resources) {
          assert.doesNotMatch(resource, /^\*$/, where);
          switch (service) {
            case "s3":
              if (list(s.Action).includes("s3:ListBucket")) {
                assert.deepEqual(list(s.Action), ["s3:ListBucket"], where);
                assert.equal(resource, `arn:aws:s3:::${bucket}`, where);
                const prefixes = list(s.Condition?.StringLike?.["s3:prefix"]);
                assert.ok(prefixes.length > 0, `${where}: ListBucket without an s3:prefix condition`);
                for (const p of prefixes) assert.ok(p.startsWith(`${prefix}/`), `${where}: lists ${p}`);
                assert.deepEqual(Object.keys(s.Condition!), ["StringLike"], where);
              } else if (list(s.Action).includes("s3:DeleteObject")) {
                // Deleting reaches the job markers and nothing else.
                assert.equal(resource, `arn:aws:s3:::${bucket}/${jobMarkerPattern(prefix)}`, where);
              } else {
                assert.ok(
                  [`arn:aws:s3:::${bucket}/${prefix}/*`, `arn:aws:s3:::${bucket}/${jobMarkerPattern(prefix)}`].includes(resource),
                  `${where}: ${resource}`,
                );
              }
              break;
            case "bedrock":
              assert.equal(resource, modelArn, where);
              break;
            case "sqs":
              assert.equal(resource, queueArn, where);
              break;
            case "logs":
              assert.equal(resource, `${logGroupArn}:*`, where);
              break;
            default:
              assert.fail(`${where} grants ${service}`);
          }
        }
      };
      for (const fn of Object.values(functionsByKey(stack))) {
        const logGroup = ofType(stack, TYPES.logGroup).find((g) => g.state.name === fn.inputs.loggingConfig.logGroup)!;
        for (const s of roleOf(stack, fn).statements) check(fn.name, logGroup.state.arn, s);
      }
    });

    it("lets each function reach exactly the job keys its part needs (asked of the policies with an IAM evaluator)", () => {
      const bucket = cfg(stack, "bucketName");
      const prefix = cfg(stack, "imagePrefix");
      const fns = functionsByKey(stack);
      const may = (key: keyof typeof fns, req: IamRequest) => decide(roleOf(stack, fns[key]).statements, req) === "allow";
      const object = (action: string, key: string): IamRequest => ({
        action,
        resource: `arn:aws:s3:::${bucket}/${key}`,
      });
      // S3 answers a GetObject/HeadObject of a missing key with 404 only when the caller may
      // s3:ListBucket the bucket, checked with the key as s3:prefix (else 403; see
      // components/bucketPrefixAccess.ts): that decides whether the status lookup can say "unknown-job".
      const mayLearnMissing = (key: keyof typeof fns, objectKey: string) =>
        may(key, { action: "s3:ListBucket", resource: `arn:aws:s3:::${bucket}`, context: { "s3:prefix": objectKey } });
      const job = jobKeys(prefix, "3ce3b775-378b-47f5-bada-cc1982527121");
      const elsewhere = jobKeys("candidate-7/dev", "3ce3b775-378b-47f5-bada-cc1982527121");

      for (const key of [job.image, job.marker, job.failure]) {
        assert.ok(may("status", object("s3:GetObject", key)), `status reads ${key}`);
        assert.ok(mayLearnMissing("status", key), `status gets a 404 for a missing ${key}`);
      }
      for (const key of [elsewhere.image, elsewhere.marker]) {
        assert.ok(!may("status", object("s3:GetObject", key)), `status must not read ${key}`);
        assert.ok(!mayLearnMissing("status", key), `status must not learn whether ${key} exists`);
      }
      assert.ok(
        !may("status", object("s3:PutObject", job.marker)) && !may("status", object("s3:DeleteObject", job.marker)),
        "status only reads",
      );

      assert.ok(
        may("enqueue", object("s3:PutObject", job.marker)) && may("enqueue", object("s3:DeleteObject", job.marker)),
        "enqueue writes and takes back the marker",
      );
      for (const key of [job.image, job.sidecar, job.failure, elsewhere.marker]) {
        assert.ok(!may("enqueue", object("s3:PutObject", key)), `enqueue must not write ${key}`);
      }
      assert.ok(!may("enqueue", object("s3:GetObject", job.marker)), "enqueue reads nothing");

      for (const key of [job.image, job.sidecar, job.failure, job.marker])
        assert.ok(may("worker", object("s3:PutObject", key)), `worker writes ${key}`);
      assert.ok(may("worker", object("s3:DeleteObject", job.marker)), "the worker removes the marker of a finished job");
      for (const key of [job.image, job.sidecar, job.failure])
        assert.ok(!may("worker", object("s3:DeleteObject", key)), `worker must not delete ${key}`);
    });
  });
}
