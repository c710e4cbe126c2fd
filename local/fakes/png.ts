/**
 * PNG for the offline renderer, the Bedrock-compatible server and their tests: encoding and
 * decoding by pngjs, and a header reader on top of the runtime's own check (runtime/png.ts).
 */
import { crc32 } from "node:zlib";
import { PNG } from "pngjs";
import { PNG_SIGNATURE as SIGNATURE_BYTES, pngSize } from "../../runtime/png";

/** The eight bytes every PNG file starts with. */
export const PNG_SIGNATURE = Buffer.from(SIGNATURE_BYTES);

/** CRC-32 (ISO 3309, the one PNG chunks use): Node's own, from 20.15 on. */
export { crc32 };

/**
 * Unfiltered scanlines, zlib level 3 with zlib's default strategy: a 1024×1024 postcard in about
 * 25 ms. pngjs's own defaults (adaptive filters, level 9, run-length strategy) take five to seven
 * times as long for a file about 40% smaller (`npm run bench`, PNG section).
 */
const ENCODING = { colorType: 6, filterType: 0, deflateLevel: 3, deflateStrategy: 0 } as const;

/** Encodes an RGBA image (row-major, 4 bytes per pixel) as an 8-bit RGBA PNG. */
export function encodePng(width: number, height: number, rgba: Buffer): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`invalid PNG size ${width}x${height}`);
  }
  if (rgba.length !== width * height * 4) {
    throw new RangeError(`expected ${width * height * 4} bytes of RGBA data, got ${rgba.length}`);
  }
  const image = new PNG();
  image.width = width;
  image.height = height;
  image.data = rgba;
  return PNG.sync.write(image, ENCODING);
}

/**
 * Reads width and height from a PNG's IHDR chunk. Returns undefined unless the buffer starts with
 * the PNG signature followed by a well-formed IHDR chunk (length 13, non-zero size: the runtime's
 * own check) whose CRC is also valid.
 */
export function readPngHeader(buf: Uint8Array): { width: number; height: number } | undefined {
  if (!buf) return undefined;
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const size = pngSize(b);
  return size && crc32(b.subarray(12, 29)) === b.readUInt32BE(29) ? size : undefined;
}

export interface DecodedPng {
  width: number;
  height: number;
  /** RGBA, 4 bytes per pixel, row-major (RGB input gets alpha 255). */
  rgba: Buffer;
}

/** Throws naming the first chunk whose CRC does not match (pngjs's own error does not say which). */
function verifyChunks(buf: Buffer): void {
  for (let pos = PNG_SIGNATURE.length; pos + 12 <= buf.length;) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString("latin1", pos + 4, pos + 8);
    if (pos + 12 + len > buf.length) throw new Error(`truncated ${type} chunk`);
    if (crc32(buf.subarray(pos + 4, pos + 8 + len)) !== buf.readUInt32BE(pos + 8 + len)) throw new Error(`bad CRC in ${type} chunk`);
    pos += 12 + len;
  }
}

/** Decodes a PNG to RGBA, verifying every chunk's CRC; throws an Error saying what is wrong. */
export function decodePng(buf: Buffer): DecodedPng {
  if (!readPngHeader(buf)) throw new Error("not a PNG (bad signature or IHDR)");
  verifyChunks(buf);
  const { width, height, data } = PNG.sync.read(buf, { checkCRC: false });
  return { width, height, rgba: data };
}
