/**
 * Offline "image model": paints a postcard-like scene from a prompt and a seed, deterministically.
 *
 * No weights and no network: keywords in the prompt choose the sky (day, sunset, night, snow), the
 * ground (hills, sea, beach, desert, snow, forest, city) and landmarks (mountains, pyramids, the
 * Eiffel tower, buildings, trees, palms, a traveller); the prompt's hash tints the palette and the
 * seed moves the details (positions, sizes, clouds, stars). "polaroid", "vintage", "retro" or "old"
 * put the scene in a white instant-photo frame with faded tones. Same input, same bytes.
 */
import { encodePng } from "./png";

export interface PostcardRequest {
  prompt: string;
  seed: number;
  width: number;
  height: number;
}

type Rgb = readonly [number, number, number];

interface Canvas {
  w: number;
  h: number;
  px: Buffer; // RGBA
}

/** What the prompt asks for, decided from keywords only (the seed never changes these). */
export interface SceneChoice {
  sky: "day" | "sunset" | "night" | "snow";
  ground: "hills" | "sea" | "beach" | "desert" | "snow" | "forest" | "city";
  mountains: boolean;
  pyramids: boolean;
  eiffel: boolean;
  palms: boolean;
  traveller: boolean;
  framed: boolean;
}

/** Keyword test: long words match as prefixes ("snow" → "snowy"), short ones only as whole words. */
const has = (text: string, words: string[]): boolean =>
  words.some((w) => new RegExp(w.length <= 3 ? `\\b${w}\\b` : `\\b${w}`, "i").test(text));

/** FNV-1a hash of a string, 32-bit unsigned. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function chooseScene(prompt: string): SceneChoice {
  const p = prompt.toLowerCase();
  const h = hashString(p);
  const sky: SceneChoice["sky"] = has(p, ["night", "moon", "star", "midnight", "dark"])
    ? "night"
    : has(p, ["sunset", "sunrise", "dusk", "dawn", "evening", "golden hour"])
     ? "sunset"
     : has(p, ["snow", "winter", "ski", "arctic", "ice", "glacier"])
      ? "snow"
      : "day";
  let ground: SceneChoice["ground"];
  if (has(p, ["beach", "tropical", "island", "coast", "shore"])) ground = "beach";
  else if (has(p, ["desert", "sahara", "dune", "pyramid", "egypt", "cairo", "camel"])) ground = "desert";
  else if (has(p, ["sea", "ocean", "lake", "harbou?r", "boat", "sail", "fjord"])) ground = "sea";
  else if (has(p, ["snow", "winter", "ski", "arctic", "glacier"])) ground = "snow";
  else if (has(p, ["forest", "wood", "jungle", "tree", "park", "camping"])) ground = "forest";
  else if (has(p, ["city", "town", "skyline", "street", "new york", "tokyo", "london", "building", "café", "cafe"]))
    ground = "city";
  else ground = (["hills", "sea", "hills", "forest"] as const)[h % 4];
  const mountains =
    has(p, ["mountain", "alps", "everest", "peak", "hik", "summit", "fjord", "volcano", "ski"]) ||
    (ground === "hills" && (h >>> 3) % 2 === 0);
  return {
    sky,
    ground,
    mountains,
    pyramids: has(p, ["pyramid", "egypt", "giza", "cairo"]),
    eiffel: has(p, ["paris", "eiffel", "parisian", "france"]),
    palms: ground === "beach" || has(p, ["palm", "tropical", "oasis"]),
    traveller: has(p, ["me", "i", "myself", "person", "traveller", "traveler", "selfie", "couple"]),
    framed: has(p, ["polaroid", "vintage", "retro", "old", "instant"]),
  };
}

// ---------------------------------------------------------------- drawing primitives (span based)

function canvas(w: number, h: number): Canvas {
  return { w, h, px: Buffer.alloc(w * h * 4, 255) };
}

function span(c: Canvas, y: number, x0: number, x1: number, col: Rgb, alpha = 1): void {
  if (y < 0 || y >= c.h) return;
  const a = Math.max(0, Math.floor(x0));
  const b = Math.min(c.w - 1, Math.ceil(x1) - 1);
  if (b < a) return;
  let i = (y * c.w + a) * 4;
  if (alpha >= 1) {
    for (let x = a; x <= b; x++, i += 4) {
      c.px[i] = col[0];
      c.px[i + 1] = col[1];
      c.px[i + 2] = col[2];
    }
  } else {
    const k = 1 - alpha;
    for (let x = a; x <= b; x++, i += 4) {
      c.px[i] = c.px[i] * k + col[0] * alpha;
      c.px[i + 1] = c.px[i + 1] * k + col[1] * alpha;
      c.px[i + 2] = c.px[i + 2] * k + col[2] * alpha;
    }
  }
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

function gradient(c: Canvas, y0: number, y1: number, top: Rgb, bottom: Rgb): void {
  const a = Math.max(0, Math.floor(y0));
  const b = Math.min(c.h, Math.ceil(y1));
  for (let y = a; y < b; y++) span(c, y, 0, c.w, mix(top, bottom, (y - y0) / Math.max(1, y1 - y0)));
}

function rect(c: Canvas, x0: number, y0: number, x1: number, y1: number, col: Rgb, alpha = 1): void {
  for (let y = Math.max(0, Math.floor(y0)); y < Math.min(c.h, Math.ceil(y1)); y++) span(c, y, x0, x1, col, alpha);
}

function ellipse(c: Canvas, cx: number, cy: number, rx: number, ry: number, col: Rgb, alpha = 1): void {
  for (let y = Math.max(0, Math.floor(cy - ry)); y <= Math.min(c.h - 1, Math.ceil(cy + ry)); y++) {
    const d = (y + 0.5 - cy) / ry;
    if (d * d > 1) continue;
    const half = rx * Math.sqrt(1 - d * d);
    span(c, y, cx - half, cx + half, col, alpha);
  }
}

/** Even-odd scanline fill of a polygon given as [x0, y0, x1, y1, …]. */
function polygon(c: Canvas, pts: number[], col: Rgb, alpha = 1): void {
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
function fillBelow(c: Canvas, edge: (x: number) => number, col: Rgb): number[] {
  const pts: number[] = [0, c.h];
  for (let x = 0; x <= c.w; x += 8) pts.push(x, edge(x));
  pts.push(c.w, c.h);
  polygon(c, pts, col);
  return pts;
}

/** A thick line made of a quadrilateral. */
function line(c: Canvas, x0: number, y0: number, x1: number, y1: number, width: number, col: Rgb): void {
  const len = Math.hypot(x1 - x0, y1 - y0) || 1;
  const nx = (-(y1 - y0) / len) * (width / 2);
  const ny = ((x1 - x0) / len) * (width / 2);
  polygon(c, [x0 + nx, y0 + ny, x1 + nx, y1 + ny, x1 - nx, y1 - ny, x0 - nx, y0 - ny], col);
}

/** A soft radial glow (sun halo), alpha falling off with distance. */
function glow(c: Canvas, cx: number, cy: number, r: number, col: Rgb, strength: number): void {
  for (let y = Math.max(0, Math.floor(cy - r)); y < Math.min(c.h, Math.ceil(cy + r)); y++) {
    const dy = y - cy;
    for (let x = Math.max(0, Math.floor(cx - r)); x < Math.min(c.w, Math.ceil(cx + r)); x++) {
      const d = Math.sqrt((x - cx) * (x - cx) + dy * dy) / r;
      if (d >= 1) continue;
      const a = strength * (1 - d) * (1 - d);
      const i = (y * c.w + x) * 4;
      c.px[i] += (col[0] - c.px[i]) * a;
      c.px[i + 1] += (col[1] - c.px[i + 1]) * a;
      c.px[i + 2] += (col[2] - c.px[i + 2]) * a;
    }
  }
}

// ---------------------------------------------------------------- scene elements

interface Palette {
  skyTop: Rgb;
  skyBottom: Rgb;
  sun: Rgb;
  far: Rgb;
  near: Rgb;
  light: number; // 0 night .. 1 day: darkens foreground objects
}

function palette(choice: SceneChoice, tint: number): Palette {
  const t = (col: Rgb, amount: number): Rgb => mix(col, [255 * tint, 120, 255 * (1 - tint)], amount);
  switch (choice.sky) {
    case "sunset":
      return { skyTop: t([70, 40, 120], 0.12), skyBottom: [255, 150, 70], sun: [255, 220, 120], far: [150, 80, 110], near: [70, 40, 70], light: 0.55 };
    case "night":
      return { skyTop: [8, 10, 35], skyBottom: t([30, 45, 95], 0.1), sun: [235, 235, 210], far: [35, 45, 80], near: [18, 22, 45], light: 0.2 };
    case "snow":
      return { skyTop: t([150, 180, 215], 0.1), skyBottom: [225, 232, 240], sun: [255, 250, 230], far: [150, 165, 190], near: [95, 110, 140], light: 0.9 };
    default:
      return { skyTop: t([40, 110, 210], 0.15), skyBottom: [170, 215, 245], sun: [255, 244, 200], far: [110, 140, 175], near: [70, 95, 120], light: 1 };
  }
}

function shade(col: Rgb, light: number): Rgb {
  return mix([10, 12, 30], col, 0.25 + 0.75 * light);
}

function drawSky(c: Canvas, ch: SceneChoice, pal: Palette, horizon: number, rnd: () => number): void {
  gradient(c, 0, horizon + 2, pal.skyTop, pal.skyBottom);
  const s = Math.min(c.w, c.h);
  if (ch.sky === "night") {
    const stars = Math.round((c.w * c.h) / 4000);
    for (let i = 0; i < stars; i++) {
      const x = rnd() * c.w;
      const y = rnd() * horizon * 0.95;
      const b = 150 + rnd() * 105;
      ellipse(c, x, y, s * 0.0025 + rnd() * s * 0.002, s * 0.0025 + rnd() * s * 0.002, [b, b, b * 0.95]);
    }
  }
  const sunX = c.w * (0.15 + rnd() * 0.7);
  const sunY = ch.sky === "sunset" && !ch.mountains ? horizon - s * (0.02 + rnd() * 0.08) : horizon * (0.22 + rnd() * 0.25);
  const sunR = s * (ch.sky === "sunset" ? 0.09 : 0.06);
  glow(c, sunX, sunY, sunR * 4, pal.sun, ch.sky === "night" ? 0.25 : 0.6);
  ellipse(c, sunX, sunY, sunR, sunR, pal.sun);
  if (ch.sky === "night") {
    for (let k = 0; k < 4; k++) {
      const a = rnd() * Math.PI * 2;
      const d = rnd() * sunR * 0.55;
      const r = sunR * (0.12 + rnd() * 0.12);
      ellipse(c, sunX + Math.cos(a) * d, sunY + Math.sin(a) * d, r, r, [200, 200, 185], 0.7); // craters
    }
  }
  if (ch.sky !== "night") {
    const clouds = 2 + Math.floor(rnd() * 4);
    for (let i = 0; i < clouds; i++) {
      const cx = rnd() * c.w;
      const cy = horizon * (0.1 + rnd() * 0.5);
      const cw = s * (0.08 + rnd() * 0.1);
      const col: Rgb = ch.sky === "sunset" ? [255, 190, 170] : [255, 255, 255];
      for (let k = 0; k < 4; k++) {
        ellipse(c, cx + (k - 1.5) * cw * 0.55, cy - (k % 2) * cw * 0.2, cw * 0.55, cw * 0.3, col, 0.85);
      }
    }
  }
  (c as Canvas & { sun?: number[] }).sun = [sunX, sunY, sunR];
}

function drawMountains(c: Canvas, ch: SceneChoice, pal: Palette, horizon: number, rnd: () => number): void {
  const s = Math.min(c.w, c.h);
  for (const layer of [0, 1]) {
    const peaks = 3 + Math.floor(rnd() * 3);
    const pk: Array<[number, number, number]> = [];
    for (let i = 0; i < peaks; i++) {
      const height = s * (layer === 0 ? 0.22 + rnd() * 0.2 : 0.12 + rnd() * 0.14);
      pk.push([((i + 0.2 + rnd() * 0.6) / peaks) * c.w, horizon - height, 0.6 + rnd() * 0.7]);
    }
    const col = layer === 0 ? pal.far : pal.near;
    const snowCol: Rgb = mix([245, 248, 255], col, ch.sky === "night" ? 0.6 : 0.1);
    const snowShade = mix(snowCol, [120, 140, 190], 0.25);
    const rockShade = mix(col, [0, 0, 20], 0.2);
    const snowy = layer === 0 || ch.sky === "snow" || ch.ground === "snow";
    const phase = rnd() * 10;
    for (let x = 0; x < c.w; x++) {
      let top = horizon;
      let peakY = horizon;
      let peakX = 0;
      for (const [px, py, slope] of pk) {
        const y = py + Math.abs(x - px) * slope;
        if (y < top) {
          top = y;
          peakY = py;
          peakX = px;
        }
      }
      const shadowed = x > peakX; // light comes from the left
      top += Math.sin(x * 0.05 + phase) * s * 0.004 + Math.sin(x * 0.013 + phase * 2) * s * 0.01;
      if (top >= horizon) continue;
      const snowLine = peakY + (horizon - peakY) * 0.3;
      for (let y = Math.max(0, Math.floor(top)); y < horizon + 1 && y < c.h; y++) {
        const i = (y * c.w + x) * 4;
        const cc = snowy && y < snowLine ? (shadowed ? snowShade : snowCol) : shadowed ? rockShade : col;
        c.px[i] = cc[0];
        c.px[i + 1] = cc[1];
        c.px[i + 2] = cc[2];
      }
    }
  }
}

function drawGround(c: Canvas, ch: SceneChoice, pal: Palette, horizon: number, rnd: () => number): void {
  const s = Math.min(c.w, c.h);
  const L = pal.light;
  const sun = (c as Canvas & { sun?: number[] }).sun ?? [c.w / 2, horizon, s * 0.06];
  const seaLike = ch.ground === "sea" || ch.ground === "beach";
  if (seaLike) {
    gradient(c, horizon, c.h, shade(mix(pal.skyBottom, [20, 90, 150], 0.6), L), shade([10, 50, 100], L));
    for (let i = 0; i < (c.w * c.h) / 1500; i++) {
      const y = horizon + rnd() * (c.h - horizon);
      const depth = (y - horizon) / (c.h - horizon);
      const len = s * (0.01 + depth * 0.05);
      const x = rnd() * c.w;
      const nearSun = Math.abs(x - sun[0]) < sun[2] * (1 + depth * 2);
      span(c, Math.floor(y), x - len, x + len, nearSun ? pal.sun : [255, 255, 255], nearSun ? 0.8 : 0.25);
    }
    if (ch.ground === "beach") {
      const shore = horizon + (c.h - horizon) * (0.45 + rnd() * 0.15);
      const amp = s * 0.02;
      const ph = rnd() * 6;
      const pts = fillBelow(c, (x) => shore + Math.sin(x / (s * 0.08) + ph) * amp + (x / c.w) * s * 0.05, shade([235, 210, 160], L));
      for (let k = 0; k < pts.length - 4; k += 2) span(c, Math.floor(pts[k + 3]) - 1, pts[k + 2], pts[k + 4] + 1, [250, 250, 245], 0.9);
    }
    return;
  }
  if (ch.ground === "desert") {
    gradient(c, horizon, c.h, shade([225, 185, 120], L), shade([200, 140, 75], L));
    for (let d = 0; d < 3; d++) {
      const base = horizon + (c.h - horizon) * (0.25 + d * 0.25);
      const ph = rnd() * 6;
      fillBelow(c, (x) => base + Math.sin(x / (s * (0.12 + d * 0.05)) + ph) * s * 0.03, shade(mix([240, 200, 135], [190, 125, 60], d / 3), L));
    }
    return;
  }
  if (ch.ground === "snow") {
    gradient(c, horizon, c.h, shade([235, 240, 250], L), shade([200, 215, 235], L));
    for (let d = 0; d < 2; d++) {
      const base = horizon + (c.h - horizon) * (0.35 + d * 0.3);
      const ph = rnd() * 6;
      for (let x = 0; x < c.w; x += 2) {
        const y = base + Math.sin(x / (s * 0.15) + ph) * s * 0.02;
        span(c, Math.floor(y), x, x + 2, shade([170, 190, 220], L), 0.7);
      }
    }
    return;
  }
  const green: Rgb = ch.ground === "city" ? [120, 125, 120] : [95, 160, 80];
  gradient(c, horizon, c.h, shade(mix(green, pal.far, 0.3), L), shade(mix(green, [30, 80, 30], 0.5), L));
  if (ch.ground !== "city") {
    for (let d = 0; d < 2; d++) {
      const base = horizon + (c.h - horizon) * (0.2 + d * 0.35);
      const ph = rnd() * 6;
      fillBelow(c, (x) => base - Math.abs(Math.sin(x / (s * 0.25) + ph)) * s * 0.06, shade(mix([110, 175, 85], [40, 100, 40], d / 2 + 0.2), L));
    }
  }
}

function drawPyramids(c: Canvas, pal: Palette, horizon: number, rnd: () => number): void {
  const s = Math.min(c.w, c.h);
  const count = 2 + Math.floor(rnd() * 2);
  for (let i = count - 1; i >= 0; i--) {
    const size = s * (0.28 - i * 0.07) * (0.85 + rnd() * 0.3);
    const cx = c.w * (0.25 + i * 0.28 + (rnd() - 0.5) * 0.1);
    const base = horizon + s * 0.03 * (count - i);
    const apexX = cx + size * 0.08;
    polygon(c, [cx - size, base, apexX, base - size * 0.75, apexX, base], shade([230, 195, 130], pal.light));
    polygon(c, [apexX, base, apexX, base - size * 0.75, cx + size, base], shade([170, 125, 75], pal.light));
  }
}

function drawEiffel(c: Canvas, pal: Palette, horizon: number, rnd: () => number): void {
  const s = Math.min(c.w, c.h);
  const height = s * (0.55 + rnd() * 0.12);
  const cx = c.w * (0.3 + rnd() * 0.4);
  const base = horizon + s * 0.05;
  const top = base - height;
  const col = shade([70, 60, 55], Math.max(0.4, pal.light));
  const baseHalf = s * 0.13;
  for (let y = Math.floor(top); y < base; y++) {
    const t = (y - top) / height;
    const half = s * 0.006 + baseHalf * Math.pow(t, 2.6);
    if (t > 0.78) {
      // the arch between the legs
      const a = (t - 0.78) / 0.22;
      const gap = half * 0.75 * Math.sqrt(Math.max(0, 1 - (1 - a) * (1 - a)));
      span(c, y, cx - half, cx - gap, col);
      span(c, y, cx + gap, cx + half, col);
    } else {
      span(c, y, cx - half, cx + half, col);
      if (t > 0.3 && half > s * 0.02) {
        // lattice: lighter cross-hatching inside the legs
        for (let x = cx - half * 0.7; x < cx + half * 0.7; x += s * 0.012) {
          if ((Math.floor(x + y) & 7) === 0) span(c, y, x, x + 1.5, mix(col, pal.skyBottom, 0.35));
        }
      }
    }
  }
  for (const t of [0.42, 0.72]) {
    const y = top + t * height;
    const half = s * 0.006 + baseHalf * Math.pow(t, 2.6) + s * 0.012;
    rect(c, cx - half, y, cx + half, y + s * 0.012, col);
  }
  line(c, cx, top, cx, top - s * 0.04, Math.max(1, s * 0.004), col);
}

function drawCity(c: Canvas, pal: Palette, horizon: number, rnd: () => number, night: boolean): void {
  const s = Math.min(c.w, c.h);
  for (let layer = 0; layer < 2; layer++) {
    let x = -rnd() * s * 0.05;
    while (x < c.w) {
      const bw = s * (0.05 + rnd() * 0.08);
      const bh = s * (layer === 0 ? 0.15 + rnd() * 0.3 : 0.08 + rnd() * 0.18);
      const baseY = horizon + s * 0.02 * (layer + 1);
      const tone = 80 + rnd() * 90;
      const col = shade(layer === 0 ? mix([tone, tone, tone + 15], pal.far, 0.5) : [tone * 0.8, tone * 0.75, tone * 0.7], pal.light);
      rect(c, x, baseY - bh, x + bw, baseY, col);
      const win: Rgb = night ? [255, 215, 110] : [200, 225, 245];
      const step = s * 0.022;
      for (let wy = baseY - bh + step * 0.6; wy < baseY - step; wy += step) {
        for (let wx = x + step * 0.4; wx < x + bw - step * 0.6; wx += step) {
          if (rnd() < (night ? 0.55 : 0.8)) rect(c, wx, wy, wx + step * 0.45, wy + step * 0.55, win, night ? 1 : 0.6);
        }
      }
      x += bw + s * 0.005;
    }
  }
}

function drawConifer(c: Canvas, x: number, baseY: number, size: number, col: Rgb, trunk: Rgb): void {
  rect(c, x - size * 0.06, baseY - size * 0.25, x + size * 0.06, baseY, trunk);
  for (let k = 0; k < 3; k++) {
    const y = baseY - size * (0.2 + k * 0.27);
    const half = size * (0.38 - k * 0.09);
    polygon(c, [x - half, y, x, y - size * 0.45, x + half, y], col);
  }
}

function drawPalm(c: Canvas, x: number, baseY: number, size: number, lean: number, col: Rgb, trunk: Rgb): void {
  const topX = x + lean * size * 0.35;
  const topY = baseY - size;
  line(c, x, baseY, topX, topY, size * 0.05, trunk);
  const leafLen = size * 0.45;
  for (let k = 0; k < 7; k++) {
    const dir = k / 6 - 0.5; // -0.5 left .. 0.5 right
    const upper: number[] = [];
    const lower: number[] = [];
    for (let i = 0; i <= 10; i++) {
      const t = i / 10;
      const x = topX + dir * 2 * leafLen * t;
      const y = topY - leafLen * (0.45 - Math.abs(dir) * 0.5) * t + leafLen * 0.7 * t * t;
      const w = leafLen * 0.07 * Math.sin(Math.PI * Math.min(1, t * 1.15));
      upper.push(x, y - w);
      lower.unshift(x, y + w);
    }
    polygon(c, upper.concat(lower), col);
  }
}

function drawTraveller(c: Canvas, x: number, baseY: number, size: number, col: Rgb): void {
  ellipse(c, x, baseY - size * 0.88, size * 0.09, size * 0.1, col);
  polygon(c, [x - size * 0.14, baseY - size * 0.45, x - size * 0.1, baseY - size * 0.76, x + size * 0.1, baseY - size * 0.76, x + size * 0.14, baseY - size * 0.45], col);
  rect(c, x - size * 0.1, baseY - size * 0.46, x - size * 0.02, baseY, col);
  rect(c, x + size * 0.02, baseY - size * 0.46, x + size * 0.1, baseY, col);
}

function drawForeground(c: Canvas, ch: SceneChoice, pal: Palette, horizon: number, rnd: () => number): void {
  const s = Math.min(c.w, c.h);
  const L = pal.light;
  const treeCount = ch.ground === "forest" ? 14 + Math.floor(rnd() * 8) : ch.ground === "hills" || ch.ground === "snow" ? 3 + Math.floor(rnd() * 4) : 0;
  const trees: Array<[number, number, number]> = [];
  for (let i = 0; i < treeCount; i++) {
    const depth = rnd();
    trees.push([rnd() * c.w, horizon + (c.h - horizon) * (0.05 + depth * 0.8), s * (0.08 + depth * 0.2)]);
  }
  trees.sort((a, b) => a[1] - b[1]);
  const leaf = shade(ch.ground === "snow" ? [60, 100, 80] : [30, 95, 45], L);
  for (const [x, y, size] of trees) drawConifer(c, x, y, size, mix(leaf, [0, 0, 0], (y - horizon) / c.h / 2), shade([90, 60, 35], L));
  if (ch.palms) {
    const palms = 1 + Math.floor(rnd() * 3);
    for (let i = 0; i < palms; i++) {
      const left = i % 2 === 0;
      const x = left ? c.w * (0.05 + rnd() * 0.2) : c.w * (0.75 + rnd() * 0.2);
      drawPalm(c, x, c.h - s * (0.02 + rnd() * 0.08), s * (0.35 + rnd() * 0.2), left ? 0.6 : -0.6, shade([40, 120, 50], L), shade([120, 85, 50], L));
    }
  }
  if (ch.traveller) {
    const x = c.w * (rnd() < 0.5 ? 0.3 + rnd() * 0.1 : 0.6 + rnd() * 0.1);
    drawTraveller(c, x, c.h - s * 0.03, s * 0.3, ch.sky === "night" ? [5, 5, 15] : [40, 35, 45]);
  }
}

/** Instant-photo look: lifted blacks, softer contrast, warm cast. */
function fade(c: Canvas): void {
  const p = c.px;
  for (let i = 0; i < p.length; i += 4) {
    const lum = 0.3 * p[i] + 0.59 * p[i + 1] + 0.11 * p[i + 2];
    p[i] = 30 + 0.7 * (0.7 * p[i] + 0.3 * lum) + 12;
    p[i + 1] = 30 + 0.7 * (0.7 * p[i + 1] + 0.3 * lum) + 4;
    p[i + 2] = 30 + 0.7 * (0.7 * p[i + 2] + 0.3 * lum) - 10;
  }
}

function paintScene(w: number, h: number, ch: SceneChoice, promptHash: number, seed: number): Canvas {
  const c = canvas(w, h);
  const rnd = prng(promptHash ^ Math.imul(seed >>> 0, 0x9e3779b1) ^ (seed / 4294967296) >>> 0);
  const pal = palette(ch, (promptHash & 0xff) / 255);
  const horizon = Math.round(h * (0.55 + rnd() * 0.1));
  drawSky(c, ch, pal, horizon, rnd);
  if (ch.mountains) drawMountains(c, ch, pal, horizon, rnd);
  drawGround(c, ch, pal, horizon, rnd);
  if (ch.ground === "city") drawCity(c, pal, horizon, rnd, ch.sky === "night");
  if (ch.pyramids) drawPyramids(c, pal, horizon, rnd);
  if (ch.eiffel) drawEiffel(c, pal, horizon, rnd);
  drawForeground(c, ch, pal, horizon, rnd);
  return c;
}

/** Renders a deterministic postcard-like PNG of the requested size for a prompt and seed. */
export function renderPostcard(req: PostcardRequest): Buffer {
  const { width, height } = req;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 16 || width * height > 4096 * 4096) {
    throw new RangeError(`unsupported picture size ${width}x${height}`);
  }
  const ch = chooseScene(req.prompt);
  const promptHash = hashString(req.prompt);
  if (!ch.framed) return encodePng(width, height, paintScene(width, height, ch, promptHash, req.seed).px);
  // Polaroid: the scene sits in an off-white frame, thicker at the bottom.
  const side = Math.round(Math.min(width, height) * 0.06);
  const bottom = Math.round(height * 0.2);
  const inner = paintScene(width - 2 * side, height - side - bottom, ch, promptHash, req.seed);
  fade(inner);
  const out = canvas(width, height);
  rect(out, 0, 0, width, height, [246, 244, 236]);
  for (let y = 0; y < inner.h; y++) {
    inner.px.copy(out.px, ((y + side) * width + side) * 4, y * inner.w * 4, (y + 1) * inner.w * 4);
  }
  return encodePng(width, height, out.px);
}
