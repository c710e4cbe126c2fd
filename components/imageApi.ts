import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { APIGatewayProxyEventV2, APIGatewayProxyResult } from "aws-lambda";
import { createRouter } from "../runtime/http-handler";
import { ROUTES, type Permission } from "../runtime/routes";
import type { BucketPrefixAccess } from "./bucketPrefixAccess";
import { HandlerFunction } from "./handlerFunction";
import type { PolicyStatement } from "./policy";
import { toHandlerEnv, type HandlerSettings, type OptionalSetting } from "../runtime/config";
import { apiModelBudget } from "../runtime/time-budget";
import { commonSettings, FoundationModel, invokeModelStatement } from "./wiring";

/** Arguments of {@link ImageApi}. */
export interface ImageApiArgs {
  /** Where pictures are read and written; the routes get the prefix policies they need. */
  storage: BucketPrefixAccess;
  /** The model `POST /generate` may invoke. */
  model: FoundationModel;
  /** The queue `POST /images` sends jobs to (it may only send). */
  queue: aws.sqs.Queue;
  /** Lifetime of the presigned picture URLs the API hands out. */
  urlExpirySeconds: number;
  /** Timeout of the route functions in seconds; the HTTP API gives up after 30 s anyway. */
  apiTimeoutSeconds: number;
  /** Memory of the route functions in MB. */
  apiMemoryMb: number;
  /**
   * Steady-state requests per second the stage lets through (all routes together); the rest get 429
   * before any function or model runs, so a flood cannot run up the model bill.
   */
  apiThrottleRateLimit: number;
  /** Requests the stage absorbs in a burst. */
  apiThrottleBurstLimit: number;
  /** Days CloudWatch keeps access and function logs. */
  logRetentionDays: number;
}

/** The HTTP API's own integration limit. */
const HTTP_API_MAX_INTEGRATION_MS = 30000;

/** What a route's function may do, as IAM: statements of its own role and policies to attach. */
interface Grant {
  statements?: PolicyStatement[];
  policyArns?: Record<string, pulumi.Input<string>>;
}

/**
 * The public HTTP API: `POST /generate`, `POST /images` and `GET /images/{id}`, each backed by its own
 * callback function running that route of the runtime's route table (runtime/routes.ts), which
 * decides the routes, each function's settings and what its role may do.
 *
 * Why `@pulumi/aws` apigatewayv2 (an HTTP API) and not `@pulumi/awsx`'s classic API Gateway: an HTTP
 * API costs less than a REST API, speaks the 2.0 payload the handler reads natively, and has stage
 * throttling and access logs built in — all we need — while awsx would be one more dependency whose
 * classic component builds a REST API from an OpenAPI document.
 *
 * Why one function per route: each gets a role with only what its route does — generating may invoke
 * the model and write pictures, queueing may only send to the queue, status may only read — an
 * archive with only its route's code, and each route's errors, duration and logs show up separately.
 */
export class ImageApi extends pulumi.ComponentResource {
  public readonly api: aws.apigatewayv2.Api;
  public readonly stage: aws.apigatewayv2.Stage;
  public readonly accessLogs: aws.cloudwatch.LogGroup;
  /** Route functions by key: generate, enqueue, status. */
  public readonly functions: Record<string, HandlerFunction<APIGatewayProxyEventV2, APIGatewayProxyResult>>;
  /** Base URL of the API (ends with "/"). */
  public readonly url: pulumi.Output<string>;

  constructor(name: string, args: ImageApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("couch-explorers:components:ImageApi", name, {}, opts);
    const parent = { parent: this };
    const { apiTimeoutSeconds: timeoutSeconds, logRetentionDays } = args;
    // The model's tries share what each invocation has left (runtime/time-budget.ts); a timeout
    // too short for them is refused here, at preview, rather than by every request.
    apiModelBudget(timeoutSeconds);
    const common = commonSettings(args.storage, args.model);
    // The settings a route may need beyond the common ones; each function gets only its route's.
    const optional: Pick<HandlerSettings<pulumi.Input<string>>, OptionalSetting> = {
      urlExpirySeconds: args.urlExpirySeconds,
      queueUrl: args.queue.url,
    };
    const grants: Record<Permission, Grant> = {
      "invoke-model": { statements: [invokeModelStatement(args.model)] },
      "read-pictures": { policyArns: { "read-pictures": args.storage.readPolicy.arn } },
      "write-pictures": { policyArns: { "write-pictures": args.storage.writePolicy.arn } },
      "job-markers": { policyArns: { "job-markers": args.storage.jobMarkerPolicy.arn } },
      "send-jobs": { statements: [{ Sid: "SendToImageQueue", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: args.queue.arn }] },
    };

    this.api = new aws.apigatewayv2.Api(`${name}-http`, {
      protocolType: "HTTP",
      description: "Couch Explorers: prompts become pictures",
    }, parent);

    this.accessLogs = new aws.cloudwatch.LogGroup(`${name}-access-logs`, {
      name: `/aws/apigateway/${name}`,
      retentionInDays: logRetentionDays,
    }, parent);

    this.functions = {};
    const routeResources: pulumi.Resource[] = [];
    for (const route of ROUTES) {
      const granted = route.permissions.map((p) => grants[p]);
      const fn = new HandlerFunction<APIGatewayProxyEventV2, APIGatewayProxyResult>(`${name}-${route.key}`, {
        description: route.description,
        // Serialized with the one route it captures: the archive holds that route's code only.
        callbackFactory: () => createRouter([route], process.env),
        environment: toHandlerEnv({ ...common, ...Object.fromEntries(route.settings.map((key) => [key, optional[key]])) }),
        statements: granted.flatMap((g) => g.statements ?? []),
        policyArns: Object.assign({}, ...granted.map((g) => g.policyArns ?? {})),
        timeoutSeconds,
        memorySizeMb: args.apiMemoryMb,
        logRetentionDays,
      }, parent);
      this.functions[route.key] = fn;

      const integration = new aws.apigatewayv2.Integration(`${name}-${route.key}`, {
        apiId: this.api.id,
        integrationType: "AWS_PROXY",
        integrationUri: fn.function.arn,
        integrationMethod: "POST",
        payloadFormatVersion: "2.0",
        timeoutMilliseconds: HTTP_API_MAX_INTEGRATION_MS,
      }, parent);
      routeResources.push(new aws.apigatewayv2.Route(`${name}-${route.key}`, {
        apiId: this.api.id,
        routeKey: `${route.method} ${route.path}`,
        target: pulumi.interpolate`integrations/${integration.id}`,
      }, parent));
      // API Gateway may invoke this function for this method and path only (any stage; path
      // parameters become "*").
      new aws.lambda.Permission(`${name}-${route.key}-invoke`, {
        action: "lambda:InvokeFunction",
        function: fn.function.name,
        principal: "apigateway.amazonaws.com",
        sourceArn: pulumi.interpolate`${this.api.executionArn}/*/${route.method}${route.path.replace(/\{[^}]+\}/g, "*")}`,
      }, parent);
    }

    // One auto-deployed $default stage: the URL has no stage segment and route changes go live on `pulumi up`.
    this.stage = new aws.apigatewayv2.Stage(`${name}-stage`, {
      apiId: this.api.id,
      name: "$default",
      autoDeploy: true,
      defaultRouteSettings: {
        throttlingRateLimit: args.apiThrottleRateLimit,
        throttlingBurstLimit: args.apiThrottleBurstLimit,
        detailedMetricsEnabled: true,
      },
      accessLogSettings: {
        destinationArn: this.accessLogs.arn,
        format: JSON.stringify({
          requestId: "$context.requestId",
          ip: "$context.identity.sourceIp",
          requestTime: "$context.requestTime",
          routeKey: "$context.routeKey",
          status: "$context.status",
          responseLength: "$context.responseLength",
          latencyMs: "$context.responseLatency",
          integrationStatus: "$context.integrationStatus",
          integrationError: "$context.integrationErrorMessage",
        }),
      },
    }, { ...parent, dependsOn: routeResources });

    this.url = this.stage.invokeUrl;
    this.registerOutputs({ url: this.url });
  }
}
