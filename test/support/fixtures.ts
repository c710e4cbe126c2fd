/**
 * mocha's global fixtures: they run once per `npm test`, in the main process, before the parallel
 * workers start (so the workers inherit what they put in the environment).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SHARED_STACKS_DIR } from "../../tools/stack";

/** Lets test files in different workers share each evaluation of the Pulumi program (tools/stack.ts). */
export function mochaGlobalSetup(): void {
  process.env[SHARED_STACKS_DIR] = mkdtempSync(join(tmpdir(), "evaluated-stacks-"));
}

export function mochaGlobalTeardown(): void {
  const dir = process.env[SHARED_STACKS_DIR];
  if (dir) rmSync(dir, { recursive: true, force: true });
}
