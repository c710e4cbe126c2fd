/**
 * Offline "image model": paints a postcard-like scene from a prompt and a seed, deterministically.
 *
 * No weights and no network: keywords in the prompt (WORDS) choose the sky (day, sunset, night,
 * snow), the ground (meadow, hills, sea, beach, desert, snow, forest, city, savanna), where the
 * traveller stands (in the landscape, on a summit, at a cliff's edge) and landmarks (mountains,
 * pyramids, the Eiffel tower, buildings, trees, palms, acacias, elephants, lions, giraffes, a
 * safari jeep, a café terrace with coffee and a croissant, a sailboat, a lighthouse, hot-air
 * balloons; local/fakes/scenery.ts). A prompt that names nothing known gets a neutral postcard (a
 * meadow), never a scene picked by chance. The prompt's hash tints the palette and the seed moves
 * the details (positions, sizes, clouds, stars). "polaroid", "vintage", "retro" or "old" put the
 * scene in a white instant-photo frame with faded tones. The prompt is written on every picture,
 * so each one says which prompt made it. Same input, same bytes.
 */
import {
  canvas,
  ellipse,
  fillBelow,
  glow,
  gradient,
  line,
  mix,
  polygon,
  recolour,
  rect,
  shade,
  span,
  text,
  type Canvas,
  type Rgb,
} from "./canvas";
import { GLYPH_HEIGHT, GLYPH_WIDTH, toFontText } from "./font";
import { encodePng } from "./png";
import {
  drawAcacia,
  drawAwning,
  drawBalloon,
  drawCafeTable,
  drawCliff,
  drawCloudSea,
  drawElephant,
  drawFlag,
  drawGiraffe,
  drawJeep,
  drawLighthouse,
  drawLion,
  drawSailboat,
  drawSummit,
} from "./scenery";

export interface PostcardRequest {
  prompt: string;
  seed: number;
  width: number;
  height: number;
}

/** What the prompt asks for, decided from keywords only (the seed never changes these). */
export interface SceneChoice {
  sky: "day" | "sunset" | "night" | "snow";
  ground: "meadow" | "hills" | "sea" | "beach" | "desert" | "snow" | "forest" | "city" | "savanna";
  /** Where the traveller stands: in the landscape, on top of a peak, or at a cliff's edge. */
  vantage: "ground" | "summit" | "cliff";
  mountains: boolean;
  pyramids: boolean;
  eiffel: boolean;
  palms: boolean;
  acacias: boolean;
  animals: Animal[];
  jeep: boolean;
  /** A café terrace: awning above, a table with coffee in front. */
  cafe: boolean;
  croissant: boolean;
  sailboat: boolean;
  lighthouse: boolean;
  balloons: boolean;
  traveller: boolean;
  framed: boolean;
  /** False when no keyword named a place, landscape or landmark: then a neutral postcard. */
  known: boolean;
}

export type Animal = "elephant" | "lion" | "giraffe";

/** Keywords per choice: long words match as prefixes ("snow" → "snowy"), short ones only as whole words. */
const WORDS = {
  night: ["night", "moon", "star", "midnight", "dark"],
  sunset: ["sunset", "sunrise", "dusk", "dawn", "evening", "golden hour"],
  snowSky: ["snow", "winter", "ski", "arctic", "ice", "glacier"],
  beach: ["beach", "tropical", "island", "coast", "shore", "bahamas", "maldives", "hawaii", "bali"],
  desert: ["desert", "sahara", "dune", "pyramid", "egypt", "cairo", "camel"],
  savanna: [
    "savann",
    "safari",
    "serengeti",
    "masai",
    "maasai",
    "kenya",
    "tanzania",
    "africa",
    "acacia",
    "lion",
    "elephant",
    "giraffe",
    "kruger",
  ],
  sea: ["sea", "ocean", "lake", "harbou?r", "boat", "sail", "fjord", "yacht", "cruise", "ferry", "lighthouse"],
  snow: ["snow", "winter", "ski", "arctic", "glacier", "antarctic"],
  forest: ["forest", "wood", "jungle", "tree", "park", "camping", "rainforest"],
  city: [
    "city",
    "town",
    "skyline",
    "street",
    "new york",
    "tokyo",
    "london",
    "rome",
    "building",
    "café",
    "cafe",
    "coffee",
    "croissant",
    "espresso",
    "cappuccino",
    "latte",
    "bistro",
    "restaurant",
    "bar",
    "downtown",
  ],
  hills: ["hill", "countryside", "valley", "vineyard", "tuscany", "meadow", "field", "farm", "village"],
  mountains: [
    "mountain",
    "alps",
    "himalaya",
    "everest",
    "k2",
    "peak",
    "hik",
    "summit",
    "fjord",
    "volcano",
    "ski",
    "andes",
    "rockies",
    "kilimanjaro",
    "matterhorn",
    "mont blanc",
    "dolomites",
  ],
  summit: ["k2", "everest", "summit", "peak", "kilimanjaro", "matterhorn", "mont blanc", "denali", "aconcagua", "climb", "mountaineer"],
  top: ["top", "atop"],
  cliff: ["cliff", "precipice", "ledge"],
  pyramids: ["pyramid", "egypt", "giza", "cairo"],
  eiffel: ["paris", "eiffel", "parisian", "france"],
  palms: ["palm", "tropical", "oasis"],
  acacias: ["savann", "safari", "serengeti", "masai", "maasai", "acacia", "kenya", "tanzania", "kruger"],
  jeep: ["jeep", "safari", "land rover", "4x4", "game drive"],
  cafe: ["café", "cafe", "coffee", "croissant", "espresso", "cappuccino", "latte", "bistro", "patisserie", "terrace"],
  croissant: ["croissant", "pastry", "pastries", "patisserie", "bakery", "breakfast", "brunch"],
  sailboat: ["boat", "sail", "yacht", "cruise", "regatta"],
  lighthouse: ["lighthouse"],
  balloons: ["balloon", "cappadocia"],
  traveller: ["me", "i", "myself", "person", "traveller", "traveler", "selfie", "couple", "us"],
  framed: ["polaroid", "vintage", "retro", "old", "instant"],
} as const;

const has = (text: string, words: readonly string[]): boolean =>
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
  const sky: SceneChoice["sky"] = has(p, WORDS.night) ? "night" : has(p, WORDS.sunset) ? "sunset" : has(p, WORDS.snowSky) ? "snow" : "day";
  const mountains = has(p, WORDS.mountains);
  const vantage: SceneChoice["vantage"] =
    has(p, WORDS.summit) || (mountains && has(p, WORDS.top)) ? "summit" : has(p, WORDS.cliff) ? "cliff" : "ground";
  const named = (["beach", "desert", "savanna", "sea", "snow", "forest", "city", "hills"] as const).find((g) => has(p, WORDS[g]));
  // Without a named landscape: high snow below a summit, the sea below a cliff, hills under mountains.
  const ground: SceneChoice["ground"] =
    named ?? (vantage === "summit" ? "snow" : vantage === "cliff" ? "sea" : mountains ? "hills" : "meadow");
  const animals = (["elephant", "lion", "giraffe"] as const).filter((a) => has(p, [a]));
  const choice = {
    sky,
    ground,
    vantage,
    mountains: mountains || vantage === "summit",
    pyramids: has(p, WORDS.pyramids),
    eiffel: has(p, WORDS.eiffel),
    palms: ground === "beach" || has(p, WORDS.palms),
    acacias: ground === "savanna" || has(p, ["acacia"]),
    // A safari names no animal? Then an elephant.
    animals: ground === "savanna" && !animals.length ? ["elephant" as const] : animals,
    jeep: has(p, WORDS.jeep),
    cafe: has(p, WORDS.cafe),
    croissant: has(p, WORDS.croissant),
    sailboat: has(p, WORDS.sailboat),
    lighthouse: has(p, WORDS.lighthouse),
    balloons: has(p, WORDS.balloons),
    traveller: has(p, WORDS.traveller),
    framed: has(p, WORDS.framed),
  };
  const known =
    named !== undefined ||
    mountains ||
    vantage !== "ground" ||
    choice.pyramids ||
    choice.eiffel ||
    choice.palms ||
    choice.cafe ||
    choice.balloons;
  return { ...choice, known };
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
      return {
        skyTop: t([70, 40, 120], 0.12),
        skyBottom: [255, 150, 70],
        sun: [255, 220, 120],
        far: [150, 80, 110],
        near: [70, 40, 70],
        light: 0.55,
      };
    case "night":
      return {
        skyTop: [8, 10, 35],
        skyBottom: t([30, 45, 95], 0.1),
        sun: [235, 235, 210],
        far: [35, 45, 80],
        near: [18, 22, 45],
        light: 0.2,
      };
    case "snow":
      return {
        skyTop: t([150, 180, 215], 0.1),
        skyBottom: [225, 232, 240],
        sun: [255, 250, 230],
        far: [150, 165, 190],
        near: [95, 110, 140],
        light: 0.9,
      };
    default:
      return {
        skyTop: t([40, 110, 210], 0.15),
        skyBottom: [170, 215, 245],
        sun: [255, 244, 200],
        far: [110, 140, 175],
        near: [70, 95, 120],
        light: 1,
      };
  }
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
      // Rows above the snow line are snow, the rest down to the horizon's row rock: rock is painted
      // from the snow line's row, then snow up to it, so that row ends as the snow line says.
      const snowLine = snowy ? peakY + (horizon - peakY) * 0.3 : -Infinity;
      rect(c, x, Math.max(top, snowLine), x + 1, horizon + 1, shadowed ? rockShade : col);
      rect(c, x, top, x + 1, Math.min(snowLine, horizon + 1), shadowed ? snowShade : snowCol);
    }
  }
}

/** What every kind of ground is drawn with: `s` the picture's shorter side, `L` the light. */
interface GroundPainter {
  c: Canvas;
  ch: SceneChoice;
  pal: Palette;
  horizon: number;
  rnd: () => number;
  s: number;
  L: number;
}

/** Sea (and a beach's): glints brighter near the sun's reflection. */
function drawSea({ c, pal, horizon, rnd, s, L }: GroundPainter): void {
  const sun = (c as Canvas & { sun?: number[] }).sun ?? [c.w / 2, horizon, s * 0.06];
  gradient(c, horizon, c.h, shade(mix(pal.skyBottom, [20, 90, 150], 0.6), L), shade([10, 50, 100], L));
  for (let i = 0; i < (c.w * c.h) / 1500; i++) {
    const y = horizon + rnd() * (c.h - horizon);
    const depth = (y - horizon) / (c.h - horizon);
    const len = s * (0.01 + depth * 0.05);
    const x = rnd() * c.w;
    const nearSun = Math.abs(x - sun[0]) < sun[2] * (1 + depth * 2);
    span(c, Math.floor(y), x - len, x + len, nearSun ? pal.sun : [255, 255, 255], nearSun ? 0.8 : 0.25);
  }
}

function drawBeach(g: GroundPainter): void {
  const { c, horizon, rnd, s, L } = g;
  drawSea(g);
  const shore = horizon + (c.h - horizon) * (0.45 + rnd() * 0.15);
  const amp = s * 0.02;
  const ph = rnd() * 6;
  const pts = fillBelow(c, (x) => shore + Math.sin(x / (s * 0.08) + ph) * amp + (x / c.w) * s * 0.05, shade([235, 210, 160], L));
  for (let k = 0; k < pts.length - 4; k += 2) span(c, Math.floor(pts[k + 3]) - 1, pts[k + 2], pts[k + 4] + 1, [250, 250, 245], 0.9);
}

function drawDesert({ c, horizon, rnd, s, L }: GroundPainter): void {
  gradient(c, horizon, c.h, shade([225, 185, 120], L), shade([200, 140, 75], L));
  for (let d = 0; d < 3; d++) {
    const base = horizon + (c.h - horizon) * (0.25 + d * 0.25);
    const ph = rnd() * 6;
    fillBelow(
      c,
      (x) => base + Math.sin(x / (s * (0.12 + d * 0.05)) + ph) * s * 0.03,
      shade(mix([240, 200, 135], [190, 125, 60], d / 3), L),
    );
  }
}

function drawSnowField({ c, horizon, rnd, s, L }: GroundPainter): void {
  gradient(c, horizon, c.h, shade([235, 240, 250], L), shade([200, 215, 235], L));
  for (let d = 0; d < 2; d++) {
    const base = horizon + (c.h - horizon) * (0.35 + d * 0.3);
    const ph = rnd() * 6;
    for (let x = 0; x < c.w; x += 2) {
      const y = base + Math.sin(x / (s * 0.15) + ph) * s * 0.02;
      span(c, Math.floor(y), x, x + 2, shade([170, 190, 220], L), 0.7);
    }
  }
}

function drawSavanna({ c, horizon, rnd, s, L }: GroundPainter): void {
  gradient(c, horizon, c.h, shade([220, 185, 105], L), shade([185, 140, 70], L));
  for (let i = 0; i < (c.w * c.h) / 700; i++) {
    const y = horizon + rnd() * (c.h - horizon);
    const len = s * (0.004 + ((y - horizon) / (c.h - horizon)) * 0.02);
    const x = rnd() * c.w;
    rect(c, x, y - len, x + Math.max(1, s * 0.003), y, shade(rnd() < 0.5 ? [150, 115, 50] : [235, 205, 130], L), 0.7);
  }
}

function drawPavement({ c, horizon, L }: GroundPainter): void {
  gradient(c, horizon, c.h, shade([150, 146, 140], L), shade([105, 100, 96], L));
}

/** Green land: a meadow rolls gently; hills and forest have two rows of hills. */
function drawGreenLand({ c, ch, pal, horizon, rnd, s, L }: GroundPainter): void {
  const green: Rgb = [95, 160, 80];
  gradient(c, horizon, c.h, shade(mix(green, pal.far, 0.3), L), shade(mix(green, [30, 80, 30], 0.5), L));
  const rows = ch.ground === "meadow" ? 1 : 2;
  for (let d = 0; d < rows; d++) {
    const base = horizon + (c.h - horizon) * (0.2 + d * 0.35);
    const ph = rnd() * 6;
    const height = ch.ground === "meadow" ? 0.03 : 0.06;
    fillBelow(
      c,
      (x) => base - Math.abs(Math.sin(x / (s * 0.25) + ph)) * s * height,
      shade(mix([110, 175, 85], [40, 100, 40], d / 2 + 0.2), L),
    );
  }
}

const GROUNDS: Record<SceneChoice["ground"], (g: GroundPainter) => void> = {
  sea: drawSea,
  beach: drawBeach,
  desert: drawDesert,
  snow: drawSnowField,
  savanna: drawSavanna,
  city: drawPavement,
  meadow: drawGreenLand,
  hills: drawGreenLand,
  forest: drawGreenLand,
};

function drawGround(c: Canvas, ch: SceneChoice, pal: Palette, horizon: number, rnd: () => number): void {
  GROUNDS[ch.ground]({ c, ch, pal, horizon, rnd, s: Math.min(c.w, c.h), L: pal.light });
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
  polygon(
    c,
    [
      x - size * 0.14,
      baseY - size * 0.45,
      x - size * 0.1,
      baseY - size * 0.76,
      x + size * 0.1,
      baseY - size * 0.76,
      x + size * 0.14,
      baseY - size * 0.45,
    ],
    col,
  );
  rect(c, x - size * 0.1, baseY - size * 0.46, x - size * 0.02, baseY, col);
  rect(c, x + size * 0.02, baseY - size * 0.46, x + size * 0.1, baseY, col);
}

/** Trees and palms in front of the landscape. */
function drawTrees(c: Canvas, ch: SceneChoice, pal: Palette, horizon: number, floor: number, rnd: () => number): void {
  const s = Math.min(c.w, c.h);
  const L = pal.light;
  const treeCount =
    ch.ground === "forest" ? 14 + Math.floor(rnd() * 8) : ch.ground === "hills" || ch.ground === "snow" ? 3 + Math.floor(rnd() * 4) : 0;
  const trees: Array<[number, number, number]> = [];
  for (let i = 0; i < treeCount; i++) {
    const depth = rnd();
    trees.push([rnd() * c.w, horizon + (floor - horizon) * (0.05 + depth * 0.9), s * (0.08 + depth * 0.2)]);
  }
  trees.sort((a, b) => a[1] - b[1]);
  const leaf = shade(ch.ground === "snow" ? [60, 100, 80] : [30, 95, 45], L);
  for (const [x, y, size] of trees) drawConifer(c, x, y, size, mix(leaf, [0, 0, 0], (y - horizon) / c.h / 2), shade([90, 60, 35], L));
  if (ch.palms) {
    const palms = 1 + Math.floor(rnd() * 3);
    for (let i = 0; i < palms; i++) {
      const left = i % 2 === 0;
      const x = left ? c.w * (0.05 + rnd() * 0.2) : c.w * (0.75 + rnd() * 0.2);
      drawPalm(
        c,
        x,
        floor - s * rnd() * 0.06,
        s * (0.35 + rnd() * 0.2),
        left ? 0.6 : -0.6,
        shade([40, 120, 50], L),
        shade([120, 85, 50], L),
      );
    }
  }
}

/** The savanna: acacias behind, the animals the prompt names in the middle, the jeep in front on the right. */
function drawSafari(c: Canvas, ch: SceneChoice, pal: Palette, horizon: number, floor: number, rnd: () => number): void {
  const s = Math.min(c.w, c.h);
  const L = pal.light;
  if (ch.acacias) {
    const count = 2 + Math.floor(rnd() * 2);
    for (let i = 0; i < count; i++) {
      const depth = rnd() * 0.35;
      drawAcacia(c, c.w * ((i + 0.2 + rnd() * 0.6) / count), horizon + (floor - horizon) * depth, s * (0.25 + depth * 0.5), L);
    }
  }
  const slots = [0.2, 0.48, 0.76];
  ch.animals.forEach((animal, i) => {
    const x = c.w * slots[i % slots.length];
    const baseY = horizon + (floor - horizon) * (0.25 + rnd() * 0.12);
    const dir = rnd() < 0.5 ? -1 : 1;
    if (animal === "elephant") drawElephant(c, x, baseY, s * 0.24, dir, L);
    else if (animal === "lion") drawLion(c, x, baseY, s * 0.2, dir, L);
    else drawGiraffe(c, x, baseY, s * 0.24, dir, L);
  });
  if (ch.jeep) drawJeep(c, c.w * 0.7, floor, s * 0.42, -1, L);
}

function drawTravellerOnGround(c: Canvas, ch: SceneChoice, floor: number, rnd: () => number): void {
  const s = Math.min(c.w, c.h);
  // Left of the café table or the jeep, which stand on the right.
  const left = ch.cafe || ch.jeep || rnd() < 0.5;
  const x = c.w * (left ? 0.25 + rnd() * 0.1 : 0.6 + rnd() * 0.1);
  drawTraveller(c, x, floor, s * 0.3, travellerColour(ch));
}

const travellerColour = (ch: SceneChoice): Rgb => (ch.sky === "night" ? [5, 5, 15] : [40, 35, 45]);

/** Instant-photo look: lifted blacks, softer contrast, warm cast. */
function fade(c: Canvas): void {
  recolour(c, 0, c.w * c.h, (p, i) => {
    const lum = 0.3 * p[i] + 0.59 * p[i + 1] + 0.11 * p[i + 2];
    p[i] = 30 + 0.7 * (0.7 * p[i] + 0.3 * lum) + 12;
    p[i + 1] = 30 + 0.7 * (0.7 * p[i + 1] + 0.3 * lum) + 4;
    p[i + 2] = 30 + 0.7 * (0.7 * p[i + 2] + 0.3 * lum) - 10;
  });
}

/**
 * Paints the scene; `reserved` pixels at the bottom are left for the caption band, so the
 * foreground stands above it.
 */
function paintScene(w: number, h: number, ch: SceneChoice, promptHash: number, seed: number, reserved: number): Canvas {
  const c = canvas(w, h);
  const s = Math.min(w, h);
  const rnd = prng(promptHash ^ Math.imul(seed >>> 0, 0x9e3779b1) ^ ((seed / 4294967296) >>> 0));
  const pal = palette(ch, (promptHash & 0xff) / 255);
  const L = pal.light;
  const horizon = Math.round(h * (0.55 + rnd() * 0.1));
  const floor = h - Math.max(s * 0.03, reserved + s * 0.02);
  drawSky(c, ch, pal, horizon, rnd);
  if (ch.balloons) {
    const colours: Array<[Rgb, Rgb]> = [
      [
        [220, 60, 50],
        [250, 200, 60],
      ],
      [
        [60, 120, 200],
        [240, 240, 230],
      ],
      [
        [120, 60, 160],
        [240, 150, 60],
      ],
    ];
    for (let i = 0; i < 3; i++)
      drawBalloon(c, w * (0.15 + i * 0.33 + rnd() * 0.1), horizon * (0.2 + rnd() * 0.4), s * (0.16 - i * 0.04), colours[i], L);
  }
  if (ch.mountains) drawMountains(c, ch, pal, horizon, rnd);
  drawGround(c, ch, pal, horizon, rnd);
  if (ch.ground === "city") drawCity(c, pal, horizon, rnd, ch.sky === "night");
  if (ch.pyramids) drawPyramids(c, pal, horizon, rnd);
  if (ch.eiffel) drawEiffel(c, pal, horizon, rnd);
  if (ch.lighthouse) drawLighthouse(c, w * (0.78 + rnd() * 0.1), horizon + s * 0.03, s * 0.32, L, ch.sky === "night");
  if (ch.sailboat) drawSailboat(c, w * (0.2 + rnd() * 0.4), horizon + (h - horizon) * (0.15 + rnd() * 0.15), s * 0.18, L);
  if (ch.vantage === "summit") {
    drawCloudSea(c, horizon + s * 0.02, L, rnd);
    const apex = drawSummit(c, L, rnd);
    const size = s * 0.14;
    drawFlag(c, apex.x + size * 0.3, apex.y + size * 0.05, size * 0.9, L);
    if (ch.traveller) drawTraveller(c, apex.x, apex.y + size * 0.03, size, travellerColour(ch));
    return c;
  }
  drawSafari(c, ch, pal, horizon, floor, rnd);
  drawTrees(c, ch, pal, horizon, floor, rnd);
  if (ch.vantage === "cliff") {
    const edge = drawCliff(c, horizon + s * 0.06, L, ch.ground === "desert" || ch.ground === "snow", rnd);
    if (ch.traveller) drawTraveller(c, edge.x - s * 0.06, edge.y, s * 0.2, travellerColour(ch));
    return c;
  }
  if (ch.cafe) {
    drawAwning(c, L);
    drawCafeTable(c, w * 0.7, floor - s * 0.22, s * 0.5, ch.croissant, L);
  }
  if (ch.traveller) drawTravellerOnGround(c, ch, floor, rnd);
  return c;
}

/** Greedy word wrap into at most `maxLines` lines of `maxChars`; what does not fit ends in "...". */
export function captionLines(text: string, maxChars: number, maxLines = 2): string[] {
  const lines: string[] = [];
  let current = "";
  for (const word of text.split(" ").filter(Boolean)) {
    let rest = word;
    while (rest) {
      const room = current ? maxChars - current.length - 1 : maxChars;
      if (rest.length <= room) {
        current = current ? `${current} ${rest}` : rest;
        rest = "";
      } else if (current) {
        lines.push(current);
        current = "";
      } else {
        lines.push(rest.slice(0, maxChars)); // a word longer than a line is cut
        rest = rest.slice(maxChars);
      }
    }
  }
  if (current) lines.push(current);
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  kept[maxLines - 1] = `${kept[maxLines - 1].slice(0, maxChars - 3)}...`;
  return kept;
}

/** How the prompt is written on a picture `width` wide: lines, font unit, and the band it needs. */
export function captionLayout(prompt: string, width: number, height: number) {
  const unit = Math.max(1, Math.round(Math.min(width, height) / 256));
  const pad = 4 * unit;
  const maxChars = Math.max(4, Math.floor((width - 2 * pad) / ((GLYPH_WIDTH + 1) * unit)));
  const lines = captionLines(toFontText(prompt), maxChars);
  const lineHeight = (GLYPH_HEIGHT + 2) * unit;
  return { lines, unit, pad, lineHeight, height: lines.length ? lines.length * lineHeight + 2 * pad - 2 * unit : 0 };
}

function writeCaption(c: Canvas, layout: ReturnType<typeof captionLayout>, x: number, y: number, ink: Rgb): void {
  layout.lines.forEach((value, i) => text(c, value, x, y + i * layout.lineHeight, layout.unit, ink));
}

/**
 * Renders a deterministic postcard-like PNG of the requested size for a prompt and seed, with the
 * prompt written on it: in a dark band at the bottom, or in ink on a polaroid's frame.
 */
export function renderPostcard(req: PostcardRequest): Buffer {
  const { width, height } = req;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 16 || width * height > 4096 * 4096) {
    throw new RangeError(`unsupported picture size ${width}x${height}`);
  }
  const ch = chooseScene(req.prompt);
  const promptHash = hashString(req.prompt);
  if (!ch.framed) {
    const caption = captionLayout(req.prompt, width, height);
    const c = paintScene(width, height, ch, promptHash, req.seed, caption.height);
    rect(c, 0, height - caption.height, width, height, [15, 18, 30], 0.55);
    writeCaption(c, caption, caption.pad, height - caption.height + caption.pad, CAPTION_INK.band);
    return encodePng(width, height, c.px);
  }
  // Polaroid: the scene sits in an off-white frame, thicker at the bottom, the prompt written on it.
  const side = Math.round(Math.min(width, height) * 0.06);
  const bottom = Math.round(height * 0.2);
  const inner = paintScene(width - 2 * side, height - side - bottom, ch, promptHash, req.seed, 0);
  fade(inner);
  const out = canvas(width, height);
  rect(out, 0, 0, width, height, [246, 244, 236]);
  for (let y = 0; y < inner.h; y++) {
    inner.px.copy(out.px, ((y + side) * width + side) * 4, y * inner.w * 4, (y + 1) * inner.w * 4);
  }
  const caption = captionLayout(req.prompt, inner.w, height);
  writeCaption(out, caption, side, side + inner.h + caption.pad, CAPTION_INK.frame);
  return encodePng(width, height, out.px);
}

/** Caption colours: white on the dark band, blue-black ink on a polaroid's frame. */
export const CAPTION_INK: Record<"band" | "frame", Rgb> = { band: [250, 250, 250], frame: [45, 50, 85] };
