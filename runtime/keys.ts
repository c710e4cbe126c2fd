/**
 * Where a queued job's objects live, under `<prefix>/images/`: the one home of that layout, read
 * by the store (runtime/storage.ts) and by the IAM policies that reach those keys (components/).
 *
 *   <jobId>.queued.json   marker: the job is accepted and not finished (POST /images, the worker)
 *   <jobId>.png + .json   the picture and its sidecar: done
 *   <jobId>.failed.json   failure record: failed, perhaps redrivable
 */
const JOBS_FOLDER = "images";
/** The end of every job marker's key (also what the bootstrap's permissions boundary lets functions delete). */
export const MARKER_SUFFIX = ".queued.json";
const FAILURE_SUFFIX = ".failed.json";

export interface JobKeys {
  image: string;
  sidecar: string;
  failure: string;
  marker: string;
}

export function jobKeys(prefix: string, jobId: string): JobKeys {
  const base = `${prefix}/${JOBS_FOLDER}/${jobId}`;
  return {
    image: `${base}.png`,
    sidecar: `${base}.json`,
    failure: `${base}${FAILURE_SUFFIX}`,
    marker: `${base}${MARKER_SUFFIX}`,
  };
}

/**
 * Every job's marker key, as an IAM resource pattern relative to the bucket: the only keys the
 * enqueue function writes and the only ones any function deletes. Job ids hold no "/" or ".", so
 * the pattern cannot reach a picture, a sidecar or a failure record.
 */
export function jobMarkerPattern(prefix: string): string {
  return `${prefix}/${JOBS_FOLDER}/*${MARKER_SUFFIX}`;
}

/** What an object under the prefix is, by its key: a picture, its sidecar, a failure record or a job's marker. */
export type StoredKind = "image" | "sidecar" | "failure" | "marker";

export function kindOfKey(key: string): StoredKind | undefined {
  if (key.endsWith(".png")) return "image";
  if (key.endsWith(FAILURE_SUFFIX)) return "failure";
  if (key.endsWith(MARKER_SUFFIX)) return "marker";
  return key.endsWith(".json") ? "sidecar" : undefined;
}
