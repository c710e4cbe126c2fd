import assert from "node:assert/strict";
import { LAMBDA_RUNTIME } from "../../components/handlerFunction";
import { perMethodThrottle } from "../../components/imageApi";
import { publicOfferToken } from "../../components/modelAccess";
import { DEFAULTS } from "../../runtime/defaults";
import { ENV } from "../../runtime/env";
import { METRICS } from "../../runtime/metric-names";
import { apiModelBudget, workerModelBudget } from "../../runtime/time-budget";
import {
  cfg,
  cfgNumber,
  functionsByKey,
  LONGEST_CANDIDATE,
  one,
  ofType,
  OWN_BUCKET_OF_ANOTHER_CANDIDATE,
  pathOf,
  TYPES,
} from "../../tools/query";
import { evaluateInBackground, evaluateStack, type EvaluatedStack } from "../../tools/stack";

const ROUTES = {
  "POST /generate": { fn: "generate", sourceArnPath: "POST/generate" },
  "POST /images": { fn: "enqueue", sourceArnPath: "POST/images" },
  "GET /images/{id}": { fn: "status", sourceArnPath: "GET/images/*" },
} as const;

/** The dev stack's config variants evaluated below, all started when the file loads (each evaluation takes seconds of CPU). */
const DEV_VARIANTS = {
  // Removing the stack's value leaves Pulumi.yaml's empty default: "create a bucket" (for a second candidate).
  ownBucket: OWN_BUCKET_OF_ANOTHER_CANDIDATE,
  freshAccount: { "couch-explorers:acceptModelAgreement": null },
  amazonModelAsked: {
    "couch-explorers:acceptModelAgreement": "true",
    "couch-explorers:modelId": "amazon.nova-canvas-v1:0",
    "couch-explorers:bedrockRegion": "us-east-1",
  },
  noAdapter: { "couch-explorers:modelId": "stability.sd3-large-v1:0" },
  inferenceProfile: { "couch-explorers:modelId": "us.amazon.nova-canvas-v1:0" },
  wholeBucketPrefix: { "couch-explorers:imagePrefix": "/" },
} satisfies Record<string, Record<string, string | null>>;
evaluateInBackground(Object.values(DEV_VARIANTS).map((overrides) => ["dev", overrides]));

const COMPONENT_TYPES = ["ModelAccess", "BucketPrefixAccess", "ImageJobs", "ImageApi", "QueueAgeAlarm", "ImageDashboard"].map(
  (c) => `couch-explorers:components:${c}`,
);

for (const stackName of ["dev", "prod"]) {
  describe(`infra: the ${stackName} stack under mocks`, function () {
    this.timeout(120000);
    let stack: EvaluatedStack;
    before(() => {
      stack = evaluateStack(stackName);
    });

    it("builds the components, each once, with every resource parented below one of them", () => {
      for (const type of COMPONENT_TYPES) assert.equal(ofType(stack, type).length, 1, type);
      assert.equal(ofType(stack, "couch-explorers:components:HandlerFunction").length, 4);
      const topLevel = stack.resources.filter((r) => !r.parent).map((r) => r.type);
      assert.deepEqual([...topLevel].sort(), [...COMPONENT_TYPES].sort(), "only the components sit at the stack root");
      const urns = new Set(stack.resources.map((r) => r.urn));
      for (const r of stack.resources) if (r.parent) assert.ok(urns.has(r.parent), `${r.name}'s parent is not in the stack`);
    });

    it("routes POST /generate, POST /images and GET /images/{id} of a REST API to their own functions (AWS_PROXY, payload 1.0)", () => {
      const api = one(stack, TYPES.api);
      const fns = functionsByKey(stack);
      const routeMethods = ofType(stack, TYPES.method).filter((m) => m.inputs.httpMethod !== "ANY");
      assert.deepEqual(
        routeMethods.map((m) => `${m.inputs.httpMethod} ${pathOf(stack, m.inputs.resourceId)}`).sort(),
        Object.keys(ROUTES).sort(),
      );
      const targets = new Set<string>();
      for (const method of routeMethods) {
        const routeKey = `${method.inputs.httpMethod} ${pathOf(stack, method.inputs.resourceId)}` as keyof typeof ROUTES;
        const expected = ROUTES[routeKey];
        const fn = fns[expected.fn];
        assert.equal(method.inputs.restApi, api.id);
        assert.equal(method.inputs.authorization, "NONE");
        const integration = ofType(stack, TYPES.integration).find(
          (i) => i.inputs.resourceId === method.inputs.resourceId && i.inputs.httpMethod === method.inputs.httpMethod,
        );
        assert.ok(integration, `${routeKey} has no integration`);
        // AWS_PROXY to a Lambda function is payload 1.0 on a REST API; a Lambda invocation is a POST.
        assert.equal(integration.inputs.type, "AWS_PROXY");
        assert.equal(integration.inputs.integrationHttpMethod, "POST");
        assert.equal(integration.inputs.uri, fn.state.invokeArn, `${routeKey} → ${fn.name}`);
        assert.ok(integration.inputs.timeoutMilliseconds <= 29000);
        targets.add(integration.inputs.uri);
        const permission = ofType(stack, TYPES.permission).find(
          (p) => p.inputs.function === fn.state.name && p.inputs.principal === "apigateway.amazonaws.com",
        );
        assert.ok(permission, `API Gateway may not invoke ${fn.name}`);
        assert.equal(permission.inputs.action, "lambda:InvokeFunction");
        assert.equal(permission.inputs.sourceArn, `${api.state.executionArn}/*/${expected.sourceArnPath}`);
      }
      assert.equal(targets.size, 3, "each route has its own function");
    });

    it("answers an unknown path 404 and another method on a route's path 405, as {error, code}, without a function", () => {
      const mocks = ofType(stack, TYPES.method).filter((m) => m.inputs.httpMethod === "ANY");
      const answerOn = (path: string) => {
        const method = mocks.find((m) => pathOf(stack, m.inputs.resourceId) === path);
        assert.ok(method, `no catch-all on ${path}`);
        assert.equal(method.inputs.apiKeyRequired ?? false, false);
        const integration = ofType(stack, TYPES.integration).find(
          (i) => i.inputs.resourceId === method.inputs.resourceId && i.inputs.httpMethod === "ANY",
        );
        assert.equal(integration?.inputs.type, "MOCK");
        // Bodies of types without a template are refused (415), never passed to the mock without a status code.
        assert.equal(integration.inputs.passthroughBehavior, "NEVER", path);
        const templates: Record<string, string> = integration.inputs.requestTemplates;
        for (const type of ["application/json", "text/plain", "application/x-www-form-urlencoded"]) {
          assert.ok(
            templates[type],
            `the catch-all on ${path} has no template for ${type} (curl -d sends form-urlencoded, Postman's raw text text/plain)`,
          );
        }
        const response = ofType(stack, TYPES.integrationResponse).find((r) => r.inputs.resourceId === method.inputs.resourceId);
        assert.ok(response, `no answer on ${path}`);
        assert.equal(response.inputs.selectionPattern, undefined, "the default integration response answers whatever the request");
        // Every template asks the mock for the status the default integration response answers.
        for (const [type, template] of Object.entries(templates))
          assert.deepEqual(JSON.parse(template), { statusCode: Number(response.inputs.statusCode) }, `${path} ${type}`);
        return {
          status: Number(response.inputs.statusCode),
          body: JSON.parse(response.inputs.responseTemplates["application/json"]),
          headers: response.inputs.responseParameters ?? {},
        };
      };
      for (const path of ["/", "/{proxy+}"]) {
        const answer = answerOn(path);
        assert.equal(answer.status, 404);
        assert.equal(answer.body.code, "not-found");
        assert.match(answer.body.error, /POST \/generate, POST \/images, GET \/images\/\{id\}/);
      }
      for (const [path, allow] of [
        ["/generate", "POST"],
        ["/images", "POST"],
        ["/images/{id}", "GET"],
      ]) {
        const answer = answerOn(path);
        assert.equal(answer.status, 405, path);
        assert.equal(answer.body.code, "method-not-allowed");
        assert.equal(answer.headers["method.response.header.allow"], `'${allow}'`);
      }
    });

    it("answers the gateway's own errors as {error, code}: bad or missing key, quota, throttling, a body type the catch-alls do not read, anything else", () => {
      const responses = Object.fromEntries(ofType(stack, TYPES.gatewayResponse).map((r) => [r.inputs.responseType, r.inputs]));
      const expected = {
        INVALID_API_KEY: [403, "invalid-api-key"],
        QUOTA_EXCEEDED: [429, "quota-exceeded"],
        THROTTLED: [429, "throttled"],
        MISSING_AUTHENTICATION_TOKEN: [404, "not-found"],
        UNSUPPORTED_MEDIA_TYPE: [415, "unsupported-media-type"],
      } as const;
      for (const [type, [status, code]] of Object.entries(expected)) {
        assert.ok(responses[type], `no gateway response ${type}`);
        assert.equal(Number(responses[type].statusCode), status, type);
        const body = JSON.parse(responses[type].responseTemplates["application/json"]);
        assert.deepEqual(Object.keys(body).sort(), ["code", "error"], type);
        assert.equal(body.code, code, type);
      }
      assert.equal(responses.THROTTLED.responseParameters["gatewayresponse.header.retry-after"], "'1'");
      // The fallbacks keep API Gateway's status codes (setting one would change every 4XX/5XX) and render its message.
      for (const type of ["DEFAULT_4XX", "DEFAULT_5XX"]) {
        assert.equal(responses[type].statusCode, undefined, type);
        const rendered = responses[type].responseTemplates["application/json"].replace(
          "$context.error.messageString",
          JSON.stringify("Forbidden"),
        );
        assert.deepEqual(Object.keys(JSON.parse(rendered)).sort(), ["code", "error"], type);
      }
    });

    it("throttles the stage so all routes together get the configured limits, and writes access logs to a log group with retention", () => {
      const stage = one(stack, TYPES.stage);
      assert.equal(stage.inputs.stageName, "v1");
      const deployment = one(stack, TYPES.deployment);
      assert.equal(stage.inputs.deployment, deployment.id);
      for (const m of ofType(stack, TYPES.method))
        assert.ok(deployment.dependencies.includes(m.urn), `the deployment does not wait for ${m.name}`);
      // A REST stage's limits apply to each method: the route methods' shares add up to the configured totals.
      const settings = one(stack, TYPES.methodSettings);
      assert.equal(settings.inputs.methodPath, "*/*");
      const routes = Object.keys(ROUTES).length;
      assert.ok(Math.abs(settings.inputs.settings.throttlingRateLimit * routes - cfgNumber(stack, "apiThrottleRateLimit")) < 1e-9);
      assert.ok(settings.inputs.settings.throttlingBurstLimit >= 1);
      assert.ok(settings.inputs.settings.throttlingBurstLimit * routes <= cfgNumber(stack, "apiThrottleBurstLimit"));
      const logs = one(stack, TYPES.logGroup, "-api-access-logs");
      assert.equal(stage.inputs.accessLogSettings.destinationArn, logs.state.arn);
      assert.equal(logs.inputs.retentionInDays, cfgNumber(stack, "logRetentionDays"));
      const format = JSON.parse(stage.inputs.accessLogSettings.format);
      assert.equal(format.requestId, "$context.requestId");
      assert.equal(format.status, "$context.status");
      assert.equal(format.apiKeyId, "$context.identity.apiKeyId");
      assert.equal(stack.outputs.apiUrl, `${stage.state.invokeUrl}/`);
      assert.deepEqual(ofType(stack, "aws:apigateway/account:Account"), [], "the account's API Gateway settings belong to bootstrap/");
    });

    it("gives every role the candidate's permissions boundary", () => {
      const roles = ofType(stack, TYPES.role);
      assert.equal(roles.length, 4);
      for (const role of roles)
        assert.equal(role.inputs.permissionsBoundary, "arn:aws:iam::123456789012:policy/couch-explorers-candidate-42-boundary", role.name);
    });

    it("feeds the worker from the queue with partial batch responses, batch size and maximum concurrency from config", () => {
      const queue = one(stack, TYPES.queue, "-jobs-queue");
      const worker = functionsByKey(stack).worker;
      const mapping = one(stack, TYPES.eventSourceMapping);
      assert.equal(mapping.inputs.eventSourceArn, queue.state.arn);
      assert.equal(mapping.inputs.functionName, worker.state.name);
      assert.deepEqual(mapping.inputs.functionResponseTypes, ["ReportBatchItemFailures"]);
      assert.equal(mapping.inputs.batchSize, cfgNumber(stack, "queueBatchSize"));
      assert.equal(mapping.inputs.scalingConfig.maximumConcurrency, cfgNumber(stack, "queueMaxConcurrency"));
      assert.equal(mapping.inputs.enabled, true);
      // the subscription's own Lambda permission is narrowed from lambda:* to invoking
      const subscriptionPermission = ofType(stack, TYPES.permission).find((p) => p.inputs.principal === "sqs.amazonaws.com");
      assert.equal(subscriptionPermission?.inputs.action, "lambda:InvokeFunction");
    });

    it("redrives to the dead-letter queue after maxReceiveCount, with visibility ≥ 6 × the worker timeout", () => {
      const queue = one(stack, TYPES.queue, "-jobs-queue");
      const dlq = one(stack, TYPES.queue, "-jobs-dlq");
      const redrive = JSON.parse(queue.inputs.redrivePolicy);
      assert.equal(redrive.deadLetterTargetArn, dlq.state.arn);
      assert.equal(redrive.maxReceiveCount, cfgNumber(stack, "maxReceiveCount"));
      const workerTimeout = functionsByKey(stack).worker.inputs.timeout;
      assert.equal(workerTimeout, cfgNumber(stack, "workerTimeoutSeconds"));
      // AWS guidance for SQS-triggered functions, as a number here rather than the code's own constant.
      assert.ok(
        queue.inputs.visibilityTimeoutSeconds >= 6 * workerTimeout,
        `visibility ${queue.inputs.visibilityTimeoutSeconds}s vs timeout ${workerTimeout}s`,
      );
      assert.ok(dlq.inputs.messageRetentionSeconds > (queue.inputs.messageRetentionSeconds ?? 345600));
      assert.equal(stack.outputs.queueUrl, queue.state.url);
      assert.equal(stack.outputs.dlqUrl, dlq.state.url);
    });

    it("alarms on the age of the oldest message and on any dead letter, to an SNS topic with an e-mail subscription", () => {
      const queue = one(stack, TYPES.queue, "-jobs-queue");
      const dlq = one(stack, TYPES.queue, "-jobs-dlq");
      const topic = one(stack, TYPES.topic);
      const age = one(stack, TYPES.alarm, "-oldest-message-age");
      assert.equal(age.inputs.namespace, "AWS/SQS");
      assert.equal(age.inputs.metricName, "ApproximateAgeOfOldestMessage");
      assert.deepEqual(age.inputs.dimensions, { QueueName: queue.state.name });
      assert.equal(age.inputs.threshold, cfgNumber(stack, "alarmAgeThresholdSeconds"));
      assert.equal(age.inputs.period, cfgNumber(stack, "alarmPeriodSeconds"));
      assert.equal(age.inputs.evaluationPeriods, cfgNumber(stack, "alarmEvaluationPeriods"));
      assert.equal(age.inputs.comparisonOperator, "GreaterThanOrEqualToThreshold");
      const dead = one(stack, TYPES.alarm, "-dead-letters");
      assert.equal(dead.inputs.metricName, "ApproximateNumberOfMessagesVisible");
      assert.deepEqual(dead.inputs.dimensions, { QueueName: dlq.state.name });
      assert.equal(dead.inputs.threshold, 0);
      assert.equal(dead.inputs.comparisonOperator, "GreaterThanThreshold");
      for (const alarm of [age, dead]) {
        assert.equal(alarm.inputs.treatMissingData, "notBreaching");
        assert.deepEqual(alarm.inputs.alarmActions, [topic.state.arn]);
        assert.deepEqual(alarm.inputs.okActions, [topic.state.arn]);
      }
      const email = one(stack, TYPES.subscription);
      assert.equal(email.inputs.protocol, "email");
      assert.equal(email.inputs.endpoint, cfg(stack, "alarmEmail"));
      assert.equal(email.inputs.topic, topic.state.arn);
      assert.equal(stack.outputs.alarmTopicArn, topic.state.arn);
    });

    it("pins the runtime, sizes the functions from config and gives each a log group with retention", () => {
      const fns = functionsByKey(stack);
      for (const [key, fn] of Object.entries(fns)) {
        const api = key !== "worker";
        assert.equal(fn.inputs.runtime, LAMBDA_RUNTIME);
        assert.equal(fn.inputs.handler, "__index.handler");
        assert.equal(fn.inputs.timeout, cfgNumber(stack, api ? "apiTimeoutSeconds" : "workerTimeoutSeconds"), `${key} timeout`);
        assert.equal(fn.inputs.memorySize, cfgNumber(stack, api ? "apiMemoryMb" : "workerMemoryMb"), `${key} memory`);
        const logGroup = ofType(stack, TYPES.logGroup).find((g) => g.state.name === fn.inputs.loggingConfig.logGroup);
        assert.ok(logGroup, `${key} logs to a group the program does not create`);
        assert.equal(logGroup.inputs.retentionInDays, cfgNumber(stack, "logRetentionDays"));
      }
    });

    it("passes bucket, prefix, model, region and queue as environment variables, and no local endpoint", () => {
      const fns = functionsByKey(stack);
      const queue = one(stack, TYPES.queue, "-jobs-queue");
      for (const [key, fn] of Object.entries(fns)) {
        const vars: Record<string, string> = fn.inputs.environment.variables;
        assert.equal(vars[ENV.bucket], cfg(stack, "bucketName"), key);
        assert.equal(vars[ENV.prefix], cfg(stack, "imagePrefix"), key);
        assert.equal(vars[ENV.modelId], cfg(stack, "modelId"), key);
        assert.equal(vars[ENV.bedrockRegion], cfg(stack, "bedrockRegion"), key);
        assert.equal(vars[ENV.metricsService], `candidate-42-${stackName}`, `${key} ${ENV.metricsService}`);
        assert.equal(vars[ENV.queueUrl], key === "enqueue" ? queue.state.url : undefined, `${key} ${ENV.queueUrl}`);
        for (const local of [ENV.bedrockEndpoint, ENV.s3Endpoint, ENV.sqsEndpoint])
          assert.equal(vars[local], undefined, `${key} sets ${local}`);
        for (const value of Object.values(vars)) assert.equal(typeof value, "string");
        // Model calls (rounds × attempts × per-attempt wait) end before the function's timeout: the
        // handlers take their budget from the invocation's context, which counts down from it.
        assert.equal(vars.BEDROCK_TIMEOUT_MS, undefined, `${key}: the model's time comes from the invocation, not the environment`);
        const rounds = key === "worker" ? Math.ceil(cfgNumber(stack, "queueBatchSize") / Number(vars[ENV.workerConcurrency])) : 1;
        const budget =
          key === "worker"
            ? workerModelBudget(fn.inputs.timeout, {
                batchSize: cfgNumber(stack, "queueBatchSize"),
                workerConcurrency: Number(vars[ENV.workerConcurrency]),
              })
            : apiModelBudget(fn.inputs.timeout);
        const worstCaseMs = rounds * budget.attempts * budget.tryTimeoutMs;
        assert.ok(worstCaseMs < fn.inputs.timeout * 1000, `${key}: ${worstCaseMs} ms of model calls in a ${fn.inputs.timeout} s function`);
      }
      assert.equal(fns.worker.inputs.environment.variables[ENV.workerConcurrency], cfg(stack, "workerConcurrency"));
      assert.equal(
        fns.worker.inputs.environment.variables[ENV.maxReceiveCount],
        cfg(stack, "maxReceiveCount"),
        "the worker knows the redrive limit",
      );
      assert.ok(apiModelBudget(fns.generate.inputs.timeout).tryTimeoutMs < DEFAULTS.bedrockTimeoutMs, "the API's model calls are bounded");
      assert.equal(fns.generate.inputs.environment.variables[ENV.urlExpirySeconds], cfg(stack, "urlExpirySeconds"));
      assert.equal(stack.outputs.imageLocation, `s3://${cfg(stack, "bucketName")}/${cfg(stack, "imagePrefix")}/`);
    });

    it("draws a dashboard of queue age and depth, generation latency p50/p95, failures by kind and API 4xx/5xx", () => {
      const dashboard = one(stack, TYPES.dashboard);
      assert.equal(dashboard.inputs.dashboardName, `candidate-42-${stackName}`);
      const body = JSON.parse(dashboard.inputs.dashboardBody);
      const metrics = body.widgets.flatMap((w: any) => w.properties.metrics);
      const has = (pred: (m: any[]) => boolean, what: string) => assert.ok(metrics.some(pred), `dashboard lacks ${what}`);
      const queue = one(stack, TYPES.queue, "-jobs-queue").state.name;
      const dlq = one(stack, TYPES.queue, "-jobs-dlq").state.name;
      const api = one(stack, TYPES.api).inputs.name;
      has((m) => m[1] === "ApproximateAgeOfOldestMessage" && m[3] === queue, "oldest message age");
      has((m) => m[1] === "ApproximateNumberOfMessagesVisible" && m[3] === queue, "queue depth");
      has((m) => m[1] === "ApproximateNumberOfMessagesVisible" && m[3] === dlq, "DLQ depth");
      for (const stat of ["p50", "p95"]) {
        has(
          (m) =>
            m[0] === METRICS.namespace &&
            m[1] === METRICS.generationLatency.name &&
            m[2] === METRICS.serviceDimension &&
            m[3] === `candidate-42-${stackName}` &&
            m[4]?.stat === stat,
          `latency ${stat} of this stack`,
        );
      }
      has(
        (m) =>
          typeof m[0]?.expression === "string" &&
          m[0].expression.includes(METRICS.failures.dimension) &&
          m[0].expression.includes(METRICS.failures.name) &&
          m[0].expression.includes(`${METRICS.serviceDimension}="candidate-42-${stackName}"`),
        "failures by kind of this stack",
      );
      for (const code of ["4XXError", "5XXError"])
        has((m) => m[0] === "AWS/ApiGateway" && m[1] === code && m[2] === "ApiName" && m[3] === api && m[5] === "v1", `API ${code}`);
      for (const w of body.widgets) assert.equal(w.properties.region, "eu-west-1");
    });
  });
}

describe("infra: callers, keys and quotas", function () {
  this.timeout(120000);

  it("shares the stage's limits out among the route methods, and refuses a burst smaller than one request per route", () => {
    assert.deepEqual(perMethodThrottle(10, 20, 3), { throttlingRateLimit: 10 / 3, throttlingBurstLimit: 6 });
    assert.deepEqual(perMethodThrottle(1, 3, 3), { throttlingRateLimit: 1 / 3, throttlingBurstLimit: 1 });
    assert.throws(() => perMethodThrottle(1, 2, 3), /apiThrottleBurstLimit must be at least 3/);
  });

  it("prod: the picture routes need a key at the gateway; the status lookup does not (it would spend the quota)", () => {
    const prod = evaluateStack("prod");
    assert.equal(cfg(prod, "apiAuth"), "apiKey");
    const keyed = Object.fromEntries(
      ofType(prod, TYPES.method)
        .filter((m) => m.inputs.httpMethod !== "ANY")
        .map((m) => [`${m.inputs.httpMethod} ${pathOf(prod, m.inputs.resourceId)}`, m.inputs.apiKeyRequired]),
    );
    assert.deepEqual(keyed, { "POST /generate": true, "POST /images": true, "GET /images/{id}": false });
    assert.equal(one(prod, TYPES.api).inputs.apiKeySource, "HEADER");
  });

  it("prod: one usage plan on the stage with the configured daily quota and per-key throttle, one key per configured name, values as a secret output", () => {
    const prod = evaluateStack("prod");
    const plan = one(prod, TYPES.usagePlan);
    assert.deepEqual(plan.inputs.quotaSettings, { limit: cfgNumber(prod, "apiKeyDailyQuota"), period: "DAY" });
    assert.deepEqual(plan.inputs.throttleSettings, {
      rateLimit: cfgNumber(prod, "apiKeyRateLimit"),
      burstLimit: cfgNumber(prod, "apiKeyBurstLimit"),
    });
    const stage = one(prod, TYPES.stage);
    assert.deepEqual(plan.inputs.apiStages, [{ apiId: one(prod, TYPES.api).id, stage: stage.inputs.stageName }]);
    const names: string[] = JSON.parse(cfg(prod, "apiKeyNames"));
    assert.ok(names.length >= 1);
    const keys = ofType(prod, TYPES.apiKey);
    assert.deepEqual(keys.map((k) => k.inputs.name).sort(), names.map((n) => `candidate-42-prod-${n}`).sort());
    const links = ofType(prod, TYPES.usagePlanKey);
    assert.deepEqual(links.map((l) => l.inputs.keyId).sort(), keys.map((k) => k.id).sort());
    for (const link of links) assert.deepEqual([link.inputs.usagePlanId, link.inputs.keyType], [plan.id, "API_KEY"]);
    assert.deepEqual(Object.keys(prod.outputs.apiKeys as object).sort(), [...names].sort());
    for (const key of keys) assert.ok(Object.values(prod.outputs.apiKeys as object).includes(key.state.value));
  });

  it("dev: the exam's open endpoint, no key, no usage plan", () => {
    const dev = evaluateStack("dev");
    assert.equal(cfg(dev, "apiAuth"), "none");
    for (const m of ofType(dev, TYPES.method)) assert.notEqual(m.inputs.apiKeyRequired, true, m.name);
    assert.deepEqual([...ofType(dev, TYPES.usagePlan), ...ofType(dev, TYPES.apiKey)], []);
    assert.deepEqual(dev.outputs.apiKeys, {});
  });
});

/**
 * AWS's name limits, for what the bootstrap's roles reach by name and what else is named.
 * IAM role 64, policy 128: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
 * Lambda function 64: https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html
 * SQS queue 80: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
 * SNS topic 256: https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html
 * Log group 512: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html
 * Alarm 255: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
 * Dashboard 255: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html
 * S3 bucket 63: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 * API key name 1024: https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html
 */
const NAME_LIMITS: Record<string, { limit: number; field?: string }> = {
  [TYPES.role]: { limit: 64 },
  [TYPES.policy]: { limit: 128 },
  [TYPES.function]: { limit: 64 },
  [TYPES.queue]: { limit: 80 },
  [TYPES.topic]: { limit: 256 },
  [TYPES.logGroup]: { limit: 512 },
  [TYPES.alarm]: { limit: 255 },
  [TYPES.dashboard]: { limit: 255, field: "dashboardName" },
  [TYPES.bucket]: { limit: 63, field: "bucket" },
  [TYPES.api]: { limit: 1024 },
  [TYPES.usagePlan]: { limit: 1024 },
  [TYPES.apiKey]: { limit: 1024 },
};

/** Names as AWS gets them: the explicit one, or Pulumi's `<logical name>-<7 hex digits>`. */
function physicalNames(stack: EvaluatedStack): Array<{ type: string; name: string; explicit: boolean }> {
  return stack.resources.flatMap((r) => {
    const rule = NAME_LIMITS[r.type];
    if (!rule) return [];
    const explicit = r.inputs[rule.field ?? "name"];
    return [
      {
        type: r.type,
        name: typeof explicit === "string" ? explicit : `${r.name}-abcdef0`,
        explicit: typeof explicit === "string",
      },
    ];
  });
}

describe("infra: candidates and stacks in one account", function () {
  this.timeout(120000);
  const evaluated = (): Array<[EvaluatedStack, string]> => [
    [evaluateStack("dev"), "candidate-42"],
    [evaluateStack("prod"), "candidate-42"],
    [evaluateStack("dev", DEV_VARIANTS.ownBucket), LONGEST_CANDIDATE],
  ];

  it("every name contains its candidate and stack and fits AWS's limit, also for the longest candidate id; every role carries its candidate's boundary", () => {
    assert.equal(LONGEST_CANDIDATE.length, 32);
    for (const [stack, candidate] of evaluated()) {
      const names = physicalNames(stack);
      assert.ok(names.length >= 20, `only ${names.length} names`);
      for (const { type, name } of names) {
        assert.ok(name.includes(candidate), `${name} (${type}) does not contain ${candidate}`);
        assert.ok(
          name.length <= NAME_LIMITS[type].limit,
          `${name} (${type}) is ${name.length} characters; the limit is ${NAME_LIMITS[type].limit}`,
        );
      }
      // Auto-named resources get candidate and stack in their logical name, so their physical names differ too.
      for (const r of stack.resources) assert.ok(r.name.startsWith(`${candidate}-${stack.stack}-`), `logical name ${r.name}`);
      const boundaries = new Set(ofType(stack, TYPES.role).map((r) => r.inputs.permissionsBoundary));
      assert.deepEqual([...boundaries], [`arn:aws:iam::123456789012:policy/couch-explorers-${candidate}-boundary`]);
    }
  });

  it("no explicit name repeats between two candidates and two stacks", () => {
    const explicit = evaluated().map(([stack]) =>
      physicalNames(stack)
        .filter((n) => n.explicit)
        .map((n) => n.name),
    );
    assert.ok(explicit[0].length >= 8, `only ${explicit[0].length} explicit names`);
    const all = explicit.flat();
    assert.deepEqual(
      all.filter((n, i) => all.indexOf(n) !== i),
      [],
    );
  });
});

describe("infra: a stack that names no bucket (fresh account)", function () {
  this.timeout(120000);
  let stack: EvaluatedStack;
  before(() => {
    stack = evaluateStack("dev", DEV_VARIANTS.ownBucket);
  });

  it("creates a private bucket: public access blocked, encrypted, TLS only", () => {
    const bucket = one(stack, TYPES.bucket);
    const block = one(stack, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock");
    assert.equal(block.inputs.bucket, bucket.id);
    for (const flag of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"])
      assert.equal(block.inputs[flag], true, flag);
    const encryption = one(stack, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
    assert.equal(encryption.inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm, "AES256");
    const policy = JSON.parse(one(stack, "aws:s3/bucketPolicy:BucketPolicy").inputs.policy);
    const tls = policy.Statement.find((s: any) => s.Condition?.Bool?.["aws:SecureTransport"] === "false");
    assert.equal(tls.Effect, "Deny");
    assert.deepEqual(tls.Resource, [bucket.state.arn, `${bucket.state.arn}/*`]);
    assert.equal(policy.Statement.filter((s: any) => s.Effect === "Allow").length, 0);
  });

  it("points the functions and the prefix policies at that bucket", () => {
    const bucket = one(stack, TYPES.bucket);
    for (const fn of Object.values(functionsByKey(stack))) assert.equal(fn.inputs.environment.variables[ENV.bucket], bucket.state.bucket);
    const write = JSON.parse(one(stack, TYPES.policy, "-images-write").inputs.policy);
    assert.deepEqual(write.Statement[0].Resource, `${bucket.state.arn}/${cfg(stack, "imagePrefix")}/*`);
    assert.equal(stack.outputs.bucketName, bucket.state.bucket);
  });
});

describe("infra: model access as part of pulumi up", function () {
  this.timeout(120000);
  const AGREEMENT = "aws:bedrockfoundation/modelAgreement:ModelAgreement";
  const STABLE_IMAGE_CORE = "stability.stable-image-core-v1:1";

  for (const stackName of ["dev", "prod"]) {
    it(`${stackName} (the shared course account, which has the agreement) accepts none`, () => {
      const stack = evaluateStack(stackName);
      assert.equal(cfg(stack, "acceptModelAgreement"), "false");
      assert.deepEqual(ofType(stack, AGREEMENT), []);
    });
  }

  it("a stack in a fresh account (the default) accepts the model's public offer in its region, keeps it on destroy, and creates no function before it", () => {
    const stack = evaluateStack("dev", DEV_VARIANTS.freshAccount);
    assert.equal(cfg(stack, "acceptModelAgreement"), "true");
    const agreement = one(stack, AGREEMENT);
    assert.deepEqual([agreement.inputs.modelId, agreement.inputs.region], [STABLE_IMAGE_CORE, "us-west-2"]);
    // The token of the offer getModelAgreementOffers (mocked as ListFoundationModelAgreementOffers answers) returned.
    assert.match(agreement.inputs.offerToken, /^token-[0-9a-f]{7}$/);
    assert.equal(agreement.retainOnDelete, true, "the agreement is the account's, not this stack's");
    assert.deepEqual(agreement.ignoreChanges, ["offerToken"]);
    assert.equal(agreement.parent, one(stack, "couch-explorers:components:ModelAccess").urn);
    for (const fn of Object.values(functionsByKey(stack))) {
      assert.ok(fn.dependencies.includes(agreement.urn), `${fn.name} does not wait for the agreement`);
      assert.equal(fn.inputs.environment.variables[ENV.modelId], STABLE_IMAGE_CORE);
    }
  });

  it("Amazon's own models are not sold through Marketplace: no agreement, even when asked", () => {
    const stack = evaluateStack("dev", DEV_VARIANTS.amazonModelAsked);
    assert.deepEqual(ofType(stack, AGREEMENT), []);
  });

  it("without a public offer the preview stops and says exactly what to do", () => {
    const model = { id: STABLE_IMAGE_CORE, region: "us-west-2" };
    assert.equal(publicOfferToken([{ offerId: "o-1", offerToken: "t-1" }], model), "t-1");
    for (const offers of [[], undefined]) {
      assert.throws(
        () => publicOfferToken(offers, model),
        /no public Marketplace offer for stability\.stable-image-core-v1:1 in us-west-2.*aws bedrock create-foundation-model-agreement --region us-west-2 --model-id stability\.stable-image-core-v1:1.*then set acceptModelAgreement: false/,
      );
    }
  });
});

describe("infra: config errors", function () {
  this.timeout(120000);
  it("stops with a clear message when no runtime adapter speaks the model", () => {
    assert.throws(() => evaluateStack("dev", DEV_VARIANTS.noAdapter), /no request adapter for model "stability\.sd3-large-v1:0"/);
  });

  it("stops with a clear message when the model id is an inference profile its IAM grant would not cover", () => {
    assert.throws(() => evaluateStack("dev", DEV_VARIANTS.inferenceProfile), /cross-region inference profile/);
  });

  it("stops with a clear message when the prefix would reach the whole bucket", () => {
    assert.throws(() => evaluateStack("dev", DEV_VARIANTS.wholeBucketPrefix), /imagePrefix must be a non-empty S3 key prefix/);
  });
});
