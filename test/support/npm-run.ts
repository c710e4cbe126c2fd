import { spawn } from "node:child_process";
import { resolve } from "node:path";

const ROOT = resolve(__dirname, "../..");

export interface NpmRunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run --silent <script> [-- args]` in the repository, as a user types it; what it printed and its exit code. */
export function npmRun(script: string, args: string[] = []): Promise<NpmRunResult> {
  const argv = ["run", "--silent", script, ...(args.length ? ["--", ...args] : [])];
  const child = spawn("npm", argv, { cwd: ROOT, env: { ...process.env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  return new Promise((done, fail) => {
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}
