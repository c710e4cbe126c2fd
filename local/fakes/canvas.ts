/**
 * Drawing primitives of the offline renderer on an RGBA buffer, span based (whole rows at a time,
 * no anti-aliasing): enough for postcard-like shapes, fast enough for 1024×1024 in milliseconds.
 */
import { GLYPH_WIDTH, glyphPixels } from "./font";

export type Rgb = readonly [number, number, number];

/**
 * Every pixel stays opaque (alpha 255): drawing changes colours only, so writing an opaque pixel
 * as one 32-bit word is the same as writing its three colour bytes.
 */
export interface Canvas {
  w: number;
  h: number;
  px: Buffer; // RGBA
  /** The same memory as `px`, a pixel per element. */
  px32: Uint32Array;
}

export function canvas(w: number, h: number): Canvas {
  const px32 = new Uint32Array(w * h).fill(0xffffffff);
  return { w, h, px: Buffer.from(px32.buffer), px32 };
}

const pixelBytes = new Uint8Array(4);
const pixelWord = new Uint32Array(pixelBytes.buffer);

/**
 * An opaque colour as one pixel word, in the machine's byte order; each channel stored the way a
 * byte store stores any number (fractions dropped), so a word write equals three byte writes.
 */
function opaqueWord(col: Rgb): number {
  pixelBytes[0] = col[0];
  pixelBytes[1] = col[1];
  pixelBytes[2] = col[2];
  pixelBytes[3] = 255;
  return pixelWord[0];
}

/** From about this many pixels on, one call to `fill` beats a loop (about 50 ns a call here). */
const FILL_FROM = 32;

/** Sets pixels `from` (inclusive) to `to` (exclusive) to an opaque colour's word. */
function fill(c: Canvas, from: number, to: number, word: number): void {
  if (to - from >= FILL_FROM) c.px32.fill(word, from, to);
  else for (let j = from; j < to; j++) c.px32[j] = word;
}

/**
 * Changes pixels `from` (inclusive) to `to` (exclusive) in place, `change` rewriting the RGB bytes
 * at `i`. The new colour must depend only on the old one: then a run of equal pixels (a flat sky, a
 * band) is changed once and copied.
 */
export function recolour(c: Canvas, from: number, to: number, change: (px: Buffer, i: number) => void): void {
  let before = -1;
  let after = 0;
  for (let j = from; j < to; j++) {
    if (c.px32[j] === before) {
      c.px32[j] = after;
      continue;
    }
    before = c.px32[j];
    change(c.px, j * 4);
    after = c.px32[j];
  }
}

function blend(c: Canvas, from: number, to: number, col: Rgb, alpha: number): void {
  const k = 1 - alpha;
  recolour(c, from, to, (p, i) => {
    p[i] = p[i] * k + col[0] * alpha;
    p[i + 1] = p[i + 1] * k + col[1] * alpha;
    p[i + 2] = p[i + 2] * k + col[2] * alpha;
  });
}

/** Columns floor(x0) to ceil(x1) (exclusive) of rows y0 to y1 (integers, y1 exclusive), clipped; `alpha` below 1 blends. */
function block(c: Canvas, x0: number, x1: number, y0: number, y1: number, col: Rgb, alpha: number): void {
  const a = Math.max(0, Math.floor(x0));
  const b = Math.min(c.w - 1, Math.ceil(x1) - 1);
  if (b < a) return;
  const word = opaqueWord(col);
  for (let y = Math.max(0, y0); y < Math.min(c.h, y1); y++) {
    if (alpha < 1) blend(c, y * c.w + a, y * c.w + b + 1, col, alpha);
    else fill(c, y * c.w + a, y * c.w + b + 1, word);
  }
}

/** Row y (an integer) from x0 to x1. */
export function span(c: Canvas, y: number, x0: number, x1: number, col: Rgb, alpha = 1): void {
  block(c, x0, x1, y, y + 1, col, alpha);
}

export function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** A colour as light falls on it: 1 in daylight, towards a dark blue at night (0). */
export function shade(col: Rgb, light: number): Rgb {
  return mix([10, 12, 30], col, 0.25 + 0.75 * light);
}

export function gradient(c: Canvas, y0: number, y1: number, top: Rgb, bottom: Rgb): void {
  const a = Math.max(0, Math.floor(y0));
  const b = Math.min(c.h, Math.ceil(y1));
  for (let y = a; y < b; y++) span(c, y, 0, c.w, mix(top, bottom, (y - y0) / Math.max(1, y1 - y0)));
}

export function rect(c: Canvas, x0: number, y0: number, x1: number, y1: number, col: Rgb, alpha = 1): void {
  block(c, x0, x1, Math.floor(y0), Math.ceil(y1), col, alpha);
}

export function ellipse(c: Canvas, cx: number, cy: number, rx: number, ry: number, col: Rgb, alpha = 1): void {
  for (let y = Math.max(0, Math.floor(cy - ry)); y <= Math.min(c.h - 1, Math.ceil(cy + ry)); y++) {
    const d = (y + 0.5 - cy) / ry;
    if (d * d > 1) continue;
    const half = rx * Math.sqrt(1 - d * d);
    span(c, y, cx - half, cx + half, col, alpha);
  }
}

/** Even-odd scanline fill of a polygon given as [x0, y0, x1, y1, …]. */
export function polygon(c: Canvas, pts: number[], col: Rgb, alpha = 1): void {
  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 1; i < pts.length; i += 2) {
    minY = Math.min(minY, pts[i]);
    maxY = Math.max(maxY, pts[i]);
  }
  const n = pts.length / 2;
  const xs: number[] = [];
  for (let y = Math.max(0, Math.floor(minY)); y <= Math.min(c.h - 1, Math.ceil(maxY)); y++) {
    const sy = y + 0.5;
    xs.length = 0;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const yi = pts[2 * i + 1];
      const yj = pts[2 * j + 1];
      if (yi > sy !== yj > sy) xs.push(pts[2 * i] + ((sy - yi) / (yj - yi)) * (pts[2 * j] - pts[2 * i]));
    }
    xs.sort((p, q) => p - q);
    for (let k = 0; k + 1 < xs.length; k += 2) span(c, y, xs[k], xs[k + 1], col, alpha);
  }
}

/** Fills everything below the edge y = edge(x) (sampled every 8 px); returns the edge points. */
export function fillBelow(c: Canvas, edge: (x: number) => number, col: Rgb): number[] {
  const pts: number[] = [0, c.h];
  for (let x = 0; x <= c.w; x += 8) pts.push(x, edge(x));
  pts.push(c.w, c.h);
  polygon(c, pts, col);
  return pts;
}

/** A thick line made of a quadrilateral. */
export function line(c: Canvas, x0: number, y0: number, x1: number, y1: number, width: number, col: Rgb): void {
  const len = Math.hypot(x1 - x0, y1 - y0) || 1;
  const nx = (-(y1 - y0) / len) * (width / 2);
  const ny = ((x1 - x0) / len) * (width / 2);
  polygon(c, [x0 + nx, y0 + ny, x1 + nx, y1 + ny, x1 - nx, y1 - ny, x0 - nx, y0 - ny], col);
}

/** A soft radial glow (sun halo), alpha falling off with distance. */
export function glow(c: Canvas, cx: number, cy: number, r: number, col: Rgb, strength: number): void {
  const p = c.px;
  const [red, green, blue] = col;
  for (let y = Math.max(0, Math.floor(cy - r)); y < Math.min(c.h, Math.ceil(cy + r)); y++) {
    const dy = y - cy;
    const dy2 = dy * dy;
    // The row's chord, a pixel wider each side than the circle: outside it d ≥ 1 beyond doubt.
    const reach = Math.min(r, Math.sqrt(Math.max(0, r * r - dy2)) + 1);
    const x0 = Math.max(0, Math.floor(cx - reach));
    const x1 = Math.min(c.w, Math.ceil(cx + reach));
    for (let x = x0, i = (y * c.w + x0) * 4; x < x1; x++, i += 4) {
      const d = Math.sqrt((x - cx) * (x - cx) + dy2) / r;
      if (d >= 1) continue;
      const a = strength * (1 - d) * (1 - d);
      p[i] += (red - p[i]) * a;
      p[i + 1] += (green - p[i + 1]) * a;
      p[i + 2] += (blue - p[i + 2]) * a;
    }
  }
}

/** Text in the 5×8 font (local/fakes/font.ts), each font pixel a `unit` × `unit` square; (x, y) is its top left. */
export function text(c: Canvas, value: string, x: number, y: number, unit: number, col: Rgb): void {
  [...value].forEach((ch, i) => {
    for (const [gx, gy] of glyphPixels(ch) ?? [])
      rect(
        c,
        x + (i * (GLYPH_WIDTH + 1) + gx) * unit,
        y + gy * unit,
        x + (i * (GLYPH_WIDTH + 1) + gx + 1) * unit,
        y + (gy + 1) * unit,
        col,
      );
  });
}
