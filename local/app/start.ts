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
import { adapterFor, createHttpHandler, createQueueHandler } from "../../runtime";
import { readConfig, toHandlerEnv, type HandlerSettings } from "../../runtime/config";
import { ENV } from "../../runtime/env";
import { createImageStore } from "../../runtime/storage";
import { startBedrockServer, type BedrockServer, type FailureMode } from "../fakes/bedrock-server";
import { LocalConfigError, loadLocalConfig, type LocalConfig } from "./config";
import { LOCAL_CREDENTIALS, useDummyCredentials } from "../fakes/credentials";
import { createHealthCheck } from "./health";
import { PortInUseError } from "../fakes/listen";
import { startObjectStore, type ObjectStore } from "../fakes/object-store";
import { startQueueServer, type QueueServer } from "../fakes/queue-server";
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
  /** The environment both handlers were created with. */
  handlerEnv: Record<string, string>;
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

/** The local servers as the handlers' endpoint overrides (no Bedrock one with MODEL=bedrock). */
function localEndpoints(servers: { objectStore: ObjectStore; queue: QueueServer; bedrock?: BedrockServer }): HandlerSettings["endpoints"] {
  return { s3: servers.objectStore.url, sqs: servers.queue.url, ...(servers.bedrock ? { bedrockRuntime: servers.bedrock.url } : {}) };
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
      ...toHandlerEnv({
        bucket: config.bucket,
        prefix: config.prefix,
        modelId: config.modelId,
        bedrockRegion: config.bedrockRegion,
        queueUrl: queue.queueUrl,
        maxReceiveCount: config.maxReceiveCount,
        workerConcurrency: config.workerConcurrency,
        urlExpirySeconds: config.urlExpirySeconds,
        region: config.region,
        bedrockMaxAttempts: config.modelAttempts,
        endpoints: localEndpoints({ objectStore, queue, bedrock }),
      }),
    };
    // Fails now, with the variable's name, rather than on the first request.
    const handlerConfig = readConfig(handlerEnv);

    const log = options.log ?? ((line: string) => process.stdout.write(`${formatLogLine(line)}\n`));
    const httpHandler = createHttpHandler(handlerEnv, { log });
    const queueHandler = createQueueHandler(handlerEnv, { log });

    const s3 = new S3Client({ region: config.region, endpoint: objectStore.url, forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
    const sqs = new SQSClient({ region: config.region, endpoint: queue.url, credentials: LOCAL_CREDENTIALS });

    const worker = startWorker({
      sqs,
      queueUrl: queue.queueUrl,
      queueArn: queue.queueArn,
      region: config.region,
      handler: queueHandler,
      batchSize: config.batchSize,
      // Every model call of a batch ends before its records' visibility timeout (local/config.ts).
      timeLimitSeconds: config.workerTimeLimitSeconds,
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
      // The gallery lists pictures through the handlers' own store.
      store: createImageStore(handlerConfig),
      // As Lambda does: the handler's context counts down from the function timeout.
      timeoutSeconds: config.apiTimeoutSeconds,
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

/** `AWS_ENDPOINT_URL_S3=… AWS_ENDPOINT_URL_SQS=… …`: the endpoint variables the handlers were given. */
function endpointVariables(mode: LocalMode): string {
  return Object.entries(mode.handlerEnv)
    .filter(([name]) => ([ENV.s3Endpoint, ENV.sqsEndpoint, ENV.bedrockEndpoint] as string[]).includes(name))
    .map(([name, value]) => `${name}=${value}`)
    .join(" ");
}

/** "model calls: 3 tries of up to 8.6 s", as an invocation starts. */
function budgetText({ attempts, tryTimeoutMs }: LocalConfig["queueModelBudget"]): string {
  return `model calls: ${attempts} ${attempts === 1 ? "try" : "tries"} of up to ${Number((tryTimeoutMs / 1000).toFixed(1))} s`;
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
    `  worker         batch size ${config.batchSize}, visibility timeout ${config.visibilityTimeoutSeconds} s, ${config.pollers} poller(s), ${budgetText(config.queueModelBudget)}`,
    `  config         ${config.stackFile ?? "Pulumi.yaml defaults (no Pulumi.dev.yaml)"} + environment overrides`,
    // The handlers' own endpoint settings, in the variables the AWS CLI and SDKs read too.
    `  endpoints      ${endpointVariables(mode)}`,
  ];
  if (queue.restored.queue || queue.restored.dlq) {
    lines.push(`  restored       ${queue.restored.queue} queued and ${queue.restored.dlq} dead-letter message(s) from ${queueJournalFile(config)}`);
  }
  lines.push(
    "",
    "Try it:",
    `  curl -X POST ${api.url}/generate -H 'content-type: application/json' -d '{"prompt":"me at a Parisian café, old polaroid look"}'`,
    `  curl -X POST ${api.url}/images -d '{"prompt":"me on top of a pyramid at sunset"}'   # then GET ${api.url}/images/<id>`,
    `  export ${endpointVariables(mode)} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local`,
    `  aws --region ${config.region} sqs send-message --queue-url ${queue.queueUrl} --message-body "me on top of a pyramid"`,
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
