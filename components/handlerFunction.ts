import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import pkg from "../package.json";
import { LAMBDA_ASSUME_ROLE_POLICY, PolicyStatement, policyDocument } from "./policy";

/**
 * nodejs24.x: the newest Node.js Lambda runtime, so the longest time before AWS deprecates it
 * (nodejs22.x reaches end of support about a year earlier). What nodejs24.x removed — callback-style
 * handlers — does not affect us: the runtime's handlers are async and return promises.
 */
export const LAMBDA_RUNTIME = aws.lambda.Runtime.NodeJS24dX;

/**
 * Packages the Lambda Node.js runtime already ships (the AWS SDK v3 and its Smithy parts). Pulumi's
 * serializer leaves `require("@aws-sdk/…")` calls in the code and would otherwise zip these packages
 * (about 22 MB) into every archive. `@smithy/node-http-handler` is only required in the
 * local-endpoint branch of the runtime, which never runs in Lambda. Taken from package.json so a new
 * SDK client is excluded without touching this file.
 */
export const PROVIDED_BY_LAMBDA: string[] = Object.keys(pkg.dependencies).filter(
  (name) => name.startsWith("@aws-sdk/") || name.startsWith("@smithy/"),
);

/** Arguments of {@link HandlerFunction}. */
export interface HandlerFunctionArgs<E, R> {
  /**
   * Builds the handler once per cold start. Pulumi serializes it (and the runtime code it reaches)
   * into the function's archive, so it must capture nothing but runtime/ code.
   */
  callbackFactory: aws.lambda.CallbackFactory<E, R>;
  /** Environment variables, as runtime toHandlerEnv writes them. */
  environment: Record<string, pulumi.Input<string>>;
  /** What this function may do besides writing its own logs, as exact IAM statements. */
  statements: PolicyStatement[];
  /**
   * Customer-managed policies to attach, keyed by a stable name (e.g. the bucket prefix policy).
   * @default {}
   */
  policyArns?: Record<string, pulumi.Input<string>>;
  /** Function timeout in seconds. */
  timeoutSeconds: number;
  /** Function memory in MB (CPU scales with it). */
  memorySizeMb: number;
  /** Days CloudWatch keeps the function's logs. */
  logRetentionDays: number;
  /** What the function does, shown in the console. @default "" */
  description?: string;
  /** ARN of the managed policy the role carries as its permissions boundary (the bootstrap's: its deploy roles create no role without it). */
  permissionsBoundary: pulumi.Input<string>;
}

/**
 * A Lambda function running one of the runtime's handlers, with its own execution role that holds
 * only what the caller grants plus writing to its own log group (never the full-access policies
 * `CallbackFunction` attaches when given no role).
 */
export class HandlerFunction<E, R> extends pulumi.ComponentResource {
  /** The function; its `code` is the serialized handler. */
  public readonly function: aws.lambda.CallbackFunction<E, R>;
  public readonly role: aws.iam.Role;
  public readonly logGroup: aws.cloudwatch.LogGroup;

  constructor(name: string, args: HandlerFunctionArgs<E, R>, opts?: pulumi.ComponentResourceOptions) {
    super("couch-explorers:components:HandlerFunction", name, {}, opts);
    const parent = { parent: this };

    // A log group we create (instead of the one Lambda creates on first use) gets a retention and
    // lets the role write to exactly one group without logs:CreateLogGroup.
    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      {
        name: `/aws/lambda/${name}`,
        retentionInDays: args.logRetentionDays,
      },
      parent,
    );

    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        assumeRolePolicy: LAMBDA_ASSUME_ROLE_POLICY,
        permissionsBoundary: args.permissionsBoundary,
      },
      parent,
    );
    const access = new aws.iam.RolePolicy(
      `${name}-access`,
      {
        role: this.role.id,
        policy: policyDocument([
          {
            Sid: "WriteOwnLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: pulumi.interpolate`${this.logGroup.arn}:*`,
          },
          ...args.statements,
        ]),
      },
      parent,
    );
    const attachments = Object.entries(args.policyArns ?? {}).map(
      ([key, policyArn]) => new aws.iam.RolePolicyAttachment(`${name}-${key}`, { role: this.role.name, policyArn }, parent),
    );

    this.function = new aws.lambda.CallbackFunction<E, R>(
      name,
      {
        description: args.description ?? "",
        callbackFactory: args.callbackFactory,
        // Passing our own role is what keeps CallbackFunction from attaching its default policies.
        role: this.role,
        runtime: LAMBDA_RUNTIME,
        // Pure JavaScript, so Graviton: about 20% cheaper per GB-second than x86_64.
        architectures: ["arm64"],
        timeout: args.timeoutSeconds,
        memorySize: args.memorySizeMb,
        environment: { variables: args.environment },
        loggingConfig: { logFormat: "Text", logGroup: this.logGroup.name },
        codePathOptions: { extraExcludePackages: PROVIDED_BY_LAMBDA },
      },
      {
        ...parent,
        // The role must hold its permissions before anything (e.g. an SQS event source) is wired to it.
        dependsOn: [access, ...attachments],
      },
    );

    this.registerOutputs({ functionName: this.function.name, functionArn: this.function.arn });
  }
}
