/**
 * mocha's spec reporter, then the slowest tests and hooks of the run, and the files that took the
 * longest (in parallel mode the slowest file sets the suite's floor); it keeps each file's time for
 * the next run's order (.mocharc.js). Works with --parallel: workers send every test and hook with
 * its duration to the main process, where this runs.
 */
import * as path from "node:path";
import Mocha = require("mocha");
import { writeFileDurations } from "./file-durations";

const { EVENT_HOOK_END, EVENT_RUN_END, EVENT_TEST_FAIL, EVENT_TEST_PASS } = Mocha.Runner.constants;
const SHOWN_RUNNABLES = 10;
const SHOWN_FILES = 5;
const REPO_ROOT = path.resolve(__dirname, "..", "..");

interface Timed {
  title: string;
  file: string;
  ms: number;
}

class SpecWithSlowest extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    const timed: Timed[] = [];
    const record = (runnable: Mocha.Runnable) => {
      if (runnable.duration === undefined) return;
      const file = runnable.file ? path.relative(REPO_ROOT, runnable.file).split(path.sep).join("/") : "?";
      timed.push({ title: runnable.fullTitle(), file, ms: runnable.duration });
    };
    runner.on(EVENT_TEST_PASS, record);
    runner.on(EVENT_TEST_FAIL, record);
    runner.on(EVENT_HOOK_END, record);
    // Registered after Spec's own RUN_END listener, so this prints below its summary.
    runner.once(EVENT_RUN_END, () => {
      const perFile = msPerFile(timed);
      printSlowest(timed, perFile);
      perFile.delete("?");
      writeFileDurations(Object.fromEntries(perFile));
    });
  }
}

/** Each file's tests and hooks added up, with its path relative to the repository. */
function msPerFile(timed: Timed[]): Map<string, number> {
  const perFile = new Map<string, number>();
  for (const { file, ms } of timed) perFile.set(file, (perFile.get(file) ?? 0) + ms);
  return perFile;
}

function printSlowest(timed: Timed[], perFile: Map<string, number>): void {
  if (timed.length === 0) return;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`.padStart(7);
  const log = Mocha.reporters.Base.consoleLog;
  log(`  Slowest tests and hooks:`);
  for (const { title, file, ms } of [...timed].sort((a, b) => b.ms - a.ms).slice(0, SHOWN_RUNNABLES))
    log(`  ${seconds(ms)}  ${title} (${file})`);
  log(`  Slowest files (their tests and hooks added up):`);
  for (const [file, ms] of [...perFile].sort((a, b) => b[1] - a[1]).slice(0, SHOWN_FILES)) log(`  ${seconds(ms)}  ${file}`);
  log();
}

export = SpecWithSlowest;
