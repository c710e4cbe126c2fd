/**
 * Where a queued job's objects live, under `<prefix>/images/`: the one home of that layout, read
 * by the store (runtime/storage.ts) and by the IAM policies that reach those keys (components/).
 *
 *   <jobId>.queued.json   marker: the job is accepted and not finished (POST /images, the worker)
 *   <jobId>.png + .json   the picture and its sidecar: done
 *   <jobId>.failed.json   failure record: failed, perhaps redrivable
 */
const JOBS_FOLDER = "images";
const MARKER_SUFFIX = ".queued.json";

export interface JobKeys {
  image: string;
  sidecar: string;
  failure: string;
  marker: string;
}

export function jobKeys(prefix: string, jobId: string): JobKeys {
  const base = `${prefix}/${JOBS_FOLDER}/${jobId}`;
  return { image: `${base}.png`, sidecar: `${base}.json`, failure: `${base}.failed.json`, marker: `${base}${MARKER_SUFFIX}` };
}

/**
 * Every job's marker key, as an IAM resource pattern relative to the bucket: the only keys the
 * enqueue function writes and the only ones any function deletes. Job ids hold no "/" or ".", so
 * the pattern cannot reach a picture, a sidecar or a failure record.
 */
export function jobMarkerPattern(prefix: string): string {
  return `${prefix}/${JOBS_FOLDER}/*${MARKER_SUFFIX}`;
}
