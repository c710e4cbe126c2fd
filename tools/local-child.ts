/**
 * Runs `npm start` (local/app/cli.ts) as a child process on ephemeral ports with its own data
 * directory, waits for its "ready" line and hands out clients pointed at what it started.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { LOCAL_CREDENTIALS } from "../local/fakes/credentials";

export { getJson, getObject, listKeys } from "./objects";

export const REPO_ROOT = path.resolve(__dirname, "..");
/** The TypeScript loader `npm start` runs local/app/cli.ts with. */
const TS_REGISTER = path.join(REPO_ROOT, "tools", "register.js");

export interface Health {
  status: string;
  bucket: string;
  prefix: string;
  queueUrl: string;
  dlqUrl: string;
  components: Record<string, { status: string; endpoint?: string } & Record<string, unknown>>;
  queues: {
    queue: { visible: number; inFlight: number; delayed: number };
    dlq: { visible: number; inFlight: number; delayed: number };
  };
}

export interface LocalChild {
  apiUrl: string;
  health: Health;
  s3: S3Client;
  sqs: SQSClient;
  dataDir: string;
  child: ChildProcess;
  output(): string;
  /** Sends `signal` and resolves with the exit code (null if killed by a signal) once all its processes exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts local/app/cli.ts with `env` added to the current environment; does not wait for anything.
 * `viaNpm` runs the real `npm start` (in its own process group, so stop() reaches node too).
 */
function spawnStart(env: Record<string, string>, viaNpm = false): ChildProcess {
  const options: SpawnOptions = {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: viaNpm,
  };
  return viaNpm
    ? spawn("npm", ["start", "--silent"], options)
    : spawn(process.execPath, ["-r", TS_REGISTER, path.join("local", "app", "cli.ts")], options);
}

/** Runs local/app/cli.ts to completion (for start-up failures); kills it after `timeoutMs`. */
export function runStart(env: Record<string, string>, timeoutMs = 30000): Promise<RunResult> {
  const child = spawnStart(env);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve) =>
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** The environment for a child on ephemeral ports with a fresh data directory. */
export function freshEnv(
  extra: Record<string, string> = {},
  dataDir = mkdtempSync(path.join(tmpdir(), "local-mode-")),
): Record<string, string> {
  return {
    LOCAL_API_PORT: "0",
    LOCAL_S3_PORT: "0",
    LOCAL_SQS_PORT: "0",
    LOCAL_BEDROCK_PORT: "0",
    LOCAL_DATA_DIR: dataDir,
    ...extra,
  };
}

/** True while any process of the group `pgid` is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Sends `signal` to the child (with viaNpm, to its whole process group: npm, the shell and node)
 * and resolves with the child's exit code once every one of those processes has exited, so that
 * no node is still writing to the data directory. SIGKILL after `graceMs`.
 */
async function stopChild(
  child: ChildProcess,
  exited: Promise<number | null>,
  viaNpm: boolean,
  signal: NodeJS.Signals,
  graceMs = 20000,
): Promise<number | null> {
  const kill = (sig: NodeJS.Signals) => {
    try {
      if (viaNpm) process.kill(-child.pid!, sig);
      else child.kill(sig);
    } catch {
      // already gone
    }
  };
  const running = () => (viaNpm ? groupAlive(child.pid!) : child.exitCode === null && child.signalCode === null);
  if (running()) kill(signal);
  const timer = setTimeout(() => kill("SIGKILL"), graceMs);
  try {
    const code = await exited;
    while (viaNpm && groupAlive(child.pid!)) await new Promise((r) => setTimeout(r, 50));
    return code;
  } finally {
    clearTimeout(timer);
  }
}

export async function startLocalChild(env: Record<string, string>, readyTimeoutMs = 45000, viaNpm = false): Promise<LocalChild> {
  const child = spawnStart(env, viaNpm);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

  const apiUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within ${readyTimeoutMs} ms:\n${out}`)), readyTimeoutMs);
    const check = () => {
      const m = /Local mode ready: (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off("data", check);
        resolve(m[1]);
      }
    };
    child.stdout!.on("data", check);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`local mode exited with ${code} before it was ready:\n${out}`));
    });
  }).catch(async (err) => {
    await stopChild(child, exited, viaNpm, "SIGKILL");
    throw err;
  });

  let health: Health;
  try {
    health = (await (await fetch(`${apiUrl}/health`)).json()) as Health;
  } catch (err) {
    await stopChild(child, exited, viaNpm, "SIGKILL");
    throw new Error(`GET /health failed after the ready line (${(err as Error).message}):\n${out}`, { cause: err });
  }
  const s3 = new S3Client({
    region: "eu-west-1",
    endpoint: health.components.objectStore.endpoint,
    forcePathStyle: true,
    credentials: LOCAL_CREDENTIALS,
  });
  const sqs = new SQSClient({
    region: "eu-west-1",
    endpoint: health.components.queue.endpoint,
    credentials: LOCAL_CREDENTIALS,
  });
  return {
    apiUrl,
    health,
    s3,
    sqs,
    dataDir: env.LOCAL_DATA_DIR,
    child,
    output: () => out,
    async stop(signal: NodeJS.Signals = "SIGINT") {
      s3.destroy();
      sqs.destroy();
      return stopChild(child, exited, viaNpm, signal);
    },
  };
}

/** Stops a child (if started) and removes its data directory; for after() hooks. */
export async function cleanup(local: LocalChild | undefined, removeData = true): Promise<void> {
  if (!local) return;
  await local.stop("SIGTERM"); // resolves only when every process of the child has exited
  if (removeData && local.dataDir) rmSync(local.dataDir, { recursive: true, force: true });
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ""}`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
