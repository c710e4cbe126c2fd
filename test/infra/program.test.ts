import assert from "node:assert/strict";
import { LAMBDA_RUNTIME } from "../../components/handlerFunction";
import { publicOfferToken } from "../../components/modelAccess";
import { DEFAULTS } from "../../runtime/defaults";
import { ENV } from "../../runtime/env";
import { METRICS } from "../../runtime/metric-names";
import { apiModelBudget, workerModelBudget } from "../../runtime/time-budget";
import { cfg, cfgNumber, functionsByKey, one, ofType, TYPES } from "../../tools/query";
import { evaluateInBackground, evaluateStack, type EvaluatedStack } from "../../tools/stack";

const ROUTES = {
  "POST /generate": { fn: "generate", sourceArnPath: "POST/generate" },
  "POST /images": { fn: "enqueue", sourceArnPath: "POST/images" },
  "GET /images/{id}": { fn: "status", sourceArnPath: "GET/images/*" },
} as const;

/** The dev stack's config variants evaluated below, all started when the file loads (each evaluation takes seconds of CPU). */
const DEV_VARIANTS = {
  // Removing the stack's value leaves Pulumi.yaml's empty default: "create a bucket".
  ownBucket: { "couch-explorers:bucketName": null },
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
for (const overrides of Object.values(DEV_VARIANTS)) evaluateInBackground("dev", overrides);

const COMPONENT_TYPES = ["ModelAccess", "BucketPrefixAccess", "ImageQueue", "ImageApi", "QueueAgeAlarm", "ImageDashboard"].map(
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

    it("routes POST /generate, POST /images and GET /images/{id} to their own functions (AWS_PROXY, payload 2.0)", () => {
      const api = one(stack, TYPES.api);
      assert.equal(api.inputs.protocolType, "HTTP");
      const fns = functionsByKey(stack);
      const routes = ofType(stack, TYPES.route);
      assert.deepEqual(routes.map((r) => r.inputs.routeKey).sort(), Object.keys(ROUTES).sort());
      const targets = new Set<string>();
      for (const route of routes) {
        const expected = ROUTES[route.inputs.routeKey as keyof typeof ROUTES];
        const fn = fns[expected.fn];
        assert.equal(route.inputs.apiId, api.id);
        const integration = ofType(stack, TYPES.integration).find((i) => route.inputs.target === `integrations/${i.id}`);
        assert.ok(integration, `${route.inputs.routeKey} targets no integration`);
        assert.equal(integration.inputs.integrationType, "AWS_PROXY");
        assert.equal(integration.inputs.payloadFormatVersion, "2.0");
        assert.equal(integration.inputs.integrationUri, fn.state.arn, `${route.inputs.routeKey} → ${fn.name}`);
        assert.ok(integration.inputs.timeoutMilliseconds <= 30000);
        targets.add(integration.inputs.integrationUri);
        const permission = ofType(stack, TYPES.permission).find((p) => p.inputs.function === fn.state.name && p.inputs.principal === "apigateway.amazonaws.com");
        assert.ok(permission, `API Gateway may not invoke ${fn.name}`);
        assert.equal(permission.inputs.action, "lambda:InvokeFunction");
        assert.equal(permission.inputs.sourceArn, `${api.state.executionArn}/*/${expected.sourceArnPath}`);
      }
      assert.equal(targets.size, 3, "each route has its own function");
    });

    it("throttles the stage from config and writes access logs to a log group with retention", () => {
      const stage = one(stack, TYPES.stage);
      assert.equal(stage.inputs.name, "$default");
      assert.equal(stage.inputs.autoDeploy, true);
      assert.equal(stage.inputs.defaultRouteSettings.throttlingRateLimit, cfgNumber(stack, "apiThrottleRateLimit"));
      assert.equal(stage.inputs.defaultRouteSettings.throttlingBurstLimit, cfgNumber(stack, "apiThrottleBurstLimit"));
      const logs = one(stack, TYPES.logGroup, "-api-access-logs");
      assert.equal(stage.inputs.accessLogSettings.destinationArn, logs.state.arn);
      assert.equal(logs.inputs.retentionInDays, cfgNumber(stack, "logRetentionDays"));
      const format = JSON.parse(stage.inputs.accessLogSettings.format);
      assert.equal(format.requestId, "$context.requestId");
      assert.equal(format.status, "$context.status");
      assert.equal(stack.outputs.apiUrl, stage.state.invokeUrl);
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
      assert.ok(queue.inputs.visibilityTimeoutSeconds >= 6 * workerTimeout, `visibility ${queue.inputs.visibilityTimeoutSeconds}s vs timeout ${workerTimeout}s`);
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
        assert.equal(vars[ENV.metricsService], `couch-explorers-${stackName}`, `${key} ${ENV.metricsService}`);
        assert.equal(vars[ENV.queueUrl], key === "enqueue" ? queue.state.url : undefined, `${key} ${ENV.queueUrl}`);
        for (const local of [ENV.bedrockEndpoint, ENV.s3Endpoint, ENV.sqsEndpoint]) assert.equal(vars[local], undefined, `${key} sets ${local}`);
        for (const value of Object.values(vars)) assert.equal(typeof value, "string");
        // Model calls (rounds × attempts × per-attempt wait) end before the function's timeout: the
        // handlers take their budget from the invocation's context, which counts down from it.
        assert.equal(vars.BEDROCK_TIMEOUT_MS, undefined, `${key}: the model's time comes from the invocation, not the environment`);
        const rounds = key === "worker" ? Math.ceil(cfgNumber(stack, "queueBatchSize") / Number(vars[ENV.workerConcurrency])) : 1;
        const budget = key === "worker"
          ? workerModelBudget(fn.inputs.timeout, { batchSize: cfgNumber(stack, "queueBatchSize"), workerConcurrency: Number(vars[ENV.workerConcurrency]) })
          : apiModelBudget(fn.inputs.timeout);
        const worstCaseMs = rounds * budget.attempts * budget.tryTimeoutMs;
        assert.ok(worstCaseMs < fn.inputs.timeout * 1000, `${key}: ${worstCaseMs} ms of model calls in a ${fn.inputs.timeout} s function`);
      }
      assert.equal(fns.worker.inputs.environment.variables[ENV.workerConcurrency], cfg(stack, "workerConcurrency"));
      assert.equal(fns.worker.inputs.environment.variables[ENV.maxReceiveCount], cfg(stack, "maxReceiveCount"), "the worker knows the redrive limit");
      assert.ok(apiModelBudget(fns.generate.inputs.timeout).tryTimeoutMs < DEFAULTS.bedrockTimeoutMs, "the API's model calls are bounded");
      assert.equal(fns.generate.inputs.environment.variables[ENV.urlExpirySeconds], cfg(stack, "urlExpirySeconds"));
      assert.equal(stack.outputs.imageLocation, `s3://${cfg(stack, "bucketName")}/${cfg(stack, "imagePrefix")}/`);
    });

    it("draws a dashboard of queue age and depth, generation latency p50/p95, failures by kind and API 4xx/5xx", () => {
      const dashboard = one(stack, TYPES.dashboard);
      assert.equal(dashboard.inputs.dashboardName, `couch-explorers-${stackName}`);
      const body = JSON.parse(dashboard.inputs.dashboardBody);
      const metrics = body.widgets.flatMap((w: any) => w.properties.metrics);
      const has = (pred: (m: any[]) => boolean, what: string) => assert.ok(metrics.some(pred), `dashboard lacks ${what}`);
      const queue = one(stack, TYPES.queue, "-jobs-queue").state.name;
      const dlq = one(stack, TYPES.queue, "-jobs-dlq").state.name;
      const apiId = one(stack, TYPES.api).id;
      has((m) => m[1] === "ApproximateAgeOfOldestMessage" && m[3] === queue, "oldest message age");
      has((m) => m[1] === "ApproximateNumberOfMessagesVisible" && m[3] === queue, "queue depth");
      has((m) => m[1] === "ApproximateNumberOfMessagesVisible" && m[3] === dlq, "DLQ depth");
      for (const stat of ["p50", "p95"]) {
        has((m) => m[0] === METRICS.namespace && m[1] === METRICS.generationLatency.name
          && m[2] === METRICS.serviceDimension && m[3] === `couch-explorers-${stackName}` && m[4]?.stat === stat, `latency ${stat} of this stack`);
      }
      has((m) => typeof m[0]?.expression === "string" && m[0].expression.includes(METRICS.failures.dimension) && m[0].expression.includes(METRICS.failures.name)
        && m[0].expression.includes(`${METRICS.serviceDimension}="couch-explorers-${stackName}"`), "failures by kind of this stack");
      for (const code of ["4xx", "5xx"]) has((m) => m[0] === "AWS/ApiGateway" && m[1] === code && m[3] === apiId, `API ${code}`);
      for (const w of body.widgets) assert.equal(w.properties.region, "eu-west-1");
    });
  });
}

describe("infra: dev and prod in one account", function () {
  this.timeout(120000);

  it("give every explicitly named resource a stack-specific name", () => {
    const [dev, prod] = ["dev", "prod"].map((s) => evaluateStack(s));
    const explicitNames = (stack: EvaluatedStack) =>
      stack.resources.flatMap((r) => [r.inputs.name, r.inputs.dashboardName].filter((n): n is string => typeof n === "string" && n !== "$default"));
    const devNames = explicitNames(dev);
    const prodNames = explicitNames(prod);
    assert.ok(devNames.length >= 8, `only ${devNames.length} explicit names`);
    for (const n of devNames) assert.ok(n.includes("-dev"), `${n} does not name the stack`);
    for (const n of prodNames) assert.ok(n.includes("-prod"), `${n} does not name the stack`);
    assert.deepEqual(devNames.filter((n) => prodNames.includes(n)), []);
    // auto-named resources get the stack in their logical name, so their physical names differ too
    for (const r of [...dev.resources, ...prod.resources]) assert.match(r.name, /^couch-explorers-(dev|prod)-/);
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
    for (const flag of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) assert.equal(block.inputs[flag], true, flag);
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
