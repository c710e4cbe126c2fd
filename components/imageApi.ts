import { createHash } from "node:crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import {
  API_KEY_HEADER,
  GATEWAY_ANSWERS,
  gatewayAnswerBody,
  methodNotAllowedAnswer,
  notFoundAnswer,
  requiresApiKey,
  type ApiAuth,
  type GatewayAnswer,
} from "../runtime/api-access";
import { createRouter } from "../runtime/http-handler";
import { ROUTES, type Permission, type Route } from "../runtime/routes";
import type { BucketPrefixAccess } from "./bucketPrefixAccess";
import { HandlerFunction } from "./handlerFunction";
import type { PolicyStatement } from "./policy";
import { toHandlerEnv, type HandlerSettings, type OptionalSetting } from "../runtime/config";
import { apiModelBudget } from "../runtime/time-budget";
import { commonSettings, FoundationModel, invokeModelStatement, type StackIdentity } from "./wiring";

/** Arguments of {@link ImageApi}. */
export interface ImageApiArgs {
  /** The stack's name prefix and metrics service, and the boundary every route function's role carries. */
  identity: StackIdentity;
  /** Where pictures are read and written; the routes get the prefix policies they need. */
  storage: BucketPrefixAccess;
  /** The model `POST /generate` may invoke. */
  model: FoundationModel;
  /** The queue `POST /images` sends jobs to (it may only send). */
  queue: aws.sqs.Queue;
  /** Lifetime of the presigned picture URLs the API hands out. */
  urlExpirySeconds: number;
  /** Timeout of the route functions in seconds; API Gateway gives up after 29 s anyway. */
  apiTimeoutSeconds: number;
  /** Memory of the route functions in MB. */
  apiMemoryMb: number;
  /**
   * Steady-state requests per second the stage lets through to the functions (all routes together);
   * the rest get 429 before any function or model runs. A target, not a hard cost cap: AWS applies
   * throttling and usage plan quotas on a best-effort basis ("Don't rely on usage plans to control
   * costs", https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html).
   */
  apiThrottleRateLimit: number;
  /** Requests the stage absorbs in a burst (all routes together; at least one per route). */
  apiThrottleBurstLimit: number;
  /** Days CloudWatch keeps access and function logs. */
  logRetentionDays: number;
  /** `none`: anyone may call; `apiKey`: the picture routes need a key of the usage plan (runtime/api-access.ts). */
  apiAuth: ApiAuth;
  /** With apiKey: one API key per name; their values are the `apiKeys` stack output (a secret). */
  apiKeyNames: string[];
  /** With apiKey: requests to the picture routes each key may make per day (the usage plan's DAY period). */
  apiKeyDailyQuota: number;
  /** With apiKey: steady-state requests per second of one key. */
  apiKeyRateLimit: number;
  /** With apiKey: burst of one key. */
  apiKeyBurstLimit: number;
}

/**
 * API Gateway's integration timeout for REST APIs, in ms: its default and maximum without a quota
 * increase ("Quotas for configuring and running a REST API",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html).
 */
const REST_API_MAX_INTEGRATION_MS = 29000;

/** The stage: the first path segment of every URL (runtime/http.ts strips it as the request's basePath). */
export const STAGE_NAME = "v1";

/** What a route's function may do, as IAM: statements of its own role and policies to attach. */
interface Grant {
  statements?: PolicyStatement[];
  policyArns?: Record<string, pulumi.Input<string>>;
}

/** The function behind a route: a Lambda proxy integration's event and result (payload 1.0). */
type RouteFunction = HandlerFunction<APIGatewayProxyEvent, APIGatewayProxyResult>;

/** What each permission a route may need grants its function's role. */
function routeGrants(args: ImageApiArgs): Record<Permission, Grant> {
  return {
    "invoke-model": { statements: [invokeModelStatement(args.model)] },
    "read-pictures": { policyArns: { "read-pictures": args.storage.readPolicy.arn } },
    "write-pictures": { policyArns: { "write-pictures": args.storage.writePolicy.arn } },
    "job-markers": { policyArns: { "job-markers": args.storage.jobMarkerPolicy.arn } },
    "send-jobs": {
      statements: [{ Sid: "SendToImageQueue", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: args.queue.arn }],
    },
  };
}

/** One access log line per request, JSON: who called with which key, what the gateway or the function answered. */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: "$context.requestId",
  ip: "$context.identity.sourceIp",
  apiKeyId: "$context.identity.apiKeyId",
  requestTime: "$context.requestTime",
  method: "$context.httpMethod",
  resourcePath: "$context.resourcePath",
  status: "$context.status",
  responseLength: "$context.responseLength",
  latencyMs: "$context.responseLatency",
  gatewayAnswer: "$context.error.responseType",
  integrationStatus: "$context.integration.status",
  integrationError: "$context.integration.error",
});

/**
 * The request Content-Types the MOCK catch-alls have a mapping template for. A mock integration
 * answers the status code its integration request template returns (`{"statusCode": 404}`,
 * "Mock integrations for REST APIs in API Gateway",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-mock-integration.html), so
 * a body that passed through untransformed (WHEN_NO_MATCH) would reach the mock with no status
 * code. Templates exist for JSON (also what API Gateway assumes when there is no Content-Type) and
 * for what curl -d and Postman's raw text send; with passthrough NEVER any other type is refused
 * with 415 Unsupported Media Type, the UNSUPPORTED_MEDIA_TYPE gateway response below
 * ("Method request behavior for payloads without mapping templates",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html).
 */
const MOCK_BODY_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded"];

/**
 * Gateway responses: what API Gateway answers itself, before any function runs, in our JSON
 * ("Gateway response types", https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
 * With apiKeySource HEADER every request to a method that requires a key must carry one in
 * `X-API-Key`; a key that is missing or matches none of the usage plan's is an InvalidKeyParameter
 * error, a 403 ("Choose an API key source",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-key-source.html),
 * which is the INVALID_API_KEY response type ("an invalid API key submitted for a method requiring
 * an API key", in "Gateway response types"). Were a missing key another 4XX type, DEFAULT_4XX would still
 * answer it in our JSON (code bad-request).
 * MISSING_AUTHENTICATION_TOKEN is what a REST API
 * answers for a path or method it does not have, which the catch-all methods below leave to
 * nothing but a request they cannot match. DEFAULT_4XX and DEFAULT_5XX keep their status codes
 * (setting one would change the status of every 4XX/5XX response) and only get our body.
 */
const GATEWAY_RESPONSES: Record<string, GatewayAnswer | { code: string; error: string; template: string }> = {
  UNSUPPORTED_MEDIA_TYPE: {
    statusCode: 415,
    code: "unsupported-media-type",
    error: `send the body as ${MOCK_BODY_TYPES.join(", ")}`,
  },
  INVALID_API_KEY: GATEWAY_ANSWERS.invalidApiKey,
  QUOTA_EXCEEDED: GATEWAY_ANSWERS.quotaExceeded,
  THROTTLED: GATEWAY_ANSWERS.throttled,
  MISSING_AUTHENTICATION_TOKEN: notFoundAnswer(ROUTES),
  DEFAULT_4XX: {
    code: "bad-request",
    error: "$context.error.messageString",
    template: '{"error":$context.error.messageString,"code":"bad-request"}',
  },
  DEFAULT_5XX: {
    code: GATEWAY_ANSWERS.gatewayError.code,
    error: GATEWAY_ANSWERS.gatewayError.error,
    template: gatewayAnswerBody(GATEWAY_ANSWERS.gatewayError),
  },
};

/**
 * The public REST API: `POST /generate`, `POST /images` and `GET /images/{id}`, each backed by its own
 * callback function running that route of the runtime's route table (runtime/routes.ts), which
 * decides the routes, each function's settings and what its role may do.
 *
 * Why a REST API and not the HTTP API it replaced: callers with keys, and per-key throttling and a
 * daily quota enforced by API Gateway itself, are REST API usage plans
 * ("Usage plans and API keys for REST APIs", https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html);
 * HTTP APIs have no API keys. The functions get payload 1.0 (Lambda proxy), which runtime/http.ts reads.
 *
 * Why hand-wired `@pulumi/aws` resources, not `@pulumi/awsx` or `@pulumi/aws-apigateway`: both
 * RestAPI components are multi-language components that run in a provider plugin, so under
 * `pulumi.runtime.setMocks` they are one opaque call, and they would be two more runtime
 * dependencies that every function archive zips unless excluded one by one
 * (HandlerFunction's codePathOptions). Their routes would take our functions as event handlers,
 * but the gateway responses, the 404/405 catch-alls, the per-method stage throttling and the
 * access log format below would still be ours to write; a few resources per route, read straight
 * from the route table, are easier to test than a generated OpenAPI document.
 *
 * Why one function per route: each gets a role with only what its route does — generating may invoke
 * the model and write pictures, queueing may only send to the queue, status may only read — an
 * archive with only its route's code, and each route's errors, duration and logs show up separately.
 */
export class ImageApi extends pulumi.ComponentResource {
  public readonly api: aws.apigateway.RestApi;
  public readonly stage: aws.apigateway.Stage;
  public readonly accessLogs: aws.cloudwatch.LogGroup;
  /** Route functions by key: generate, enqueue, status. */
  public readonly functions: Record<string, RouteFunction>;
  /** Base URL of the API (ends with "/"). */
  public readonly url: pulumi.Output<string>;
  /** With apiKey: the usage plan every key belongs to. */
  public readonly usagePlan?: aws.apigateway.UsagePlan;
  /** Key name → key value, a secret; empty without keys. */
  public readonly apiKeys: pulumi.Output<Record<string, string>>;

  private readonly parent = { parent: this };
  private readonly apiDefinition: pulumi.Resource[] = [];

  constructor(name: string, args: ImageApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("couch-explorers:components:ImageApi", name, {}, opts);
    // The model's tries share what each invocation has left (runtime/time-budget.ts); a timeout
    // too short for them is refused here, at preview, rather than by every request.
    apiModelBudget(args.apiTimeoutSeconds);
    const throttle = perMethodThrottle(args.apiThrottleRateLimit, args.apiThrottleBurstLimit, ROUTES.length);

    this.api = new aws.apigateway.RestApi(
      `${name}-rest`,
      {
        name: `${args.identity.serviceName}-api`,
        description: "Couch Explorers: prompts become pictures",
        endpointConfiguration: { types: "REGIONAL" },
        apiKeySource: "HEADER",
      },
      this.parent,
    );
    const resources = this.pathResources(
      name,
      ROUTES.map((r) => r.path),
    );
    this.functions = this.routeFunctions(name, args, resources);
    this.catchAllAnswers(name, resources);
    for (const [type, answer] of Object.entries(GATEWAY_RESPONSES)) this.gatewayResponse(name, type, answer);

    this.accessLogs = new aws.cloudwatch.LogGroup(
      `${name}-access-logs`,
      {
        name: `/aws/apigateway/${args.identity.serviceName}-api`,
        retentionInDays: args.logRetentionDays,
      },
      this.parent,
    );
    this.stage = this.deployedStage(name, args.apiAuth);
    new aws.apigateway.MethodSettings(
      `${name}-throttling`,
      {
        restApi: this.api.id,
        stageName: this.stage.stageName,
        methodPath: "*/*",
        settings: { ...throttle, metricsEnabled: true },
      },
      this.parent,
    );

    if (args.apiAuth === "apiKey") {
      this.usagePlan = this.callerUsagePlan(name, args);
      this.apiKeys = this.callerKeys(name, args, this.usagePlan);
    } else {
      this.apiKeys = pulumi.output<Record<string, string>>({});
    }

    this.url = this.stage.invokeUrl.apply((url) => (url.endsWith("/") ? url : `${url}/`));
    this.registerOutputs({ url: this.url });
  }

  /** One function per route, each behind its route's method, with only its route's settings and permissions. */
  private routeFunctions(
    name: string,
    args: ImageApiArgs,
    resources: Record<string, aws.apigateway.Resource>,
  ): Record<string, RouteFunction> {
    const common = commonSettings(args.storage, args.model, args.identity.serviceName);
    // The settings a route may need beyond the common ones; each function gets only its route's.
    const optional: Pick<HandlerSettings<pulumi.Input<string>>, OptionalSetting> = {
      urlExpirySeconds: args.urlExpirySeconds,
      queueUrl: args.queue.url,
    };
    const grants = routeGrants(args);
    const functions: Record<string, RouteFunction> = {};
    for (const route of ROUTES) {
      const granted = route.permissions.map((p) => grants[p]);
      const fn = new HandlerFunction<APIGatewayProxyEvent, APIGatewayProxyResult>(
        `${name}-${route.key}`,
        {
          description: route.description,
          // Serialized with the one route it captures: the archive holds that route's code only.
          callbackFactory: () => createRouter([route], process.env),
          environment: toHandlerEnv({
            ...common,
            ...Object.fromEntries(route.settings.map((key) => [key, optional[key]])),
          }),
          statements: granted.flatMap((g) => g.statements ?? []),
          policyArns: Object.assign({}, ...granted.map((g) => g.policyArns ?? {})),
          timeoutSeconds: args.apiTimeoutSeconds,
          memorySizeMb: args.apiMemoryMb,
          logRetentionDays: args.logRetentionDays,
          permissionsBoundary: args.identity.permissionsBoundary,
        },
        this.parent,
      );
      functions[route.key] = fn;
      this.routeMethod(name, route, resources[route.path], fn, requiresApiKey(route, args.apiAuth));
    }
    return functions;
  }

  /**
   * What the REST API would answer 403 "Missing Authentication Token" to: a path no route has
   * (404), and a route's path with another method (405; a route's own method wins over ANY).
   */
  private catchAllAnswers(name: string, resources: Record<string, aws.apigateway.Resource>): void {
    this.mockAnswer(`${name}-root-not-found`, this.api.rootResourceId, notFoundAnswer(ROUTES));
    const anyPath = new aws.apigateway.Resource(
      `${name}-any-path`,
      { restApi: this.api.id, parentId: this.api.rootResourceId, pathPart: "{proxy+}" },
      this.parent,
    );
    this.mockAnswer(`${name}-any-path-not-found`, anyPath.id, notFoundAnswer(ROUTES));
    for (const path of new Set(ROUTES.map((r) => r.path))) {
      const allowed = ROUTES.filter((r) => r.path === path).map((r) => r.method);
      this.mockAnswer(`${name}-${resourceKey(path)}-other-methods`, resources[path].id, methodNotAllowedAnswer(path, allowed));
    }
  }

  /** The stage callers reach, on a deployment of everything above, writing access logs. */
  private deployedStage(name: string, auth: ApiAuth): aws.apigateway.Stage {
    // A deployment is a snapshot of the API: a new one whenever what it answers changes.
    const deployment = new aws.apigateway.Deployment(
      `${name}-deployment`,
      {
        restApi: this.api.id,
        description: "Couch Explorers routes",
        triggers: { definition: definitionHash(auth) },
      },
      { ...this.parent, dependsOn: this.apiDefinition },
    );
    return new aws.apigateway.Stage(
      `${name}-stage`,
      {
        restApi: this.api.id,
        deployment: deployment.id,
        stageName: STAGE_NAME,
        accessLogSettings: { destinationArn: this.accessLogs.arn, format: ACCESS_LOG_FORMAT },
      },
      this.parent,
    );
  }

  /** The usage plan every key belongs to: each key's daily quota and rate on this stage. */
  private callerUsagePlan(name: string, args: ImageApiArgs): aws.apigateway.UsagePlan {
    return new aws.apigateway.UsagePlan(
      `${name}-usage-plan`,
      {
        name: `${args.identity.serviceName}-callers`,
        description: `Each key: ${args.apiKeyDailyQuota} pictures a day, ${args.apiKeyRateLimit}/s (burst ${args.apiKeyBurstLimit})`,
        apiStages: [{ apiId: this.api.id, stage: this.stage.stageName }],
        quotaSettings: { limit: args.apiKeyDailyQuota, period: "DAY" },
        throttleSettings: { rateLimit: args.apiKeyRateLimit, burstLimit: args.apiKeyBurstLimit },
      },
      this.parent,
    );
  }

  /** One API key per configured name, in the usage plan: key name → value, a secret. */
  private callerKeys(name: string, args: ImageApiArgs, usagePlan: aws.apigateway.UsagePlan): pulumi.Output<Record<string, string>> {
    const keys = args.apiKeyNames.map((keyName) => {
      const key = new aws.apigateway.ApiKey(
        `${name}-key-${keyName}`,
        {
          name: `${args.identity.serviceName}-${keyName}`,
          description: `Caller "${keyName}" of ${args.identity.serviceName}: send it in the ${API_KEY_HEADER} header`,
          enabled: true,
        },
        this.parent,
      );
      new aws.apigateway.UsagePlanKey(
        `${name}-key-${keyName}`,
        { keyId: key.id, keyType: "API_KEY", usagePlanId: usagePlan.id },
        this.parent,
      );
      return [keyName, key.value] as const;
    });
    return pulumi.secret(pulumi.all(Object.fromEntries(keys)));
  }

  /** One API resource per path segment of the routes, shared by routes under the same path: path → resource. */
  private pathResources(name: string, paths: string[]): Record<string, aws.apigateway.Resource> {
    const byPath: Record<string, aws.apigateway.Resource> = {};
    for (const path of paths) {
      let parentPath = "";
      for (const segment of path.split("/").filter(Boolean)) {
        const here = `${parentPath}/${segment}`;
        byPath[here] ??= new aws.apigateway.Resource(
          `${name}-${resourceKey(here)}`,
          {
            restApi: this.api.id,
            parentId: parentPath ? byPath[parentPath].id : this.api.rootResourceId,
            pathPart: segment,
          },
          this.parent,
        );
        parentPath = here;
      }
    }
    return byPath;
  }

  /** A route's method, proxied to its function (payload 1.0), and API Gateway's permission to invoke it. */
  private routeMethod(name: string, route: Route, resource: aws.apigateway.Resource, fn: RouteFunction, apiKeyRequired: boolean): void {
    const parent = this.parent;
    const method = new aws.apigateway.Method(
      `${name}-${route.key}`,
      {
        restApi: this.api.id,
        resourceId: resource.id,
        httpMethod: route.method,
        authorization: "NONE",
        apiKeyRequired,
      },
      parent,
    );
    const integration = new aws.apigateway.Integration(
      `${name}-${route.key}`,
      {
        restApi: this.api.id,
        resourceId: resource.id,
        httpMethod: method.httpMethod,
        type: "AWS_PROXY",
        integrationHttpMethod: "POST",
        uri: fn.function.invokeArn,
        timeoutMilliseconds: REST_API_MAX_INTEGRATION_MS,
      },
      parent,
    );
    this.apiDefinition.push(method, integration);
    // API Gateway may invoke this function for this method and path only (any stage; path
    // parameters become "*").
    new aws.lambda.Permission(
      `${name}-${route.key}-invoke`,
      {
        action: "lambda:InvokeFunction",
        function: fn.function.name,
        principal: "apigateway.amazonaws.com",
        sourceArn: pulumi.interpolate`${this.api.executionArn}/*/${route.method}${route.path.replace(/\{[^}]+\}/g, "*")}`,
      },
      parent,
    );
  }

  /**
   * ANY method on a resource that API Gateway answers itself (a MOCK integration): whatever the
   * request (with no body, or one of MOCK_BODY_TYPES), the default integration response (no
   * selection pattern) gives `answer`.
   */
  private mockAnswer(name: string, resourceId: pulumi.Input<string>, answer: GatewayAnswer): void {
    const parent = this.parent;
    const statusCode = String(answer.statusCode);
    const headers = Object.keys(answer.headers ?? {});
    const method = new aws.apigateway.Method(name, { restApi: this.api.id, resourceId, httpMethod: "ANY", authorization: "NONE" }, parent);
    const integration = new aws.apigateway.Integration(
      name,
      {
        restApi: this.api.id,
        resourceId,
        httpMethod: method.httpMethod,
        type: "MOCK",
        passthroughBehavior: "NEVER",
        requestTemplates: Object.fromEntries(MOCK_BODY_TYPES.map((type) => [type, JSON.stringify({ statusCode: answer.statusCode })])),
      },
      parent,
    );
    const methodResponse = new aws.apigateway.MethodResponse(
      name,
      {
        restApi: this.api.id,
        resourceId,
        httpMethod: method.httpMethod,
        statusCode,
        responseParameters: Object.fromEntries(headers.map((h) => [`method.response.header.${h}`, true])),
      },
      parent,
    );
    const integrationResponse = new aws.apigateway.IntegrationResponse(
      name,
      {
        restApi: this.api.id,
        resourceId,
        httpMethod: method.httpMethod,
        statusCode: methodResponse.statusCode,
        responseTemplates: { "application/json": gatewayAnswerBody(answer) },
        responseParameters: Object.fromEntries(headers.map((h) => [`method.response.header.${h}`, `'${answer.headers![h]}'`])),
      },
      { ...parent, dependsOn: [integration] },
    );
    this.apiDefinition.push(method, integration, methodResponse, integrationResponse);
  }

  private gatewayResponse(name: string, type: string, answer: (typeof GATEWAY_RESPONSES)[string]): void {
    const fixed = "statusCode" in answer;
    const headers = fixed ? (answer.headers ?? {}) : {};
    this.apiDefinition.push(
      new aws.apigateway.Response(
        `${name}-${type.toLowerCase().replace(/_/g, "-")}`,
        {
          restApiId: this.api.id,
          responseType: type,
          ...(fixed ? { statusCode: String(answer.statusCode) } : {}),
          responseTemplates: { "application/json": fixed ? gatewayAnswerBody(answer) : answer.template },
          responseParameters: {
            "gatewayresponse.header.Content-Type": "'application/json'",
            ...Object.fromEntries(Object.entries(headers).map(([h, v]) => [`gatewayresponse.header.${h}`, `'${v}'`])),
          },
        },
        this.parent,
      ),
    );
  }
}

/** `/images/{id}` → `images-id`: a resource's part of a Pulumi name. */
function resourceKey(path: string): string {
  return (
    path
      .split("/")
      .filter(Boolean)
      .map((s) => s.replace(/[{}+]/g, ""))
      .join("-") || "root"
  );
}

/**
 * The stage's limits per method. A REST API applies a stage's throttling to each method on its own
 * ("Per-API, per-stage throttling limits are applied at the API method level for a stage",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html),
 * so the configured totals are shared out: the route methods' rates add up to the configured rate
 * and their bursts to at most the configured burst. (The MOCK catch-alls get a share too; they run
 * no function.)
 */
export function perMethodThrottle(
  rateLimit: number,
  burstLimit: number,
  methods: number,
): { throttlingRateLimit: number; throttlingBurstLimit: number } {
  if (burstLimit < methods) {
    throw new Error(
      `apiThrottleBurstLimit must be at least ${methods} (one request per route: the stage's limits are shared out among its ${methods} routes), got ${burstLimit}`,
    );
  }
  return { throttlingRateLimit: rateLimit / methods, throttlingBurstLimit: Math.floor(burstLimit / methods) };
}

/** What a deployment snapshots: the routes, which of them need a key, every answer of the gateway and the bodies its catch-alls read. */
function definitionHash(auth: ApiAuth): string {
  const routes = ROUTES.map((r) => ({ method: r.method, path: r.path, key: requiresApiKey(r, auth) }));
  return createHash("sha256")
    .update(JSON.stringify({ routes, answers: GATEWAY_RESPONSES, mockBodies: MOCK_BODY_TYPES, version: 1 }))
    .digest("hex");
}
