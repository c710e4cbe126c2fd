/**
 * The local mode that `npm start` (cli.ts) starts: the whole platform on one machine, no cloud,
 * no network.
 *
 *   object store  s3rver on 127.0.0.1:4569, files under .data/ (pictures survive a restart)
 *   queue         local-aws-sqs on 127.0.0.1:9324: image queue + DLQ with the stack's redrive policy
 *   model         Bedrock-compatible InvokeModel server on 127.0.0.1:4599 (offline renderer);
 *                 MODEL=bedrock uses real Bedrock with your AWS credentials instead
 *   API           127.0.0.1:3000: the runtime's HTTP handler behind API Gateway-shaped events,
 *                 plus GET /health and the gallery at GET /
 *   worker        polls the queue and calls the runtime's queue handler, like Lambda's event source
 *
 * The handlers are the ones Lambda runs, unchanged: only endpoint overrides point them here.
 */
import * as path from "node:path";
import { SQSClient } from "@aws-sdk/client-sqs";
import { adapterFor, createHttpHandler, createQueueHandler } from "../../runtime";
import { readConfig, toHandlerEnv } from "../../runtime/config";
import type { HttpHandler } from "../../runtime/http-handler";
import type { QueueHandler } from "../../runtime/queue-handler";
import { createImageStore, type ImageStore } from "../../runtime/storage";
import type { BedrockServer, FailureMode } from "../fakes/bedrock-server";
import { LOCAL_CREDENTIALS } from "../fakes/credentials";
import type { ObjectStore } from "../fakes/object-store";
import type { QueueServer } from "../fakes/queue-server";
import { closeNewestFirst, startFakes, type Fakes, type FakesOptions } from "../fakes/start-fakes";
import type { ApiKeyGate } from "./api-keys";
import { startApiServer, type ApiServer } from "./api-server";
import { LOCAL_ENV, type LocalConfig } from "./config";
import { createHealthCheck, type HealthCheck } from "./health";
import { formatLogLine } from "./log-format";
import { startWorker, type Worker } from "./worker";

export interface LocalMode {
  config: LocalConfig;
  api: ApiServer;
  objectStore: ObjectStore;
  queue: QueueServer;
  bedrock?: BedrockServer;
  worker: Worker;
  /** The environment both handlers were created with. */
  handlerEnv: Record<string, string>;
  /** The keys the picture routes need when the stack's apiAuth is apiKey (api-keys.ts). */
  apiKeys?: ApiKeyGate;
  /**
   * Stops receiving, finishes the batches in flight and closes every server. Resolves with the
   * messages the queue's journal keeps for the next start.
   */
  stop(): Promise<{ queued: number; deadLetters: number }>;
}

export interface LocalModeOptions {
  /** Where the handlers' log lines and the worker's notes go (default: stdout, compact). */
  log?: (line: string) => void;
  /** The API keys the stack's apiAuth asks for (api-keys.ts); none: anyone may call. */
  apiKeys?: ApiKeyGate;
}

/** Where the queues' journal lives (local/fakes/queue-journal.ts). */
export function queueJournalFile(config: Pick<LocalConfig, "dataDir">): string {
  return path.join(config.dataDir, "queue-journal.jsonl");
}

/** The protocol peers as this configuration runs them: each port named by the variable that moves it. */
function fakesOptions(config: LocalConfig, options: LocalModeOptions): FakesOptions {
  return {
    host: config.host,
    region: config.region,
    objectStore: {
      port: config.ports.s3,
      portVariable: LOCAL_ENV.s3Port,
      directory: objectStoreDirectory(config),
      bucket: config.bucket,
    },
    queue: {
      port: config.ports.sqs,
      portVariable: LOCAL_ENV.sqsPort,
      queueName: config.queueName,
      dlqName: config.dlqName,
      maxReceiveCount: config.maxReceiveCount,
      visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
      journalFile: queueJournalFile(config),
      legacyStateFile: path.join(config.dataDir, "queues.json"),
      ...(options.log ? { warn: options.log } : {}),
    },
    ...(config.model === "local"
      ? {
          bedrock: {
            port: config.ports.bedrock,
            portVariable: LOCAL_ENV.bedrockPort,
            latencyMs: config.localModel.latencyMs,
            maxRecordedCalls: 1000,
          },
        }
      : {}),
  };
}

/** Where the object store keeps its files (s3rver's layout, local/fakes/object-store.ts). */
export function objectStoreDirectory(config: Pick<LocalConfig, "dataDir">): string {
  return path.join(config.dataDir, "s3");
}

/** The failures LOCAL_MODEL_* asks of the local model. */
function injectModelFailures(bedrock: BedrockServer, { transient, permanent, failWhenPromptIncludes }: LocalConfig["localModel"]): void {
  if (transient || permanent) bedrock.setFailureRate({ transient, permanent });
  for (const { marker, mode } of failWhenPromptIncludes) bedrock.failWhenPromptIncludes(marker, mode as FailureMode);
}

/** The handlers' environment: the stack's settings, pointed at the local servers. */
function handlerEnvFor(config: LocalConfig, fakes: Fakes): Record<string, string> {
  return toHandlerEnv({
    bucket: config.bucket,
    prefix: config.prefix,
    modelId: config.modelId,
    bedrockRegion: config.bedrockRegion,
    queueUrl: fakes.queue.queueUrl,
    maxReceiveCount: config.maxReceiveCount,
    workerConcurrency: config.workerConcurrency,
    urlExpirySeconds: config.urlExpirySeconds,
    region: config.region,
    bedrockMaxAttempts: config.modelAttempts,
    endpoints: fakes.endpoints,
  });
}

function startQueueWorker(
  config: LocalConfig,
  queue: QueueServer,
  sqs: SQSClient,
  handler: QueueHandler,
  options: LocalModeOptions,
): Worker {
  return startWorker({
    sqs,
    queueUrl: queue.queueUrl,
    queueArn: queue.queueArn,
    region: config.region,
    handler,
    batchSize: config.batchSize,
    // Every model call of a batch ends before its records' visibility timeout (local/app/config.ts).
    timeLimitSeconds: config.workerTimeLimitSeconds,
    receiveWaitSeconds: config.receiveWaitSeconds,
    pollers: config.pollers,
    ...(options.log ? { log: options.log } : {}),
  });
}

function healthCheckFor(config: LocalConfig, fakes: Fakes, worker: Worker, apiUrl: () => string): HealthCheck {
  const { objectStore, queue, bedrock } = fakes;
  return createHealthCheck({
    region: config.region,
    credentials: LOCAL_CREDENTIALS,
    objectStore: {
      url: objectStore.url,
      bucket: config.bucket,
      prefix: config.prefix,
      directory: objectStoreDirectory(config),
    },
    queue: { url: queue.url, queueUrl: queue.queueUrl, dlqUrl: queue.dlqUrl },
    localModelUrl: bedrock?.url,
    model: { modelId: config.modelId, bedrockRegion: config.bedrockRegion },
    worker,
    apiUrl,
  });
}

interface ApiParts {
  handler: HttpHandler;
  store: ImageStore;
  sqs: SQSClient;
  healthCheck: HealthCheck;
  apiKeys?: ApiKeyGate;
}

function startLocalApi(config: LocalConfig, fakes: Fakes, parts: ApiParts): Promise<ApiServer> {
  const { objectStore, queue } = fakes;
  return startApiServer({
    host: config.host,
    port: config.ports.api,
    handler: parts.handler,
    apiKeys: parts.apiKeys,
    // The gallery lists pictures and reads their sidecars through the handlers' own store.
    store: parts.store,
    // As Lambda does: the handler's context counts down from the function timeout.
    timeoutSeconds: config.apiTimeoutSeconds,
    maxPromptLength: adapterFor(config.modelId).maxPromptLength,
    sqs: parts.sqs,
    queueUrl: queue.queueUrl,
    dlqUrl: queue.dlqUrl,
    storeVersion: objectStore.version,
    jobs: (limit) => queue.jobs(limit),
    health: async () => ({
      ...(await parts.healthCheck.check()),
      bucket: config.bucket,
      prefix: config.prefix,
      queueUrl: queue.queueUrl,
      dlqUrl: queue.dlqUrl,
      batchSize: config.batchSize,
      maxReceiveCount: config.maxReceiveCount,
      visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
    }),
  });
}

/** Starts every component; on failure closes what already started and rethrows. */
export async function startLocalMode(config: LocalConfig, options: LocalModeOptions = {}): Promise<LocalMode> {
  const started: Array<() => Promise<void> | void> = [];
  try {
    const fakes = await startFakes(fakesOptions(config, options));
    started.push(fakes.close);
    if (fakes.bedrock) injectModelFailures(fakes.bedrock, config.localModel);

    const handlerEnv = handlerEnvFor(config, fakes);
    // Fails now, with the variable's name, rather than on the first request.
    const handlerConfig = readConfig(handlerEnv);
    const log = options.log ?? ((line: string) => process.stdout.write(`${formatLogLine(line)}\n`));
    const sqs = new SQSClient({ region: config.region, endpoint: fakes.queue.url, credentials: LOCAL_CREDENTIALS });
    started.push(() => sqs.destroy());

    const worker = startQueueWorker(config, fakes.queue, sqs, createQueueHandler(handlerEnv, { log }), options);
    started.push(worker.stop);
    let apiUrl = "";
    const healthCheck = healthCheckFor(config, fakes, worker, () => apiUrl);
    started.push(() => healthCheck.destroy());
    const api = await startLocalApi(config, fakes, {
      handler: createHttpHandler(handlerEnv, { log }),
      store: createImageStore(handlerConfig),
      sqs,
      healthCheck,
      apiKeys: options.apiKeys,
    });
    apiUrl = api.url;
    const { objectStore, queue, bedrock } = fakes;
    const releaseClients = () => {
      healthCheck.destroy();
      sqs.destroy();
    };
    return {
      config,
      api,
      objectStore,
      queue,
      bedrock,
      worker,
      handlerEnv,
      apiKeys: options.apiKeys,
      stop: stopOnce(worker, api, fakes, releaseClients),
    };
  } catch (err) {
    await closeNewestFirst(started).catch(() => undefined);
    throw err;
  }
}

/**
 * The mode's stop: no new receives, the batches in flight finish, then the API and the servers
 * close; what the queue's journal keeps is counted before the queue closes.
 */
function stopOnce(worker: Worker, api: ApiServer, fakes: Fakes, releaseClients: () => void): LocalMode["stop"] {
  let stopping: Promise<{ queued: number; deadLetters: number }> | undefined;
  return () => {
    stopping ??= (async () => {
      await worker.stop();
      await api.close();
      const kept = fakes.queue.kept();
      await fakes.close();
      releaseClients();
      return { queued: kept.queue, deadLetters: kept.dlq };
    })();
    return stopping;
  };
}
