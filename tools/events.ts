/** Lambda event payloads built the way AWS builds them, for driving the handlers in tests and benchmarks. */
import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type Message, type SQSClient } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { toSqsRecord } from "../local/app/worker";
import type { InvocationClock } from "../runtime/time-budget";

export interface HttpRequest {
  method: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Send the body base64-encoded (API Gateway does so for binary media types). */
  base64?: boolean;
  /** API stage; "$default" (HTTP API) when not given. */
  stage?: string;
}

function encodeBody(req: HttpRequest): { body: string | null; isBase64Encoded: boolean } {
  if (req.body === undefined) return { body: null, isBase64Encoded: false };
  const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, "utf8");
  return req.base64 ? { body: bytes.toString("base64"), isBase64Encoded: true } : { body: bytes.toString("utf8"), isBase64Encoded: false };
}

/** REST API (payload format 1.0) proxy event. */
export function restEvent(req: HttpRequest): APIGatewayProxyEvent {
  const { body, isBase64Encoded } = encodeBody(req);
  const stage = req.stage ?? "prod";
  return {
    resource: "/{proxy+}",
    path: req.path,
    httpMethod: req.method,
    headers: { "content-type": "application/json", ...req.headers },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: req.path.slice(1) },
    stageVariables: null,
    body,
    isBase64Encoded,
    requestContext: {
      accountId: "123456789012",
      apiId: "api123",
      stage,
      path: `/${stage}${req.path}`,
      httpMethod: req.method,
      requestId: `rest-${Math.random().toString(36).slice(2)}`,
      resourceId: "res1",
      resourcePath: "/{proxy+}",
      requestTimeEpoch: Date.now(),
      protocol: "HTTP/1.1",
      authorizer: null,
      identity: { sourceIp: "127.0.0.1", userAgent: "test" } as APIGatewayProxyEvent["requestContext"]["identity"],
    },
  };
}

/** HTTP API (payload format 2.0) proxy event; a named stage appears in rawPath as API Gateway does. */
export function httpApiEvent(req: HttpRequest): APIGatewayProxyEventV2 {
  const { body, isBase64Encoded } = encodeBody(req);
  const stage = req.stage ?? "$default";
  const rawPath = stage === "$default" ? req.path : `/${stage}${req.path}`;
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString: "",
    headers: { "content-type": "application/json", ...req.headers },
    ...(body === null ? {} : { body }),
    isBase64Encoded,
    requestContext: {
      accountId: "123456789012",
      apiId: "api123",
      domainName: "api123.execute-api.eu-west-1.amazonaws.com",
      domainPrefix: "api123",
      http: { method: req.method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "test" },
      requestId: `http-${Math.random().toString(36).slice(2)}`,
      routeKey: "$default",
      stage,
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
  };
}

/** An SQS event as Lambda's poller delivers it, from messages a real ReceiveMessage returned. */
export function sqsEvent(messages: Message[], queueArn = "arn:aws:sqs:eu-west-1:123456789012:images"): SQSEvent {
  return { Records: messages.map((m) => toSqsRecord(m, queueArn, "eu-west-1")) };
}

export interface ReceiveOptions {
  /** Most messages in one batch. @default 10 */
  max?: number;
  /** Long-poll this long for the first message. @default 0 */
  waitTimeSeconds?: number;
  /** Visibility timeout of the received messages. @default the queue's */
  visibilityTimeoutSeconds?: number;
  /** Also the messages' own attributes. @default false */
  messageAttributes?: boolean;
}

/**
 * ReceiveMessage. Waiting is done by short polls every 100 ms rather than SQS long polling: the
 * client tests' peer is local-aws-sqs 2.0.2 alone (test/client/sqs-peer.ts), whose long poll can
 * return the same message twice; only the local queue server answers long polls as SQS does.
 */
export async function receive(sqs: SQSClient, queueUrl: string, opts: ReceiveOptions = {}): Promise<Message[]> {
  const deadline = Date.now() + (opts.waitTimeSeconds ?? 0) * 1000;
  for (;;) {
    const answer = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: opts.max ?? 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: opts.visibilityTimeoutSeconds,
        MessageSystemAttributeNames: ["All"],
        // local-aws-sqs 2.0.2 reads only the older (still accepted) AttributeNames.
        AttributeNames: ["All"],
        ...(opts.messageAttributes ? { MessageAttributeNames: ["All"] } : {}),
      }),
    );
    if (answer.Messages?.length || Date.now() >= deadline) return answer.Messages ?? [];
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Receives until nothing is left to receive: everything visible, held for the visibility timeout. */
export async function receiveAll(sqs: SQSClient, queueUrl: string, opts: ReceiveOptions = {}): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const batch = await receive(sqs, queueUrl, opts);
    if (batch.length) all.push(...batch);
    else if ((await receivable(sqs, queueUrl)) === 0) return all;
  }
}

/**
 * How many messages a receive could still get. An empty short-poll receive does not prove a queue
 * empty (SQS's "false empty responses",
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/best-practices-setting-up-long-polling.html);
 * local-aws-sqs answered one under load, missing a batch sent just before. Its counts tell:
 * unlike SQS, its ApproximateNumberOfMessages also counts the messages in flight.
 */
async function receivable(sqs: SQSClient, queueUrl: string): Promise<number> {
  const names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"] as const;
  const { Attributes: counts = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...names] }));
  const [stored, inFlight, delayed] = names.map((name) => Number(counts[name]));
  return stored - inFlight + delayed;
}

/**
 * A Lambda context whose remaining time stays at `ms`, so a test states exactly what a handler's
 * model call gets (runtime/time-budget.ts: the time left, less the reserve kept for storing).
 */
export function timeLeft(ms: number): InvocationClock {
  return { getRemainingTimeInMillis: () => ms };
}

export interface Delivery {
  event: SQSEvent;
  response: SQSBatchResponse;
}

/**
 * One poll of Lambda's SQS event source mapping with ReportBatchItemFailures: receive a batch,
 * invoke the handler, delete the records that succeeded and leave the failed ones to reappear
 * when their visibility timeout runs out (pass a short one to see redeliveries quickly; not
 * ChangeMessageVisibility, which local-aws-sqs 2.0.2 counts as an extra receive). Undefined when
 * the queue is empty.
 */
export async function deliverBatch(
  sqs: SQSClient,
  queueUrl: string,
  handler: (event: SQSEvent, context?: InvocationClock) => Promise<SQSBatchResponse>,
  opts: ReceiveOptions & { context?: InvocationClock } = {},
): Promise<Delivery | undefined> {
  const messages = await receive(sqs, queueUrl, opts);
  if (!messages.length) return undefined;
  const event = sqsEvent(messages);
  const response = await handler(event, opts.context);
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  for (const m of messages) {
    if (!failed.has(m.MessageId!)) await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
  }
  return { event, response };
}
