/** The local mode started in this process (local/app/start.ts startLocalMode) on ephemeral ports and its own data directory. */
import { mkdtempSync } from "node:fs";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadLocalConfig } from "../../local/app/config";
import { LOCAL_CREDENTIALS, useDummyCredentials } from "../../local/fakes/credentials";
import { startLocalMode, type LocalMode } from "../../local/app/start";
import { freshEnv } from "../../tools/local-child";

export async function startInProcess(
  extra: Record<string, string> = {},
  dataDir = mkdtempSync(path.join(tmpdir(), "local-inproc-")),
): Promise<{ mode: LocalMode; dataDir: string; logs: string[] }> {
  useDummyCredentials();
  const logs: string[] = [];
  const mode = await startLocalMode(loadLocalConfig(freshEnv(extra, dataDir)), { log: (line) => logs.push(line) });
  return { mode, dataDir, logs };
}

/** A real S3 client of the mode's object store, as a caller outside the mode would make it. */
export function s3ClientOf(mode: LocalMode): S3Client {
  return new S3Client({ region: mode.config.region, endpoint: mode.objectStore.url, forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
}

/** A real SQS client of the mode's queue server, as a caller outside the mode would make it. */
export function sqsClientOf(mode: LocalMode): SQSClient {
  return new SQSClient({ region: mode.config.region, endpoint: mode.queue.url, credentials: LOCAL_CREDENTIALS });
}

/** Both clients. */
export function sdkClientsOf(mode: LocalMode): { s3: S3Client; sqs: SQSClient } {
  return { s3: s3ClientOf(mode), sqs: sqsClientOf(mode) };
}
