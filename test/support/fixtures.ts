/**
 * mocha's global fixtures: they run once per `npm test`, in the main process, before the parallel
 * workers start (so the workers, and every process they start, inherit what they put in the environment).
 */
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SHARED_STACKS_DIR } from "../../tools/stack";

/**
 * A memory-backed directory, where there is one. The suite creates thousands of files (s3rver keeps
 * three per object, queue journals, evaluated stacks); on this machine's ext4 disk each file cost
 * ~1 ms of CPU, on tmpfs ~0.03 ms.
 */
const MEMORY_TMP = "/dev/shm";

function runTempParent(): string {
  try {
    accessSync(MEMORY_TMP, constants.W_OK);
    return MEMORY_TMP;
  } catch {
    return tmpdir();
  }
}

let runTemp: string | undefined;

export function mochaGlobalSetup(): void {
  // Every temp directory of the run (os.tmpdir() reads TMPDIR) lives below one, removed at the end.
  runTemp = mkdtempSync(join(runTempParent(), "couch-tests-"));
  process.env.TMPDIR = runTemp;
  // Lets test files in different workers share each evaluation of the Pulumi program (tools/stack.ts).
  process.env[SHARED_STACKS_DIR] = mkdtempSync(join(runTemp, "evaluated-stacks-"));
}

export function mochaGlobalTeardown(): void {
  if (runTemp) rmSync(runTemp, { recursive: true, force: true });
}
