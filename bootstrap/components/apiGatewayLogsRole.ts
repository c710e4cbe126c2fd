import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Arguments of {@link ApiGatewayLogsRole}. */
export interface ApiGatewayLogsRoleArgs {
  roleName: string;
}

/**
 * The account's CloudWatch role for API Gateway: a REST API stage can only log (access or execution
 * logs) once the region's API Gateway account settings name a role API Gateway may assume
 * ("Set up CloudWatch logging for REST APIs", https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html).
 * It is one setting per account and region, so it belongs here, not to the deploy roles (which may
 * not touch `/account`), and only one bootstrap stack per account should manage it.
 */
export class ApiGatewayLogsRole extends pulumi.ComponentResource {
  public readonly role: aws.iam.Role;

  constructor(name: string, args: ApiGatewayLogsRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("couch-explorers-bootstrap:components:ApiGatewayLogsRole", name, {}, opts);
    const parent = { parent: this };
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        name: args.roleName,
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: { Service: "apigateway.amazonaws.com" }, Action: "sts:AssumeRole" }],
        }),
      },
      parent,
    );
    const partition = aws.getPartitionOutput({}, parent).partition;
    const attachment = new aws.iam.RolePolicyAttachment(
      `${name}-push-to-logs`,
      {
        role: this.role.name,
        policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs`,
      },
      parent,
    );
    new aws.apigateway.Account(`${name}-account`, { cloudwatchRoleArn: this.role.arn }, { ...parent, dependsOn: [attachment] });
    this.registerOutputs({ roleArn: this.role.arn });
  }
}
