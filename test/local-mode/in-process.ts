/** The local mode started in this process (local/app/start.ts startLocalMode) on ephemeral ports and its own data directory. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadLocalConfig } from "../../local/app/config";
import { useDummyCredentials } from "../../local/fakes/credentials";
import { startLocalMode, type LocalMode } from "../../local/app/start";

/** The environment of a local mode on ephemeral ports with `dataDir` as its data directory. */
export function inProcessEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    LOCAL_API_PORT: "0",
    LOCAL_S3_PORT: "0",
    LOCAL_SQS_PORT: "0",
    LOCAL_BEDROCK_PORT: "0",
    LOCAL_DATA_DIR: dataDir,
    ...extra,
  };
}

export async function startInProcess(
  extra: Record<string, string> = {},
  dataDir = mkdtempSync(path.join(tmpdir(), "local-inproc-")),
): Promise<{ mode: LocalMode; dataDir: string; logs: string[] }> {
  useDummyCredentials();
  const logs: string[] = [];
  const mode = await startLocalMode(loadLocalConfig(inProcessEnv(dataDir, extra)), { log: (line) => logs.push(line) });
  return { mode, dataDir, logs };
}
