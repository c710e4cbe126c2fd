/**
 * The deployed code is executed: each function's archive, exactly as the Pulumi program serialized
 * it under mocks, is written to a temp folder and loaded by a plain Node process (no ts-node, no
 * repository on the module path except the SDK) that calls the handler named by the function's
 * `handler` setting with real-shaped API Gateway REST API (payload 1.0) and SQS events. The functions'
 * environment comes from the program; only the endpoints, bucket, prefix and queue URL are pointed
 * at the local S3 (s3rver), SQS (local-aws-sqs) and Bedrock-compatible servers.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { STABILITY_PIXELS } from "../../local/fakes/bedrock-models";
import { PNG_SIGNATURE, readPngHeader } from "../../local/fakes/png";
import { ENV } from "../../runtime/env";
import { receive, restEvent, sqsEvent } from "../../tools/events";
import { STAGE_NAME } from "../../components/imageApi";
import { getJson, getObject, listKeys } from "../../tools/objects";
import { startPeers, type Peers } from "../../tools/peers";
import { archiveOf, functionsByKey, one, TYPES } from "../../tools/query";
import { evaluateStack, REPO_ROOT, type EvaluatedResource } from "../../tools/stack";

/**
 * Stands in for the Lambda Node.js runtime: loads the module and export named by `handler`
 * ("__index.handler"), calls it once per event with a Lambda-like context, writes the results.
 */
const LAMBDA_HOST = `
const { join } = require("node:path");
const { readFileSync, writeFileSync } = require("node:fs");
const [dir, handlerSetting, eventsFile, resultsFile] = process.argv.slice(2);
const dot = handlerSetting.lastIndexOf(".");
const handler = require(join(dir, handlerSetting.slice(0, dot) + ".js"))[handlerSetting.slice(dot + 1)];
if (typeof handler !== "function") { console.error("no handler export " + handlerSetting); process.exit(2); }
(async () => {
  const results = [];
  for (const event of JSON.parse(readFileSync(eventsFile, "utf8"))) {
    const deadline = Date.now() + Number(process.env.AWS_LAMBDA_FUNCTION_TIMEOUT) * 1000;
    const context = {
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, functionVersion: "$LATEST",
      invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:" + process.env.AWS_LAMBDA_FUNCTION_NAME,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, awsRequestId: "req-" + results.length,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME, logStreamName: "local", callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    results.push(await handler(event, context));
  }
  writeFileSync(resultsFile, JSON.stringify(results));
})().catch((err) => { console.error(err && err.stack || err); process.exit(1); });
`;

/** Wiring variables the local servers replace when the function has them. */
const REPLACED_IF_SET = [ENV.bucket, ENV.prefix, ENV.queueUrl];
/** Always added: the local servers as endpoint overrides, the clients' region and dummy credentials. Every other variable is the program's. */
const LOCAL_ONLY = [ENV.s3Endpoint, ENV.sqsEndpoint, ENV.bedrockEndpoint, ENV.region, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];

interface Invocation<R> {
  results: R[];
  /** What the function wrote to stdout/stderr (its log lines). */
  logs: string;
}

describe("infra: the deployed code is executed (dev archives against local S3/SQS/Bedrock)", function () {
  this.timeout(120000);
  let peers: Peers;
  let workdir: string;
  let fns: Record<"generate" | "enqueue" | "status" | "worker", EvaluatedResource>;
  let queueArn: string;

  before(async () => {
    const stack = evaluateStack("dev");
    fns = functionsByKey(stack);
    queueArn = one(stack, TYPES.queue, "-jobs-queue").state.arn;
    workdir = mkdtempSync(join(tmpdir(), "deployed-code-"));
    for (const [key, fn] of Object.entries(fns)) {
      const dir = join(workdir, key);
      mkdirSync(dir);
      for (const [file, text] of Object.entries(archiveOf(fn))) writeFileSync(join(dir, file), text);
    }
    writeFileSync(join(workdir, "lambda-host.js"), LAMBDA_HOST);
    peers = await startPeers();
  });

  after(async () => {
    await peers?.stop();
    if (workdir) rmSync(workdir, { recursive: true, force: true });
  });

  beforeEach(() => peers.bedrock.reset());

  /** Runs a function's archive in a fresh Node process (a cold start) for the given events. */
  async function invoke<R>(key: keyof typeof fns, events: unknown[]): Promise<Invocation<R>> {
    const fn = fns[key];
    const programEnv: Record<string, string> = fn.inputs.environment.variables;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      // The Lambda runtime ships the AWS SDK; the repository's node_modules stands in for it. Nothing
      // else of the repository is reachable: the archive is loaded from a temp folder.
      NODE_PATH: join(REPO_ROOT, "node_modules"),
      AWS_LAMBDA_FUNCTION_NAME: fn.state.name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.inputs.memorySize),
      AWS_LAMBDA_FUNCTION_TIMEOUT: String(fn.inputs.timeout),
      AWS_LAMBDA_LOG_GROUP_NAME: fn.inputs.loggingConfig.logGroup,
      ...programEnv,
    };
    for (const name of REPLACED_IF_SET) if (name in programEnv) env[name] = peers.env[name];
    for (const name of LOCAL_ONLY) if (peers.env[name] !== undefined) env[name] = peers.env[name];
    const eventsFile = join(workdir, `${key}-events.json`);
    const resultsFile = join(workdir, `${key}-results.json`);
    writeFileSync(eventsFile, JSON.stringify(events));
    rmSync(resultsFile, { force: true });
    const child = spawn(
      process.execPath,
      [join(workdir, "lambda-host.js"), join(workdir, key), fn.inputs.handler, eventsFile, resultsFile],
      {
        cwd: join(workdir, key),
        env,
      },
    );
    let logs = "";
    child.stdout.on("data", (chunk) => (logs += chunk));
    child.stderr.on("data", (chunk) => (logs += chunk));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assert.equal(code, 0, `${key} archive exited with ${code}:\n${logs}`);
    return { results: JSON.parse(readFileSync(resultsFile, "utf8")) as R[], logs };
  }

  /** A REST API (payload 1.0) event for a concrete route of the stack's stage, as API Gateway sends it for that route. */
  function routeEvent(routeKey: string, path: string, body?: unknown, pathParameters?: Record<string, string>): APIGatewayProxyEvent {
    const [method, resource] = routeKey.split(" ");
    const event = restEvent({
      method,
      path,
      stage: STAGE_NAME,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      ...event,
      resource,
      pathParameters: pathParameters ?? null,
      requestContext: { ...event.requestContext, resourcePath: resource },
    };
  }

  /** The stack's model (Stable Image Core) picks the pixels of its default ratio, 1:1. */
  async function assertPng(key: string, size = STABILITY_PIXELS["1:1"]): Promise<void> {
    const png = (await getObject(peers.s3, peers.bucket, key)).body;
    assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE, `${key} is not a PNG`);
    assert.deepEqual(readPngHeader(png), size);
  }

  async function sendPrompts(...bodies: string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const body of bodies)
      ids.push((await peers.sqs.send(new SendMessageCommand({ QueueUrl: peers.queueUrl, MessageBody: body }))).MessageId!);
    return ids;
  }

  it("POST /generate stores a real PNG under the prefix and answers 201 with a working presigned URL", async () => {
    const { results, logs } = await invoke<APIGatewayProxyResult>("generate", [
      routeEvent("POST /generate", "/generate", { prompt: "me at a Parisian café, old polaroid look" }),
    ]);
    assert.equal(results[0].statusCode, 201, logs);
    const body = JSON.parse(results[0].body);
    assert.match(body.key, new RegExp(`^${peers.prefix}/generated_images/.+\\.png$`));
    await assertPng(body.key);
    assert.deepEqual([body.width, body.height], [STABILITY_PIXELS["1:1"].width, STABILITY_PIXELS["1:1"].height]);
    const sidecar = await getJson(peers.s3, peers.bucket, body.key.replace(/\.png$/, ".json"));
    assert.equal(sidecar.prompt, "me at a Parisian café, old polaroid look");
    // The model id came from the program's environment, through the deployed code, to the wire.
    assert.deepEqual(
      peers.bedrock.calls.map((c) => c.modelId),
      [fns.generate.inputs.environment.variables[ENV.modelId]],
    );
    const download = await fetch(body.url);
    assert.equal(download.status, 200);
    assert.deepEqual(Buffer.from(await download.arrayBuffer()).subarray(0, 8), PNG_SIGNATURE);
    assert.match(logs, /"GenerationLatency"/, "the EMF metric line is written");
  });

  it("POST /images queues the job, the worker archive turns it into a picture, GET /images/{id} reports it done", async () => {
    const queued = await invoke<APIGatewayProxyResult>("enqueue", [
      routeEvent("POST /images", "/images", { prompt: "me on top of a pyramid" }),
    ]);
    assert.equal(queued.results[0].statusCode, 202, queued.logs);
    const { id, statusUrl } = JSON.parse(queued.results[0].body);
    assert.equal(statusUrl, `/${STAGE_NAME}/images/${id}`, "a REST API's stage is the first segment of the URL callers use");

    // Pending from the moment it was accepted: the enqueue archive wrote the job's marker.
    const pending = await invoke<APIGatewayProxyResult>("status", [routeEvent("GET /images/{id}", `/images/${id}`, undefined, { id })]);
    assert.equal(pending.results[0].statusCode, 202, pending.logs);
    const messages = await receive(peers.sqs, peers.queueUrl);
    assert.deepEqual(
      messages.map((m) => JSON.parse(m.Body!).jobId),
      [id],
      "the job id travels in the body",
    );
    assert.equal(JSON.parse(messages[0].Body!).prompt, "me on top of a pyramid");

    const worked = await invoke<SQSBatchResponse>("worker", [sqsEvent(messages, queueArn)]);
    assert.deepEqual(worked.results[0], { batchItemFailures: [] }, worked.logs);
    await assertPng(`${peers.prefix}/images/${id}.png`);
    assert.equal((await getJson(peers.s3, peers.bucket, `${peers.prefix}/images/${id}.json`)).source, "queue");

    const status = await invoke<APIGatewayProxyResult>("status", [routeEvent("GET /images/{id}", `/images/${id}`, undefined, { id })]);
    assert.equal(status.results[0].statusCode, 200, status.logs);
    const answer = JSON.parse(status.results[0].body);
    assert.equal(answer.status, "done");
    assert.equal((await fetch(answer.url)).status, 200);
  });

  it("the worker archive keeps only the transient and operator failures of a mixed batch, acknowledging the prompt's own", async () => {
    peers.bedrock.failWhenPromptIncludes("[busy]", "throttle");
    peers.bedrock.failWhenPromptIncludes("[blocked]", "content-filter");
    peers.bedrock.failWhenPromptIncludes("[retired]", "end-of-life");
    // Plain-text bodies, the way the existing queue client sends prompts.
    const [ok, busy, blocked, retired] = await sendPrompts(
      "snowy mountain at sunset",
      "[busy] city at night",
      "[blocked] something",
      "[retired] a lake",
    );
    const messages = await receive(peers.sqs, peers.queueUrl);
    assert.equal(messages.length, 4);
    const event: SQSEvent = sqsEvent(messages, queueArn);

    const { results, logs } = await invoke<SQSBatchResponse>("worker", [event]);
    assert.deepEqual(results[0].batchItemFailures.map((f) => f.itemIdentifier).sort(), [busy, retired].sort(), logs);
    assert.match(logs, /"kind":"operator","code":"model-retired"/);
    const keys = await listKeys(peers.s3, peers.bucket, `${peers.prefix}/images/`);
    assert.ok(keys.includes(`${peers.prefix}/images/${ok}.png`));
    assert.ok(keys.includes(`${peers.prefix}/images/${blocked}.failed.json`));
    for (const id of [busy, retired]) {
      assert.deepEqual(
        keys.filter((k) => k.includes(id)),
        [`${peers.prefix}/images/${id}.queued.json`],
        "nothing stored for the kept records but their marker",
      );
    }

    const status = await invoke<APIGatewayProxyResult>("status", [
      routeEvent("GET /images/{id}", `/images/${blocked}`, undefined, { id: blocked }),
      routeEvent("GET /images/{id}", `/images/${busy}`, undefined, { id: busy }),
    ]);
    assert.deepEqual(
      status.results.map((r) => [r.statusCode, JSON.parse(r.body).status]),
      [
        [200, "failed"],
        [202, "pending"],
      ],
    );
    const unknown = await invoke<APIGatewayProxyResult>("status", [
      routeEvent("GET /images/{id}", "/images/never-submitted", undefined, { id: "never-submitted" }),
    ]);
    assert.deepEqual([unknown.results[0].statusCode, JSON.parse(unknown.results[0].body).code], [404, "unknown-job"], unknown.logs);
  });
});
