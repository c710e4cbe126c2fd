/**
 * `npm start`: the whole platform on one machine, no cloud, no network.
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
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { adapterFor, createHttpHandler, createQueueHandler } from "../runtime";
import { ENV } from "../runtime/defaults";
import { readConfig } from "../runtime/config";
import { startBedrockServer, type BedrockServer, type FailureMode } from "./bedrock-server";
import { LocalConfigError, loadLocalConfig, type LocalConfig } from "./config";
import { LOCAL_CREDENTIALS, useDummyCredentials } from "./credentials";
import { createHealthCheck } from "./health";
import { PortInUseError } from "./listen";
import { startObjectStore, type ObjectStore } from "./object-store";
import { startQueueServer, type QueueServer } from "./queue-server";
import { startApiServer, type ApiServer } from "./api-server";
import { startWorker, type Worker } from "./worker";
import { formatLogLine } from "./log-format";

export interface LocalMode {
  config: LocalConfig;
  api: ApiServer;
  objectStore: ObjectStore;
  queue: QueueServer;
  bedrock?: BedrockServer;
  worker: Worker;
  /** The environment the HTTP handler was created with. */
  handlerEnv: Record<string, string>;
  /** The queue handler's: handlerEnv plus its model-call budget (config.queueModelBudget). */
  queueHandlerEnv: Record<string, string>;
  /**
   * Stops receiving, finishes the batches in flight and closes every server. Resolves with the
   * messages the queue's journal keeps for the next start.
   */
  stop(): Promise<{ queued: number; deadLetters: number }>;
}

export interface LocalModeOptions {
  /** Where the handlers' log lines and the worker's notes go (default: stdout, compact). */
  log?: (line: string) => void;
}

/** Where the queues' journal lives (local/queue-journal.ts). */
export function queueJournalFile(config: Pick<LocalConfig, "dataDir">): string {
  return path.join(config.dataDir, "queue-journal.jsonl");
}

/** Starts every component; on failure closes what already started and rethrows. */
export async function startLocalMode(config: LocalConfig, options: LocalModeOptions = {}): Promise<LocalMode> {
  const started: Array<() => Promise<void>> = [];
  const closeStarted = async () => {
    for (const close of started.reverse()) await close().catch(() => undefined);
  };
  try {
    const objectStore = await startObjectStore({
      host: config.host,
      port: config.ports.s3,
      directory: path.join(config.dataDir, "s3"),
      bucket: config.bucket,
    });
    started.push(objectStore.close);

    const queue = await startQueueServer({
      host: config.host,
      port: config.ports.sqs,
      queueName: config.queueName,
      dlqName: config.dlqName,
      maxReceiveCount: config.maxReceiveCount,
      visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
      region: config.region,
      journalFile: queueJournalFile(config),
      legacyStateFile: path.join(config.dataDir, "queues.json"),
      ...(options.log ? { warn: options.log } : {}),
    });
    started.push(queue.close);

    let bedrock: BedrockServer | undefined;
    if (config.model === "local") {
      bedrock = await startBedrockServer({ host: config.host, port: config.ports.bedrock, latencyMs: config.localModel.latencyMs, maxRecordedCalls: 1000 });
      started.push(bedrock.close);
      const { transient, permanent, failWhenPromptIncludes } = config.localModel;
      if (transient || permanent) bedrock.setFailureRate({ transient, permanent });
      for (const { marker, mode } of failWhenPromptIncludes) bedrock.failWhenPromptIncludes(marker, mode as FailureMode);
    }

    const handlerEnv: Record<string, string> = {
      [ENV.bucket]: config.bucket,
      [ENV.prefix]: config.prefix,
      [ENV.modelId]: config.modelId,
      [ENV.bedrockRegion]: config.bedrockRegion,
      [ENV.queueUrl]: queue.queueUrl,
      [ENV.maxReceiveCount]: String(config.maxReceiveCount),
      [ENV.region]: config.region,
      [ENV.s3Endpoint]: objectStore.url,
      [ENV.sqsEndpoint]: queue.url,
      ...(bedrock ? { [ENV.bedrockEndpoint]: bedrock.url } : {}),
      ...(config.workerConcurrency ? { [ENV.workerConcurrency]: String(config.workerConcurrency) } : {}),
      ...(config.urlExpirySeconds ? { [ENV.urlExpirySeconds]: String(config.urlExpirySeconds) } : {}),
      ...config.apiModelSettings,
    };
    // The queue handler's model calls must end before its records' visibility timeout (see
    // queueModelBudget in local/config.ts); the API's carry the deployed API's budget (apiModelSettings).
    const queueHandlerEnv = { ...handlerEnv, ...config.queueModelBudget };
    readConfig(handlerEnv); // fail now, with the variable's name, rather than on the first request
    readConfig(queueHandlerEnv);

    const log = options.log ?? ((line: string) => process.stdout.write(`${formatLogLine(line)}\n`));
    const httpHandler = createHttpHandler(handlerEnv, { log });
    const queueHandler = createQueueHandler(queueHandlerEnv, { log });

    const s3 = new S3Client({ region: config.region, endpoint: objectStore.url, forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
    const sqs = new SQSClient({ region: config.region, endpoint: queue.url, credentials: LOCAL_CREDENTIALS });

    const worker = startWorker({
      sqs,
      queueUrl: queue.queueUrl,
      queueArn: queue.queueArn,
      region: config.region,
      handler: queueHandler,
      batchSize: config.batchSize,
      idlePollMs: config.idlePollMs,
      pollers: config.pollers,
      ...(options.log ? { log: options.log } : {}),
    });
    started.push(worker.stop);

    let apiUrl = "";
    const healthCheck = createHealthCheck({
      region: config.region,
      credentials: LOCAL_CREDENTIALS,
      objectStore: { url: objectStore.url, bucket: config.bucket, prefix: config.prefix, directory: path.join(config.dataDir, "s3") },
      queue: { url: queue.url, queueUrl: queue.queueUrl, dlqUrl: queue.dlqUrl },
      localModelUrl: bedrock?.url,
      model: { modelId: config.modelId, bedrockRegion: config.bedrockRegion },
      worker,
      apiUrl: () => apiUrl,
    });
    started.push(async () => healthCheck.destroy());
    const api = await startApiServer({
      host: config.host,
      port: config.ports.api,
      handler: httpHandler,
      maxPromptLength: adapterFor(config.modelId).maxPromptLength,
      s3,
      sqs,
      bucket: config.bucket,
      prefix: config.prefix,
      queueUrl: queue.queueUrl,
      dlqUrl: queue.dlqUrl,
      storeVersion: objectStore.version,
      jobs: (limit) => queue.jobs(limit),
      health: async () => ({
        ...(await healthCheck.check()),
        bucket: config.bucket,
        prefix: config.prefix,
        queueUrl: queue.queueUrl,
        dlqUrl: queue.dlqUrl,
        batchSize: config.batchSize,
        maxReceiveCount: config.maxReceiveCount,
        visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
      }),
    });
    started.push(api.close);
    apiUrl = api.url;


    let stopping: Promise<{ queued: number; deadLetters: number }> | undefined;
    return {
      config,
      api,
      objectStore,
      queue,
      bedrock,
      worker,
      handlerEnv,
      queueHandlerEnv,
      stop() {
        stopping ??= (async () => {
          await worker.stop(); // no new receives; the batches in flight finish
          await api.close();
          const kept = queue.kept();
          await queue.close();
          if (bedrock) await bedrock.close();
          await objectStore.close();
          healthCheck.destroy();
          s3.destroy();
          sqs.destroy();
          return { queued: kept.queue, deadLetters: kept.dlq };
        })();
        return stopping;
      },
    };
  } catch (err) {
    await closeStarted();
    throw err;
  }
}

/** The startup banner: endpoints, queues and ready-to-paste examples. */
export function banner(mode: LocalMode): string {
  const { config, api, objectStore, queue, bedrock } = mode;
  const lines = [
    "",
    "Couch Explorers — local mode",
    `  gallery        ${api.url}/`,
    `  API            ${api.url}   (POST /generate, POST /images, GET /images/{id}, GET /health)`,
    `  object store   ${objectStore.url}   bucket ${config.bucket}, prefix ${config.prefix}/, files in ${path.join(config.dataDir, "s3")}`,
    `  queue          ${queue.queueUrl}`,
    `  dead letters   ${queue.dlqUrl}   (after ${config.maxReceiveCount} receives)`,
    bedrock
      ? `  model          ${bedrock.url}   (offline renderer posing as ${config.modelId}; MODEL=bedrock for the real one)`
      : `  model          Amazon Bedrock ${config.modelId} in ${config.bedrockRegion}, with your AWS credentials`,
    `  worker         batch size ${config.batchSize}, visibility timeout ${config.visibilityTimeoutSeconds} s, ${config.pollers} poller(s)`,
    `  config         ${config.stackFile ?? "Pulumi.yaml defaults (no Pulumi.dev.yaml)"} + environment overrides`,
  ];
  if (queue.restored.queue || queue.restored.dlq) {
    lines.push(`  restored       ${queue.restored.queue} queued and ${queue.restored.dlq} dead-letter message(s) from ${queueJournalFile(config)}`);
  }
  lines.push(
    "",
    "Try it:",
    `  curl -X POST ${api.url}/generate -H 'content-type: application/json' -d '{"prompt":"me at a Parisian café, old polaroid look"}'`,
    `  curl -X POST ${api.url}/images -d '{"prompt":"me on top of a pyramid at sunset"}'   # then GET ${api.url}/images/<id>`,
    `  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws --region ${config.region} --endpoint-url ${queue.url} sqs send-message --queue-url ${queue.queueUrl} --message-body "me on top of a pyramid"`,
    "",
    `Local mode ready: ${api.url}  (Ctrl-C stops; every queued message is kept in ${queueJournalFile(config)})`,
  );
  return lines.join("\n");
}

function fail(message: string): never {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  // The SDK's notice that its 2027 releases need Node 22 says nothing about this pinned install;
  // in a newcomer's first terminal it reads like an error. Set the variable to "false" to see it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  let config: LocalConfig;
  try {
    config = loadLocalConfig(process.env);
  } catch (err) {
    return fail((err as Error).message);
  }
  // Only local servers are reached: sign with dummy keys so no real credential is ever looked up.
  if (config.model === "local") useDummyCredentials();

  let mode: LocalMode;
  try {
    mode = await startLocalMode(config);
  } catch (err) {
    if (err instanceof PortInUseError || err instanceof LocalConfigError || (err as Error)?.name === "ConfigError") {
      return fail((err as Error).message);
    }
    return fail(`could not start: ${(err as Error)?.message ?? err}`);
  }
  process.stdout.write(`${banner(mode)}\n`);

  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) {
      process.stderr.write(
        "Stopping now without waiting: the batches in flight are cut short; their messages are delivered again at the next start.\n",
      );
      process.exit(130);
    }
    process.stdout.write(`\n${signal}: stopping (the batch in flight finishes first; Ctrl-C again to force)…\n`);
    mode
      .stop()
      .then(({ queued, deadLetters }) => {
        process.stdout.write(`Stopped. ${queued} queued and ${deadLetters} dead-letter message(s) kept for the next start.\n`);
        process.exit(0);
      })
      .catch((err) => {
        process.stderr.write(`Stopped with an error: ${(err as Error)?.message ?? err}\n`);
        process.exit(1);
      });
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
}

if (require.main === module) void main();
