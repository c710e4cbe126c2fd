import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument, type PolicyStatement } from "../../components/policy";
import { githubTrustPolicy, type SubjectMatch } from "./githubTrust";

/** A customer managed policy of a CI role: its name (predictable, so other policies can protect it) and statements. */
export interface CiRolePolicy {
  name: string;
  statements: PolicyStatement[];
}

/** Arguments of {@link CiRole}. */
export interface CiRoleArgs {
  /** The role's name; ARNs are predictable, so each role's policies can name the others. */
  roleName: string;
  description: string;
  /** The account's GitHub OIDC provider. */
  providerArn: pulumi.Input<string>;
  /** The GitHub token subjects (`sub` claim) that may assume the role. */
  subject: SubjectMatch;
  /** Policies created for this role alone, by a short key that names their Pulumi resources. */
  policies: Record<string, CiRolePolicy>;
  /** Policies it shares with other roles. */
  sharedPolicyArns: Record<string, pulumi.Input<string>>;
  /**
   * Longest session a workflow gets; `pulumi up` of one stack finishes well within it.
   * @default 3600
   */
  maxSessionDurationSeconds?: number;
}

/** An IAM role that GitHub Actions assumes through OIDC, with its permissions as managed policies. */
export class CiRole extends pulumi.ComponentResource {
  public readonly role: aws.iam.Role;
  public readonly arn: pulumi.Output<string>;

  constructor(name: string, args: CiRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("couch-explorers-bootstrap:components:CiRole", name, {}, opts);
    const parent = { parent: this };

    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        name: args.roleName,
        description: args.description,
        assumeRolePolicy: githubTrustPolicy(args.providerArn, args.subject),
        maxSessionDuration: args.maxSessionDurationSeconds ?? 3600,
      },
      parent,
    );
    this.arn = this.role.arn;

    const own = Object.fromEntries(
      Object.entries(args.policies).map(([key, p]) => [
        key,
        new aws.iam.Policy(`${name}-${key}`, { name: p.name, policy: policyDocument(p.statements) }, parent).arn,
      ]),
    );
    for (const [key, policyArn] of Object.entries({ ...own, ...args.sharedPolicyArns })) {
      new aws.iam.RolePolicyAttachment(`${name}-${key}`, { role: this.role.name, policyArn }, parent);
    }
    this.registerOutputs({ arn: this.arn });
  }
}
