/** The local mode started in this process (local/app/start.ts startLocalMode) on ephemeral ports and its own data directory. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadLocalConfig } from "../../local/app/config";
import { useDummyCredentials } from "../../local/fakes/credentials";
import { startLocalMode, type LocalMode } from "../../local/app/start";

export async function startInProcess(extra: Record<string, string> = {}): Promise<{ mode: LocalMode; dataDir: string; logs: string[] }> {
  useDummyCredentials();
  const dataDir = mkdtempSync(path.join(tmpdir(), "local-inproc-"));
  const env = { LOCAL_API_PORT: "0", LOCAL_S3_PORT: "0", LOCAL_SQS_PORT: "0", LOCAL_BEDROCK_PORT: "0", LOCAL_DATA_DIR: dataDir, ...extra };
  const logs: string[] = [];
  const mode = await startLocalMode(loadLocalConfig(env), { log: (line) => logs.push(line) });
  return { mode, dataDir, logs };
}
