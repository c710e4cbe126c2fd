import * as pulumi from "@pulumi/pulumi";

/** One IAM statement as written in a policy document; resources may be outputs of other resources. */
export interface PolicyStatement {
  /** Names the statement in the AWS console and in test failures. */
  Sid: string;
  Effect: "Allow" | "Deny";
  /** Exact actions: an Allow in this program never names a wildcard action. */
  Action: string[];
  Resource: pulumi.Input<string> | pulumi.Input<string>[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, pulumi.Input<string> | pulumi.Input<string>[]>>;
}

/** Serializes statements into an IAM policy document once their inputs are known. */
export function policyDocument(statements: PolicyStatement[]): pulumi.Output<string> {
  return pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements });
}

/** The trust policy that lets Lambda assume a function's execution role. */
export const LAMBDA_ASSUME_ROLE_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
});
