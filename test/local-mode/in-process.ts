/** The local mode started in this process (local/app/start.ts startLocalMode) on ephemeral ports and its own data directory. */
import { mkdtempSync } from "node:fs";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadLocalConfig } from "../../local/app/config";
import { LOCAL_CREDENTIALS, useDummyCredentials } from "../../local/fakes/credentials";
import { startLocalMode, type LocalMode } from "../../local/app/start";
import { freshEnv, waitFor } from "../../tools/local-child";

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

export interface HealthBody {
  status: string;
  components: Record<
    string,
    {
      status: string;
      error?: string;
      lastPollAt?: string;
      lastPollOutcome?: string;
      lastError?: string;
      state?: string;
    }
  >;
}

/** GET /health of the mode: its status code and body. */
export async function health(mode: LocalMode): Promise<{ code: number; body: HealthBody }> {
  const res = await fetch(`${mode.api.url}/health`);
  return { code: res.status, body: (await res.json()) as HealthBody };
}

/**
 * GET /health until it answers 200. On a machine busy with the whole suite one probe can miss its
 * 2 s, so it asks again for up to 10 s; if it never passes, the error carries the last body.
 */
export async function healthOnceAllAnswer(mode: LocalMode): Promise<{ code: number; body: HealthBody }> {
  let last: Awaited<ReturnType<typeof health>> | undefined;
  try {
    return await waitFor(
      "every component to answer",
      async () => {
        last = await health(mode);
        return last.code === 200 ? last : undefined;
      },
      10000,
      250,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${JSON.stringify(last?.body)}`, { cause: err });
  }
}
