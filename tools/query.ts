/** Finding things in an evaluated stack (see stack.ts): resources by type, functions and their IAM. */
import { deflateRawSync } from "node:zlib";
import type { EvaluatedResource, EvaluatedStack, MockedResource } from "./stack";

export const TYPES = {
  function: "aws:lambda/function:Function",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  policy: "aws:iam/policy:Policy",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  queue: "aws:sqs/queue:Queue",
  eventSourceMapping: "aws:lambda/eventSourceMapping:EventSourceMapping",
  permission: "aws:lambda/permission:Permission",
  api: "aws:apigateway/restApi:RestApi",
  apiResource: "aws:apigateway/resource:Resource",
  method: "aws:apigateway/method:Method",
  integration: "aws:apigateway/integration:Integration",
  integrationResponse: "aws:apigateway/integrationResponse:IntegrationResponse",
  stage: "aws:apigateway/stage:Stage",
  methodSettings: "aws:apigateway/methodSettings:MethodSettings",
  deployment: "aws:apigateway/deployment:Deployment",
  gatewayResponse: "aws:apigateway/response:Response",
  usagePlan: "aws:apigateway/usagePlan:UsagePlan",
  usagePlanKey: "aws:apigateway/usagePlanKey:UsagePlanKey",
  apiKey: "aws:apigateway/apiKey:ApiKey",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  topic: "aws:sns/topic:Topic",
  subscription: "aws:sns/topicSubscription:TopicSubscription",
  dashboard: "aws:cloudwatch/dashboard:Dashboard",
  bucket: "aws:s3/bucket:Bucket",
} as const;

/** The longest candidate id bootstrap/ allows (32 characters, components/names.ts): every generated name must still fit. */
export const LONGEST_CANDIDATE = `${"c".repeat(22)}-candidate`;

/**
 * dev for a second candidate with the longest id, naming no bucket (so it creates one, the name
 * with the tightest limit): one evaluation serves the fresh-account tests, the bootstrap's coverage
 * of what the app creates, and the names of two candidates in one account.
 */
export const OWN_BUCKET_OF_ANOTHER_CANDIDATE = {
  "couch-explorers:bucketName": null,
  "couch-explorers:candidate": LONGEST_CANDIDATE,
  "couch-explorers:imagePrefix": `${LONGEST_CANDIDATE}/dev`,
};

export function ofType<R extends MockedResource>(stack: EvaluatedStack<R>, type: string): R[] {
  return stack.resources.filter((r) => r.type === type);
}

/** The one resource of `type` whose name ends with `suffix`; fails loudly when there is not exactly one. */
export function one<R extends MockedResource>(stack: EvaluatedStack<R>, type: string, suffix = ""): R {
  const found = ofType(stack, type).filter((r) => r.name.endsWith(suffix));
  if (found.length !== 1) {
    throw new Error(
      `expected one ${type} named *${suffix} in ${stack.stack}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`,
    );
  }
  return found[0];
}

/** A stack config value of this project (`<project>:<key>`). */
export function cfg(stack: EvaluatedStack<MockedResource>, key: string): string {
  const value = stack.config[`${stack.project}:${key}`];
  if (value === undefined) throw new Error(`${stack.stack} has no config ${key}`);
  return value;
}

export const cfgNumber = (stack: EvaluatedStack<MockedResource>, key: string): number => Number(cfg(stack, key));

/** The REST API path of an API resource id ("/" for the root), walking up its parents. */
export function pathOf(stack: EvaluatedStack, resourceId: string): string {
  if (ofType(stack, TYPES.api).some((a) => a.state.rootResourceId === resourceId)) return "/";
  const resource = ofType(stack, TYPES.apiResource).find((r) => r.id === resourceId);
  if (!resource) throw new Error(`no API resource with id ${resourceId}`);
  const above = pathOf(stack, resource.inputs.parentId);
  return `${above === "/" ? "" : above}/${resource.inputs.pathPart}`;
}

/** The route functions and the worker, by their short key. */
export function functionsByKey(stack: EvaluatedStack): Record<"generate" | "enqueue" | "status" | "worker", EvaluatedResource> {
  return {
    generate: one(stack, TYPES.function, "-api-generate"),
    enqueue: one(stack, TYPES.function, "-api-enqueue"),
    status: one(stack, TYPES.function, "-api-status"),
    worker: one(stack, TYPES.function, "-jobs-worker"),
  };
}

export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
  Principal?: unknown;
}

export const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Where a statement of a function's role came from, for failure messages. */
export interface GrantedStatement extends Statement {
  source: string;
}

/** Every statement a function's execution role holds: inline policies and attached policies. */
export function roleOf(
  stack: EvaluatedStack,
  fn: EvaluatedResource,
): { role: EvaluatedResource; statements: GrantedStatement[]; attachedArns: string[] } {
  const role = ofType(stack, TYPES.role).find((r) => r.state.arn === fn.inputs.role);
  if (!role) throw new Error(`no role with ARN ${fn.inputs.role} for ${fn.name}`);
  const statements: GrantedStatement[] = [];
  for (const inline of ofType(stack, TYPES.rolePolicy).filter((p) => p.inputs.role === role.id)) {
    for (const s of JSON.parse(inline.inputs.policy).Statement) statements.push({ ...s, source: inline.name });
  }
  const attachedArns = ofType(stack, TYPES.attachment)
    .filter((a) => a.inputs.role === role.state.name)
    .map((a) => a.inputs.policyArn as string);
  for (const arn of attachedArns) {
    const policy = ofType(stack, TYPES.policy).find((p) => p.state.arn === arn);
    if (!policy) continue; // an AWS-managed policy: the IAM test rejects those by ARN
    for (const s of JSON.parse(policy.inputs.policy).Statement) statements.push({ ...s, source: policy.name });
  }
  return { role, statements, attachedArns };
}

/** Files of a function's deployment archive: name → text. */
export function archiveOf(fn: EvaluatedResource): Record<string, string> {
  const archive = fn.inputs.code?.$archive;
  if (!archive) throw new Error(`${fn.name} has no archive`);
  const files: Record<string, string> = {};
  for (const [file, asset] of Object.entries<any>(archive)) {
    if (typeof asset?.text !== "string") throw new Error(`${fn.name}: ${file} is not text in the archive (${JSON.stringify(asset)})`);
    files[file] = asset.text;
  }
  return files;
}

/**
 * Size of an archive: the sum of its files' bytes (the budget is enforced on this) and the sum of
 * their raw-deflated sizes (close to the zip Lambda receives).
 */
export function archiveSize(files: Record<string, string>): { bytes: number; deflated: number } {
  let bytes = 0;
  let deflated = 0;
  for (const text of Object.values(files)) {
    const buf = Buffer.from(text, "utf8");
    bytes += buf.length;
    deflated += deflateRawSync(buf, { level: 9 }).length;
  }
  return { bytes, deflated };
}
