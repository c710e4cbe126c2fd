/**
 * s3rver 3.7.1, loaded so that listings past one page (1,000 keys) work on Node 17+ and an object
 * is always read whole (replaceObjectsWhole, below).
 *
 * s3rver encrypts each ListObjectsV2 continuation token with DES (generateContinuationToken and
 * decipherContinuationToken in s3rver/lib/controllers/bucket.js; the maintained fork
 * `@20minutes/s3rver` has the same code). Node's OpenSSL 3 refuses DES unless the whole process
 * runs with `--openssl-legacy-provider` (ERR_OSSL_EVP_UNSUPPORTED), so every truncated listing
 * answered 500. The token is opaque to clients and only s3rver reads it back, so its cipher only
 * has to round-trip: while s3rver loads, its bucket controller — and nothing else — is handed a
 * `crypto` whose "des" is AES-128-CTR with the same 8-byte key and IV doubled to 16 bytes (a stream
 * mode: no padding, so update() + final() round-trips like DES-CBC). No legacy algorithm is
 * enabled in the process and no file under node_modules changes, so a clean `npm ci` works.
 */
import * as crypto from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import Module from "node:module";
import { dirname } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

const BUCKET_CONTROLLER = require.resolve("s3rver/lib/controllers/bucket.js");

const double = (bytes: crypto.BinaryLike): Buffer => {
  const b = Buffer.from(bytes as Uint8Array);
  return Buffer.concat([b, b]);
};

/** `crypto` as s3rver's bucket controller sees it: "des" tokens made with AES-128-CTR. */
const tokenCrypto: typeof crypto = {
  ...crypto,
  createCipheriv: ((algorithm: string, key: crypto.BinaryLike, iv: crypto.BinaryLike) =>
    algorithm === "des"
      ? crypto.createCipheriv("aes-128-ctr", double(key), double(iv))
      : crypto.createCipheriv(algorithm, key, iv)) as typeof crypto.createCipheriv,
  createDecipheriv: ((algorithm: string, key: crypto.BinaryLike, iv: crypto.BinaryLike) =>
    algorithm === "des"
      ? crypto.createDecipheriv("aes-128-ctr", double(key), double(iv))
      : crypto.createDecipheriv(algorithm, key, iv)) as typeof crypto.createDecipheriv,
};

function loadS3rver(): unknown {
  if (require.cache[BUCKET_CONTROLLER]) {
    throw new Error(
      "s3rver was loaded before local/fakes/s3rver.ts: its continuation tokens would use DES; require s3rver only through local/fakes/s3rver.ts",
    );
  }
  type Require = (this: NodeModule, id: string) => unknown;
  const proto = Module.prototype as unknown as { require: Require };
  const original = proto.require;
  proto.require = function (this: NodeModule, id: string) {
    if (this.filename === BUCKET_CONTROLLER && (id === "crypto" || id === "node:crypto")) return tokenCrypto;
    return original.call(this, id);
  };
  try {
    return require("s3rver");
  } finally {
    proto.require = original;
  }
}

/**
 * s3rver's file store writes an object in place: it truncates the object, metadata and MD5 files and
 * writes them again, and answers a streamed PUT once the body has passed through, before the file
 * holds it. A GET meanwhile, or right after the answer, can read a short file under the whole
 * file's content-length (the client sees "aborted") or half a metadata file (500). S3 itself
 * answers every read with the whole old or the whole new object. Here each file is written to a
 * file of its own and renamed into place, and the PUT is answered after the renames. The object is
 * renamed last: a process killed before that leaves the old object, as a PUT that never completed.
 */
function replaceObjectsWhole(): void {
  type Metadata = Record<string, string>;
  type Store = {
    getResourcePath(bucket: string, key: string, resource: string): string;
    putMetadata(bucket: string, key: string, metadata: Metadata, md5?: string): Promise<void>;
  };
  type StoredObject = { bucket: string; key: string; content: Buffer | Readable; metadata: Metadata };
  const FilesystemStore = require("s3rver/lib/stores/filesystem.js") as { prototype: Record<string, unknown> };
  const { ALLOWED_METADATA } = require("s3rver/lib/models/object.js") as { ALLOWED_METADATA: string[] };
  let written = 0;
  const partialOf = (file: string) => `${file}.${process.pid}-${++written}.partial`;

  async function writeWhole(file: string, data: string): Promise<void> {
    const partial = partialOf(file);
    await writeFile(partial, data);
    await rename(partial, file);
  }

  FilesystemStore.prototype.putMetadata = async function (this: Store, bucket: string, key: string, metadata: Metadata, md5?: string) {
    const kept = Object.entries(metadata).filter(([name]) => ALLOWED_METADATA.includes(name) || name.startsWith("x-amz-meta-"));
    if (md5) await writeWhole(this.getResourcePath(bucket, key, "object.md5"), md5);
    await writeWhole(this.getResourcePath(bucket, key, "metadata.json"), JSON.stringify(Object.fromEntries(kept), null, 2));
  };

  FilesystemStore.prototype.putObject = async function (this: Store, object: StoredObject) {
    const file = this.getResourcePath(object.bucket, object.key, "object");
    const partial = partialOf(file);
    const hash = crypto.createHash("md5");
    let size = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    await mkdir(dirname(file), { recursive: true });
    try {
      const body = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
      await pipeline(body, measure, createWriteStream(partial));
      const md5 = hash.digest("hex");
      await this.putMetadata(object.bucket, object.key, object.metadata, md5);
      await rename(partial, file);
      return { size, md5 };
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
  };
}

// s3rver ships no types; the parts used here.
export const S3rver = loadS3rver() as new (options: Record<string, unknown>) => {
  configureBuckets(): Promise<void>;
  callback(): (req: unknown, res: unknown) => void;
};
replaceObjectsWhole();
export const AWSAccount = require("s3rver/lib/models/account") as {
  registry: Map<string, unknown>;
  DUMMY_ACCOUNT: unknown;
};
