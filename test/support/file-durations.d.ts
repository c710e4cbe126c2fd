/** Milliseconds per test file (path relative to the repository, with `/`), or {} before any run. */
export function readFileDurations(): Record<string, number>;
/** Keeps `durations` (merged over the previous ones, so a run of a few files forgets nothing). */
export function writeFileDurations(durations: Record<string, number>): void;
