/**
 * What the gallery page reads: one page of pictures (newest first) with their sidecars, the newest
 * failed jobs, and the queues. Whatever the bucket holds, one answer carries at most one page of
 * cards and clips every prompt and reason, so it stays small.
 *
 * S3 lists keys in name order and job ids are random, so "newest first" needs every key's
 * LastModified: the keys are listed in full (one request per 1,000, no object read), then only the
 * page's sidecars the listing holds are read. Given the store's change counter (`storeVersion`), the listing is kept
 * until the store changes, so paging through a large bucket lists it once, not once per page.
 */
import type { SQSClient } from "@aws-sdk/client-sqs";
import { jobOfRecord, parseQueueBody } from "../../runtime/jobs";
import { kindOfKey } from "../../runtime/keys";
import { sidecarKeyOf, type ImageStore, type StoredObject } from "../../runtime/storage";
import { excerpt } from "../../runtime/text";
import { queueDepth } from "./health";
import type { QueuedJob } from "../fakes/queue-server";

export const PAGE_SIZE = { default: 24, max: 100 } as const;
/** Failed jobs shown below the pictures (their total is reported too). */
const FAILURES_SHOWN = 20;
/** Characters of a prompt or reason that one card shows; the full length is given beside it. */
const CARD_TEXT_LIMIT = 300;
/** Sidecars and failure records kept in memory (they never change once written). */
const JSON_CACHE_ENTRIES = 2000;

export interface GalleryDataOptions {
  /** The handlers' own store: its listing, sidecars and failure records. */
  store: ImageStore;
  sqs: SQSClient;
  queueUrl: string;
  dlqUrl: string;
  /** The object store's change counter (local/fakes/object-store.ts); without it every page lists anew. */
  storeVersion?: () => number;
  /** The image queue's messages not deleted yet (the pending cards). */
  jobs?: (limit: number) => QueuedJob[];
}

/** At most `limit` characters (code points) of a text, and its length when it was longer. */
function clipped(text: unknown, limit = CARD_TEXT_LIMIT): { text?: string; length?: number } {
  if (typeof text !== "string") return {};
  const start = excerpt(text, limit);
  return start.length <= limit ? { text } : { text: `${start.text}…`, length: start.length };
}

/** What every card shows of an object: its key, its time and the start of its prompt. */
function cardOf(o: StoredObject, prompt: unknown) {
  const { text, length } = clipped(prompt);
  return {
    key: o.key,
    lastModified: o.lastModified?.toISOString(),
    prompt: text,
    ...(length ? { promptLength: length } : {}),
  };
}

const time = (o: StoredObject) => o.lastModified?.getTime() ?? 0;
/** LastModified (1 s resolution), then the key: a total order, so pages neither skip nor repeat. */
const newestFirst = (a: StoredObject, b: StoredObject) => time(b) - time(a) || (b.key < a.key ? -1 : b.key > a.key ? 1 : 0);

type JsonRecord = Record<string, unknown>;

type ReadRecord = (key: string) => Promise<JsonRecord | undefined>;

/** Sidecars and failure records through a bounded cache (least recently used out): they never change once written. */
function recordCache(): (key: string, read: ReadRecord) => Promise<JsonRecord | undefined> {
  const cache = new Map<string, JsonRecord>();
  return async (key, read) => {
    const hit = cache.get(key);
    if (hit) {
      cache.delete(key); // re-inserted below: Map order is the eviction order
      cache.set(key, hit);
      return hit;
    }
    // Not written yet (the sidecar follows its picture) or unreadable: nothing to show.
    const value = await read(key).catch(() => undefined);
    if (!value || Object.keys(value).length === 0) return undefined;
    cache.set(key, value);
    if (cache.size > JSON_CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
    return value;
  };
}

/** What a listing tells the gallery: pictures and failure records newest first, and every key listed. */
interface Listing {
  pngs: StoredObject[];
  failed: StoredObject[];
  keys: Set<string>;
}

/** Every object under the prefix, page after page of the store's listing (local/fakes/s3rver.ts makes its tokens work). */
async function listFromStore(store: ImageStore): Promise<Listing> {
  const objects: StoredObject[] = [];
  let next: string | undefined;
  do {
    const page = await store.list(next);
    objects.push(...page.objects);
    next = page.next;
  } while (next);
  return {
    pngs: objects.filter((o) => kindOfKey(o.key) === "image").sort(newestFirst),
    failed: objects.filter((o) => kindOfKey(o.key) === "failure").sort(newestFirst),
    keys: new Set(objects.map((o) => o.key)),
  };
}

/** The listing, sorted once; the last one while the store has not changed since it began. */
function cachedListing(store: ImageStore, storeVersion: (() => number) | undefined): () => Promise<Listing> {
  let listed: { version: number; listing: Promise<Listing> } | undefined;
  return () => {
    const version = storeVersion?.();
    if (version === undefined) return listFromStore(store);
    if (listed?.version !== version) {
      const listing = listFromStore(store);
      listed = { version, listing };
      listing.catch(() => {
        if (listed?.listing === listing) listed = undefined;
      });
    }
    return listed.listing;
  };
}

/** A picture's card: the object, and what its sidecar says of it. */
function pictureCard(o: StoredObject, sidecar: JsonRecord) {
  return {
    ...cardOf(o, sidecar.prompt),
    url: `/local/object?key=${encodeURIComponent(o.key)}`,
    size: o.size,
    source: sidecar.source,
    jobId: sidecar.jobId,
    seed: sidecar.seed,
    width: sidecar.width,
    height: sidecar.height,
    model: sidecar.model,
    createdAt: sidecar.createdAt,
  };
}

/** A failed job's card: the failure record's prompt, reason and kind. */
function failureCard(o: StoredObject, record: JsonRecord) {
  return {
    ...cardOf(o, record.prompt),
    reason: clipped(record.reason).text,
    code: record.code,
    kind: record.kind,
    failedAt: record.failedAt,
  };
}

/** A message of the image queue as a pending card, listed by job id (a POST /images job carries its own in the body). */
function pendingCard(j: QueuedJob) {
  const { jobId, input } = jobOfRecord(parseQueueBody(j.body).input, j.id);
  return {
    id: jobId,
    prompt: clipped(input.prompt).text ?? "",
    state: j.state,
    receiveCount: j.receiveCount,
    sentAt: new Date(j.sentAt).toISOString(),
  };
}

export function createGalleryData(opts: GalleryDataOptions) {
  const { store } = opts;
  const readCached = recordCache();
  const listAll = cachedListing(store, opts.storeVersion);

  /**
   * A page's pictures with their sidecars; within one second, the sidecar's createdAt (ms) orders them.
   * Only sidecars the listing holds are read: a picture without one (not written yet, or never) costs no GET.
   */
  async function withSidecars(page: StoredObject[], listedKeys: Set<string>) {
    const sidecarOf = async (o: StoredObject) =>
      listedKeys.has(sidecarKeyOf(o.key)) ? await readCached(o.key, store.readSidecar) : undefined;
    const read = await Promise.all(page.map(async (o) => ({ o, sidecar: (await sidecarOf(o)) ?? {} })));
    const created = (x: { sidecar: JsonRecord }) => Date.parse(String(x.sidecar.createdAt ?? "")) || 0;
    return read.sort((a, b) => time(b.o) - time(a.o) || created(b) - created(a) || newestFirst(a.o, b.o));
  }

  const failures = (failed: StoredObject[]) =>
    Promise.all(failed.slice(0, FAILURES_SHOWN).map(async (o) => failureCard(o, (await readCached(o.key, store.readFailure)) ?? {})));

  return {
    /** Page `page` (from 1) of the pictures, newest first; a page past the end gives the last one. */
    async pictures(page: number, pageSize: number) {
      const { pngs, failed, keys: listedKeys } = await listAll();
      const pages = Math.max(1, Math.ceil(pngs.length / pageSize));
      const current = Math.min(Math.max(1, page), pages);
      const cards = await withSidecars(pngs.slice((current - 1) * pageSize, current * pageSize), listedKeys);
      return {
        bucket: store.bucket,
        prefix: store.prefix,
        total: pngs.length,
        page: current,
        pageSize,
        pages,
        pictures: cards.map(({ o, sidecar }) => pictureCard(o, sidecar)),
        failedTotal: failed.length,
        failures: await failures(failed),
      };
    },

    /** Depths of both queues, and the image queue's oldest messages (at most a page) with their prompts. */
    async queues() {
      const [queue, dlq] = await Promise.all([queueDepth(opts.sqs, opts.queueUrl), queueDepth(opts.sqs, opts.dlqUrl)]);
      const jobs = (opts.jobs?.(PAGE_SIZE.default) ?? []).map(pendingCard);
      return { queue, dlq, jobs };
    },
  };
}
