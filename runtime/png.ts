/** Minimal PNG check: the 8-byte signature followed by a well-formed IHDR chunk. */

// A plain array, not a Buffer: Pulumi's function serializer turns module-level Buffers (and
// Sets/Maps) into plain objects in the Lambda archive.
export const PNG_SIGNATURE: readonly number[] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export interface PngSize {
  width: number;
  height: number;
}

/** Width and height from the IHDR chunk, or undefined when `buf` is not a PNG. */
export function pngSize(buf: Buffer): PngSize | undefined {
  if (buf.length < 33 || !PNG_SIGNATURE.every((byte, i) => buf[i] === byte)) return undefined;
  if (buf.readUInt32BE(8) !== 13 || buf.toString("latin1", 12, 16) !== "IHDR") return undefined;
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  return width > 0 && height > 0 ? { width, height } : undefined;
}
