/**
 * s3rver 3.7.1, loaded so that listings past one page (1,000 keys) work on Node 17+.
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
import Module from "node:module";

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

// s3rver ships no types; the parts used here.
export const S3rver = loadS3rver() as new (options: Record<string, unknown>) => {
  configureBuckets(): Promise<void>;
  callback(): (req: unknown, res: unknown) => void;
};
export const AWSAccount = require("s3rver/lib/models/account") as {
  registry: Map<string, unknown>;
  DUMMY_ACCOUNT: unknown;
};
