/**
 * Real protocol peers for tests and benchmarks, all on 127.0.0.1 with ephemeral ports:
 * S3 (s3rver, temp directory, bucket created), SQS (local-aws-sqs, queue + DLQ with a
 * RedrivePolicy) and the Bedrock-compatible InvokeModel server from local/.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { startBedrockServer, type BedrockServer } from "../local/fakes/bedrock-server";
import { useDummyCredentials } from "../local/fakes/credentials";
import { startObjectStore } from "../local/fakes/object-store";
import { startQueueServer } from "../local/fakes/queue-server";
import { readStackConfig } from "../local/app/config";
import { toHandlerEnv, type HandlerSettings } from "../runtime/config";

export interface Peers {
  /** All env vars the handlers need, pointing at the local servers. */
  env: Record<string, string>;
  /** What `env` says: the local servers, and Pulumi.yaml's defaults for the rest (what a stack that sets nothing gets). */
  settings: HandlerSettings;
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
/** s3rver's built-in key pair; the local object store, local-aws-sqs and the Bedrock server accept any SigV4 signature. */
export const TEST_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/** s3rver in a temp directory with the bucket created, as the local mode runs it (local/object-store.ts). */
async function startS3(bucket: string): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const directory = mkdtempSync(join(tmpdir(), "s3rver-"));
  const store = await startObjectStore({ host: "127.0.0.1", port: 0, directory, bucket });
  return {
    endpoint: store.url,
    async stop() {
      await store.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export async function startPeers(opts: PeersOptions = {}): Promise<Peers> {
  useDummyCredentials(TEST_CREDENTIALS);
  const bucket = "couch-explorers-test";
  const prefix = "candidate-42";
  const s3Server = await startS3(bucket);
  // local-aws-sqs with the queue and its DLQ (RedrivePolicy), as the local mode runs it (local/queue-server.ts).
  const queue = await startQueueServer({
    host: "127.0.0.1",
    port: 0,
    queueName: "images",
    dlqName: "images-dlq",
    maxReceiveCount: opts.maxReceiveCount ?? 3,
    visibilityTimeoutSeconds: opts.visibilityTimeoutSeconds ?? 30,
    region: REGION,
  });
  const sqsServer = {
    endpoint: queue.url,
    queueUrl: queue.queueUrl,
    dlqUrl: queue.dlqUrl,
    client: new SQSClient({ region: REGION, endpoint: queue.url, credentials: TEST_CREDENTIALS }),
    stop: queue.close,
  };
  const bedrock = await startBedrockServer({ latencyMs: opts.bedrockLatencyMs ?? 0, timeoutHangMs: opts.bedrockTimeoutHangMs });
  const s3 = new S3Client({ region: REGION, endpoint: s3Server.endpoint, forcePathStyle: true, credentials: TEST_CREDENTIALS });
  const defaults = readStackConfig(resolve(__dirname, ".."), null).values;
  const settings: HandlerSettings = {
    bucket,
    prefix,
    modelId: String(defaults.modelId),
    bedrockRegion: String(defaults.bedrockRegion),
    urlExpirySeconds: Number(defaults.urlExpirySeconds),
    workerConcurrency: Number(defaults.workerConcurrency),
    queueUrl: sqsServer.queueUrl,
    region: REGION,
    endpoints: { s3: s3Server.endpoint, sqs: sqsServer.endpoint, bedrockRuntime: bedrock.url },
  };
  const env: Record<string, string> = {
    ...toHandlerEnv(settings),
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
  };
  return {
    env,
    settings,
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
