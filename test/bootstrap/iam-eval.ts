/**
 * A small IAM policy evaluator, enough to ask "may this role do X to Y?" of the bootstrap's
 * policies instead of searching them for strings. It follows AWS's evaluation logic for one
 * account ("Policy evaluation logic", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
 * an explicit Deny wins, else an Allow, else the implicit deny. Actions match case-insensitively
 * with `*` and `?`, resources case-sensitively (`*` spans `/` and `:`), and every condition
 * operator of a statement must hold; a key absent from the request fails its condition.
 * Operators it does not know throw, so an unreadable policy fails the test instead of passing.
 */
import type { MockedResource, EvaluatedStack } from "../../tools/stack";
import { list, ofType, TYPES, type Statement } from "../../tools/query";

export interface IamRequest {
  action: string;
  /** Omitted for trust policies, which have no Resource element. */
  resource?: string;
  /** Condition keys of the request, e.g. `iam:PermissionsBoundary`. */
  context?: Record<string, string>;
}

export type Decision = "allow" | "deny" | "implicit-deny";

const glob = (pattern: string, flags = "") =>
  new RegExp(
    `^${pattern
      .split(/([*?])/)
      .map((p) => (p === "*" ? ".*" : p === "?" ? "." : p.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
      .join("")}$`,
    flags,
  );

const OPERATORS: Record<string, (pattern: string, value: string) => boolean> = {
  StringEquals: (p, v) => p === v,
  StringLike: (p, v) => glob(p).test(v),
  ArnEquals: (p, v) => p === v,
  ArnLike: (p, v) => glob(p).test(v),
  "ForAnyValue:StringEquals": (p, v) => p === v,
};

function conditionsHold(condition: Statement["Condition"], context: Record<string, string>): boolean {
  const lower = Object.fromEntries(Object.entries(context).map(([k, v]) => [k.toLowerCase(), v]));
  return Object.entries(condition ?? {}).every(([operator, keys]) => {
    const test = OPERATORS[operator];
    if (!test) throw new Error(`the test evaluator does not know the condition operator ${operator}`);
    return Object.entries(keys).every(([key, patterns]) => {
      const value = lower[key.toLowerCase()];
      return value !== undefined && list(patterns as string | string[]).some((p) => test(p, value));
    });
  });
}

function applies(s: Statement & { NotAction?: unknown; NotResource?: unknown }, req: IamRequest): boolean {
  if (s.NotAction !== undefined || s.NotResource !== undefined) throw new Error("the test evaluator does not read NotAction/NotResource");
  if (!list(s.Action).some((a) => glob(a, "i").test(req.action))) return false;
  if (s.Resource !== undefined && !list(s.Resource).some((r) => req.resource !== undefined && glob(r).test(req.resource))) return false;
  return conditionsHold(s.Condition, req.context ?? {});
}

export function decide(statements: Statement[], req: IamRequest): Decision {
  const matching = statements.filter((s) => applies(s, req));
  if (matching.some((s) => s.Effect === "Deny")) return "deny";
  return matching.some((s) => s.Effect === "Allow") ? "allow" : "implicit-deny";
}

export const allows = (statements: Statement[], req: IamRequest) => decide(statements, req) === "allow";

/** A policy document's statements. */
export const statementsOf = (document: string): Statement[] => list(JSON.parse(document).Statement);

/** The role named `roleName` (its IAM name) in an evaluated stack. */
export function roleNamed(stack: EvaluatedStack<MockedResource>, roleName: string): MockedResource {
  const role = ofType(stack, TYPES.role).find((r) => r.inputs.name === roleName);
  if (!role) throw new Error(`no role named ${roleName}`);
  return role;
}

/** Every statement of the managed policies attached to a role; the role has no inline policies. */
export function permissionsOf(stack: EvaluatedStack<MockedResource>, roleName: string): Statement[] {
  if (ofType(stack, TYPES.rolePolicy).some((p) => p.inputs.role === roleName))
    throw new Error(`${roleName} has inline policies this helper ignores`);
  return ofType(stack, TYPES.attachment)
    .filter((a) => a.inputs.role === roleName)
    .flatMap((a) => {
      const policy = ofType(stack, TYPES.policy).find((p) => p.state.arn === a.inputs.policyArn);
      if (!policy) throw new Error(`${roleName} has ${a.inputs.policyArn} attached, which the stack does not create`);
      return statementsOf(policy.inputs.policy);
    });
}
