/**
 * Real protocol peers for tests and benchmarks, all on 127.0.0.1 with ephemeral ports:
 * S3 (s3rver, temp directory, bucket created), SQS (local-aws-sqs, queue + DLQ with a
 * RedrivePolicy) and the Bedrock-compatible InvokeModel server from local/.
 */
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { createSqsServer } from "local-aws-sqs";
import { startBedrockServer, type BedrockServer } from "../../local/bedrock-server";
import { ENV } from "../../runtime/defaults";

// s3rver ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require("s3rver") as new (opts: Record<string, unknown>) => { run(): Promise<AddressInfo>; close(): Promise<void> };

export interface Peers {
  /** All env vars the handlers need, pointing at the local servers. */
  env: Record<string, string>;
  bucket: string;
  prefix: string;
  queueUrl: string;
  dlqUrl: string;
  s3Endpoint: string;
  sqsEndpoint: string;
  bedrock: BedrockServer;
  /** Clients pointed at the local servers. */
  s3: S3Client;
  sqs: SQSClient;
  stop(): Promise<void>;
}

export interface PeersOptions {
  /** Latency of every Bedrock answer. @default 0 */
  bedrockLatencyMs?: number;
  /** Receives before SQS moves a message to the DLQ. @default 3 */
  maxReceiveCount?: number;
  /** How long an injected Bedrock "timeout" is held. @default 30000 */
  bedrockTimeoutHangMs?: number;
  /** SQS visibility timeout of the main queue in seconds. @default 30 */
  visibilityTimeoutSeconds?: number;
}

const REGION = "us-east-1";
/** s3rver's built-in key pair; local-aws-sqs and the Bedrock server accept any SigV4 signature. */
export const TEST_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/**
 * The handlers get credentials from the SDK's standard chain, which reads process.env: point it at
 * the dummy keys (never real ones at loopback servers, and no instance-metadata lookup).
 */
function useDummyCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID = TEST_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = TEST_CREDENTIALS.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
}

async function startS3(bucket: string): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const directory = mkdtempSync(join(tmpdir(), "s3rver-"));
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async stop() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

async function startSqs(sqs: (endpoint: string) => SQSClient, maxReceiveCount: number, visibilityTimeout: number) {
  const server: Server = await createSqsServer({ port: 0, hostname: "127.0.0.1", emulateQueueCreationLifecycle: false });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = sqs(endpoint);
  const dlqUrl = (await client.send(new CreateQueueCommand({ QueueName: "images-dlq" }))).QueueUrl!;
  const dlqArn = (await client.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
  const queueUrl = (
    await client.send(
      new CreateQueueCommand({
        QueueName: "images",
        Attributes: {
          VisibilityTimeout: String(visibilityTimeout),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
        },
      }),
    )
  ).QueueUrl!;
  return {
    endpoint,
    client,
    queueUrl,
    dlqUrl,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

export async function startPeers(opts: PeersOptions = {}): Promise<Peers> {
  useDummyCredentials();
  const bucket = "couch-explorers-test";
  const prefix = "candidate-42";
  const s3Server = await startS3(bucket);
  const sqsServer = await startSqs(
    (endpoint) => new SQSClient({ region: REGION, endpoint, credentials: TEST_CREDENTIALS }),
    opts.maxReceiveCount ?? 3,
    opts.visibilityTimeoutSeconds ?? 30,
  );
  const bedrock = await startBedrockServer({ latencyMs: opts.bedrockLatencyMs ?? 0, timeoutHangMs: opts.bedrockTimeoutHangMs });
  const s3 = new S3Client({ region: REGION, endpoint: s3Server.endpoint, forcePathStyle: true, credentials: TEST_CREDENTIALS });
  const env: Record<string, string> = {
    [ENV.bucket]: bucket,
    [ENV.prefix]: prefix,
    [ENV.queueUrl]: sqsServer.queueUrl,
    [ENV.region]: REGION,
    [ENV.bedrockEndpoint]: bedrock.url,
    [ENV.s3Endpoint]: s3Server.endpoint,
    [ENV.sqsEndpoint]: sqsServer.endpoint,
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
  };
  return {
    env,
    bucket,
    prefix,
    queueUrl: sqsServer.queueUrl,
    dlqUrl: sqsServer.dlqUrl,
    s3Endpoint: s3Server.endpoint,
    sqsEndpoint: sqsServer.endpoint,
    bedrock,
    s3,
    sqs: sqsServer.client,
    async stop() {
      s3.destroy();
      sqsServer.client.destroy();
      await Promise.all([bedrock.close(), sqsServer.stop(), s3Server.stop()]);
    },
  };
}
