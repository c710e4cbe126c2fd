/**
 * Real protocol peers for tests and benchmarks, all on 127.0.0.1 with ephemeral ports, started
 * as the local mode starts them (local/fakes/start-fakes.ts): S3 (s3rver in a temp directory,
 * bucket created), SQS (local-aws-sqs, queue + DLQ with a RedrivePolicy, in memory) and the
 * Bedrock-compatible InvokeModel server.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { BedrockServer } from "../local/fakes/bedrock-server";
import { LOCAL_CREDENTIALS, useDummyCredentials } from "../local/fakes/credentials";
import { startFakes } from "../local/fakes/start-fakes";
import { toHandlerEnv, type HandlerSettings } from "../runtime/config";
import { readStackConfig } from "./stack-config";

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
const BUCKET = "couch-explorers-test";
const PREFIX = "candidate-42";

/** The handlers' settings for these servers; Pulumi.yaml's declared defaults for the rest. */
function peerSettings(queueUrl: string, endpoints: HandlerSettings["endpoints"]): HandlerSettings {
  const defaults = readStackConfig(resolve(__dirname, ".."), null).values;
  return {
    bucket: BUCKET,
    prefix: PREFIX,
    modelId: String(defaults.modelId),
    bedrockRegion: String(defaults.bedrockRegion),
    urlExpirySeconds: Number(defaults.urlExpirySeconds),
    workerConcurrency: Number(defaults.workerConcurrency),
    queueUrl,
    region: REGION,
    endpoints,
  };
}

export async function startPeers(opts: PeersOptions = {}): Promise<Peers> {
  useDummyCredentials(LOCAL_CREDENTIALS);
  const directory = mkdtempSync(join(tmpdir(), "s3rver-"));
  const fakes = await startFakes({
    host: "127.0.0.1",
    region: REGION,
    objectStore: { port: 0, directory, bucket: BUCKET },
    queue: {
      port: 0,
      queueName: "images",
      dlqName: "images-dlq",
      maxReceiveCount: opts.maxReceiveCount ?? 3,
      visibilityTimeoutSeconds: opts.visibilityTimeoutSeconds ?? 30,
    },
    bedrock: { latencyMs: opts.bedrockLatencyMs ?? 0, timeoutHangMs: opts.bedrockTimeoutHangMs },
  }).catch((err: unknown) => {
    rmSync(directory, { recursive: true, force: true });
    throw err;
  });
  const { objectStore, queue } = fakes;
  const settings = peerSettings(queue.queueUrl, fakes.endpoints);
  const s3 = new S3Client({
    region: REGION,
    endpoint: objectStore.url,
    forcePathStyle: true,
    credentials: LOCAL_CREDENTIALS,
  });
  const sqs = new SQSClient({ region: REGION, endpoint: queue.url, credentials: LOCAL_CREDENTIALS });
  return {
    env: {
      ...toHandlerEnv(settings),
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    },
    settings,
    bucket: BUCKET,
    prefix: PREFIX,
    queueUrl: queue.queueUrl,
    dlqUrl: queue.dlqUrl,
    s3Endpoint: objectStore.url,
    sqsEndpoint: queue.url,
    bedrock: fakes.bedrock!,
    s3,
    sqs,
    async stop() {
      s3.destroy();
      sqs.destroy();
      await fakes.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
