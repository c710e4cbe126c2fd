/**
 * Minimal PNG encoder and header reader (pure JavaScript on top of node:zlib).
 *
 * Only what the offline renderer, the Bedrock test server and their tests need: 8-bit RGBA output,
 * and a decoder for 8-bit RGB/RGBA non-interlaced PNGs (all five scanline filters).
 */
import { crc32, deflateSync, inflateSync } from "node:zlib";
import { pngSize } from "../../runtime/png";

/** The eight bytes every PNG file starts with. */
export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** CRC-32 (ISO 3309, the one PNG chunks use): Node's own, from 20.15 on. */
export { crc32 };

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * Encodes an RGBA image (row-major, 4 bytes per pixel) as a PNG.
 * Each scanline uses filter type 0 (None); zlib level 3 keeps a 1024×1024 picture fast to encode.
 */
export function encodePng(width: number, height: number, rgba: Buffer): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`invalid PNG size ${width}x${height}`);
  }
  const stride = width * 4;
  if (rgba.length !== stride * height) {
    throw new RangeError(`expected ${stride * height} bytes of RGBA data, got ${rgba.length}`);
  }
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    // raw[y * (stride + 1)] stays 0: filter type None
    rgba.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type RGBA
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method 0
  ihdr[12] = 0; // no interlace
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 3 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/**
 * Reads width and height from a PNG's IHDR chunk. Returns undefined unless the buffer starts with
 * the PNG signature followed by a well-formed IHDR chunk (length 13, non-zero size: the runtime's
 * own check, runtime/png.ts) whose CRC is also valid.
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

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Decodes an 8-bit RGB or RGBA, non-interlaced PNG, verifying every chunk's CRC.
 * Throws an Error saying what is wrong for anything else.
 */
export function decodePng(buf: Buffer): DecodedPng {
  const header = readPngHeader(buf);
  if (!header) throw new Error("not a PNG (bad signature or IHDR)");
  const { width, height } = header;
  const depth = buf[24];
  const colourType = buf[25];
  if (depth !== 8 || (colourType !== 6 && colourType !== 2) || buf[28] !== 0) {
    throw new Error(`unsupported PNG: bit depth ${depth}, colour type ${colourType}, interlace ${buf[28]}`);
  }
  const idat: Buffer[] = [];
  let pos = 8;
  let ended = false;
  while (pos + 12 <= buf.length && !ended) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString("latin1", pos + 4, pos + 8);
    if (pos + 12 + len > buf.length) throw new Error(`truncated ${type} chunk`);
    if (crc32(buf.subarray(pos + 4, pos + 8 + len)) !== buf.readUInt32BE(pos + 8 + len)) throw new Error(`bad CRC in ${type} chunk`);
    if (type === "IDAT") idat.push(buf.subarray(pos + 8, pos + 8 + len));
    ended = type === "IEND";
    pos += 12 + len;
  }
  if (!ended) throw new Error("missing IEND chunk");
  const bpp = colourType === 6 ? 4 : 3;
  const stride = width * bpp;
  const raw = inflateSync(Buffer.concat(idat));
  if (raw.length !== (stride + 1) * height) throw new Error(`image data has ${raw.length} bytes, expected ${(stride + 1) * height}`);
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    if (filter > 4) throw new Error(`unknown filter type ${filter} on row ${y}`);
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? pixels[row + x - bpp] : 0;
      const b = y > 0 ? pixels[row - stride + x] : 0;
      let predictor = 0;
      if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) predictor = paeth(a, b, x >= bpp && y > 0 ? pixels[row - stride + x - bpp] : 0);
      pixels[row + x] = (raw[src + x] + predictor) & 0xff;
    }
  }
  if (bpp === 4) return { width, height, rgba: pixels };
  const rgba = Buffer.alloc(width * height * 4, 255);
  for (let i = 0, j = 0; i < pixels.length; i += 3, j += 4) pixels.copy(rgba, j, i, i + 3);
  return { width, height, rgba };
}
