/**
 * Scene elements of the offline renderer beyond its first set (local/fakes/renderer.ts): a summit the
 * traveller stands on, a cliff edge, a sea of clouds, the savanna's acacias, animals and safari
 * jeep, a café terrace with coffee and a croissant, a sailboat, a lighthouse and hot-air balloons.
 * Sizes are fractions of the picture's shorter side; `light` (0 night … 1 day) darkens colours.
 */
import { ellipse, line, mix, polygon, rect, shade, type Canvas, type Rgb } from "./canvas";

type Rnd = () => number;

/** A jagged ridge from (x0, y0) to (x1, y1): the points in between, each moved sideways at random. */
function ridge(x0: number, y0: number, x1: number, y1: number, steps: number, jitter: number, rnd: Rnd): number[] {
  const pts: number[] = [];
  for (let i = 1; i < steps; i++) {
    const t = i / steps;
    pts.push(x0 + (x1 - x0) * t + (rnd() - 0.5) * jitter, y0 + (y1 - y0) * t + (rnd() - 0.5) * jitter * 0.5);
  }
  return pts;
}

/** The points of a flat [x0, y0, x1, y1, …] list in reverse order. */
function reversed(pts: number[]): number[] {
  const out: number[] = [];
  for (let i = pts.length - 2; i >= 0; i -= 2) out.push(pts[i], pts[i + 1]);
  return out;
}

/** A band of white cloud tops along `y`: the valley far below a summit. */
export function drawCloudSea(c: Canvas, y: number, light: number, rnd: Rnd): void {
  const s = Math.min(c.w, c.h);
  const col = shade([250, 250, 252], Math.max(light, 0.5));
  rect(c, 0, y, c.w, c.h, col);
  for (let x = -s * 0.05; x < c.w + s * 0.1; x += s * (0.06 + rnd() * 0.05)) {
    const r = s * (0.04 + rnd() * 0.05);
    ellipse(c, x, y + r * 0.2, r * 1.6, r, col);
    ellipse(c, x, y + r * 0.55, r * 1.5, r * 0.45, mix(col, [170, 180, 205], 0.25), 0.6);
  }
}

/**
 * The peak the traveller stands on, filling the lower picture: rock with a snow cap, lit from the
 * left. Returns where its apex is (the traveller's feet go there).
 */
export function drawSummit(c: Canvas, light: number, rnd: Rnd): { x: number; y: number } {
  const s = Math.min(c.w, c.h);
  const apex = { x: c.w * (0.42 + rnd() * 0.16), y: c.h * (0.4 + rnd() * 0.06) };
  const left = [-c.w * 0.15, c.h * 1.02];
  const right = [c.w * 1.15, c.h * 1.02];
  const leftRidge = ridge(apex.x, apex.y, left[0], left[1], 6, s * 0.06, rnd);
  const rightRidge = ridge(apex.x, apex.y, right[0], right[1], 6, s * 0.06, rnd);
  const rock = shade([120, 110, 105], light);
  polygon(c, [apex.x, apex.y, ...leftRidge, left[0], left[1], right[0], right[1], ...reversed(rightRidge)], rock);
  // The shadowed face: from the apex down to a point right of the middle of the base.
  const foot = apex.x + s * (0.15 + rnd() * 0.1);
  polygon(c, [apex.x, apex.y, foot, c.h * 1.02, right[0], right[1], ...reversed(rightRidge)], mix(rock, [20, 20, 40], 0.35));
  // Snow down to about a third of the way on both ridges, with a ragged lower edge.
  const snowLeft = [leftRidge[2], leftRidge[3]];
  const snowRight = [rightRidge[2], rightRidge[3]];
  const edge = ridge(snowRight[0], snowRight[1], snowLeft[0], snowLeft[1], 7, s * 0.05, rnd);
  const snow = shade([245, 248, 255], light);
  polygon(
    c,
    [
      apex.x,
      apex.y,
      leftRidge[0],
      leftRidge[1],
      snowLeft[0],
      snowLeft[1],
      ...reversed(edge),
      snowRight[0],
      snowRight[1],
      rightRidge[0],
      rightRidge[1],
    ],
    snow,
  );
  polygon(c, [apex.x, apex.y, snowRight[0], snowRight[1], rightRidge[0], rightRidge[1]], mix(snow, [120, 140, 190], 0.3));
  return apex;
}

/** A small flag planted beside the traveller on a summit. */
export function drawFlag(c: Canvas, x: number, y: number, size: number, light: number): void {
  line(c, x, y, x, y - size, Math.max(1, size * 0.04), shade([60, 50, 40], light));
  polygon(c, [x, y - size, x + size * 0.45, y - size * 0.85, x, y - size * 0.7], shade([215, 45, 45], light));
}

/**
 * A cliff rising from the left to an edge near the middle, its top at `topY`, green on top unless
 * `bare`. Returns where its edge is.
 */
export function drawCliff(c: Canvas, topY: number, light: number, bare: boolean, rnd: Rnd): { x: number; y: number } {
  const s = Math.min(c.w, c.h);
  const edgeX = c.w * (0.48 + rnd() * 0.08);
  const face = [
    edgeX + s * 0.02,
    topY + s * 0.08,
    edgeX - s * 0.03,
    topY + s * 0.22,
    edgeX + s * 0.03,
    topY + s * 0.36,
    edgeX - s * 0.01,
    c.h,
  ];
  const rock = shade([140, 120, 100], light);
  polygon(c, [0, c.h, 0, topY - s * 0.015, edgeX * 0.5, topY - s * 0.01, edgeX, topY, ...face], rock);
  polygon(c, [edgeX, topY, ...face, edgeX - s * 0.06, c.h, edgeX - s * 0.05, topY + s * 0.1], mix(rock, [30, 25, 40], 0.3));
  if (!bare)
    polygon(
      c,
      [
        0,
        topY - s * 0.025,
        edgeX * 0.5,
        topY - s * 0.02,
        edgeX + s * 0.005,
        topY - s * 0.006,
        edgeX,
        topY + s * 0.012,
        0,
        topY + s * 0.015,
      ],
      shade([85, 150, 70], light),
    );
  return { x: edgeX, y: topY };
}

/** An acacia: a thin forked trunk under a wide, flat crown. */
export function drawAcacia(c: Canvas, x: number, baseY: number, size: number, light: number): void {
  const trunk = shade([85, 65, 45], light);
  const crown = shade([80, 110, 50], light);
  const top = baseY - size * 0.75;
  line(c, x, baseY, x + size * 0.03, top + size * 0.2, size * 0.05, trunk);
  line(c, x + size * 0.03, top + size * 0.25, x - size * 0.25, top + size * 0.05, size * 0.03, trunk);
  line(c, x + size * 0.03, top + size * 0.25, x + size * 0.3, top + size * 0.03, size * 0.03, trunk);
  ellipse(c, x, top, size * 0.6, size * 0.1, crown);
  ellipse(c, x - size * 0.25, top - size * 0.06, size * 0.3, size * 0.07, mix(crown, [150, 170, 80], 0.25));
  ellipse(c, x + size * 0.22, top - size * 0.05, size * 0.32, size * 0.07, mix(crown, [150, 170, 80], 0.15));
}

/** An elephant in side view, facing left (dir −1) or right (dir 1), standing on `baseY`. */
export function drawElephant(c: Canvas, x: number, baseY: number, size: number, dir: number, light: number): void {
  const skin = shade([125, 120, 118], light);
  const dark = mix(skin, [30, 30, 40], 0.25);
  for (const lx of [-0.32, -0.15, 0.12, 0.3])
    rect(
      c,
      x + lx * size * dir - size * 0.07,
      baseY - size * 0.45,
      x + lx * size * dir + size * 0.07,
      baseY,
      lx * dir < 0 === dir > 0 ? dark : skin,
    );
  ellipse(c, x, baseY - size * 0.55, size * 0.48, size * 0.3, skin);
  line(c, x - dir * size * 0.46, baseY - size * 0.6, x - dir * size * 0.55, baseY - size * 0.3, size * 0.025, dark); // tail
  const hx = x + dir * size * 0.5;
  const hy = baseY - size * 0.68;
  ellipse(c, hx, hy, size * 0.2, size * 0.2, skin);
  ellipse(c, hx - dir * size * 0.1, hy + size * 0.02, size * 0.13, size * 0.2, dark); // ear
  line(c, hx + dir * size * 0.14, hy + size * 0.05, hx + dir * size * 0.22, hy + size * 0.35, size * 0.08, skin); // trunk
  line(c, hx + dir * size * 0.22, hy + size * 0.35, hx + dir * size * 0.3, hy + size * 0.5, size * 0.06, skin);
  line(c, hx + dir * size * 0.1, hy + size * 0.14, hx + dir * size * 0.24, hy + size * 0.2, size * 0.025, shade([245, 240, 225], light)); // tusk
}

/** A lion in side view: tawny body, dark mane, tail with a tuft. */
export function drawLion(c: Canvas, x: number, baseY: number, size: number, dir: number, light: number): void {
  const fur = shade([200, 150, 75], light);
  const mane = shade([120, 70, 30], light);
  for (const lx of [-0.3, -0.18, 0.2, 0.32])
    rect(c, x + lx * size * dir - size * 0.045, baseY - size * 0.3, x + lx * size * dir + size * 0.045, baseY, fur);
  ellipse(c, x, baseY - size * 0.36, size * 0.42, size * 0.15, fur);
  line(c, x - dir * size * 0.4, baseY - size * 0.4, x - dir * size * 0.6, baseY - size * 0.25, size * 0.025, fur);
  ellipse(c, x - dir * size * 0.61, baseY - size * 0.24, size * 0.04, size * 0.04, mane);
  const hx = x + dir * size * 0.44;
  const hy = baseY - size * 0.5;
  ellipse(c, hx, hy, size * 0.19, size * 0.2, mane);
  ellipse(c, hx + dir * size * 0.06, hy + size * 0.02, size * 0.11, size * 0.12, fur);
}

/** A giraffe: long legs and neck, a few darker patches. */
export function drawGiraffe(c: Canvas, x: number, baseY: number, size: number, dir: number, light: number): void {
  const coat = shade([220, 175, 95], light);
  const patch = shade([150, 95, 45], light);
  for (const lx of [-0.2, -0.12, 0.12, 0.2])
    line(c, x + lx * size * dir, baseY - size * 0.7, x + lx * size * dir, baseY, size * 0.06, coat);
  ellipse(c, x, baseY - size * 0.75, size * 0.28, size * 0.14, coat);
  line(c, x + dir * size * 0.2, baseY - size * 0.8, x + dir * size * 0.38, baseY - size * 1.5, size * 0.1, coat);
  ellipse(c, x + dir * size * 0.44, baseY - size * 1.5, size * 0.1, size * 0.06, coat);
  for (const [px, py] of [
    [-0.12, 0.75],
    [0.05, 0.72],
    [0.14, 0.79],
    [0.28, 1.05],
    [0.33, 1.3],
  ]) {
    ellipse(c, x + px * size * dir, baseY - py * size, size * 0.035, size * 0.03, patch);
  }
}

/** An open safari jeep, `size` long, facing `dir`. */
export function drawJeep(c: Canvas, x: number, baseY: number, size: number, dir: number, light: number): void {
  const body = shade([150, 140, 95], light);
  const dark = shade([40, 40, 40], light);
  const front = x + dir * size * 0.5;
  const back = x - dir * size * 0.5;
  const lo = Math.min(front, back);
  const hi = Math.max(front, back);
  rect(c, lo, baseY - size * 0.3, hi, baseY - size * 0.1, body);
  const hood = dir > 0 ? [x + size * 0.15, hi] : [lo, x - size * 0.15];
  rect(c, hood[0], baseY - size * 0.36, hood[1], baseY - size * 0.28, body);
  line(c, x + dir * size * 0.15, baseY - size * 0.36, x + dir * size * 0.1, baseY - size * 0.55, size * 0.025, dark); // windscreen
  line(c, x - dir * size * 0.3, baseY - size * 0.3, x - dir * size * 0.3, baseY - size * 0.58, size * 0.025, dark); // roll bar
  line(c, x - dir * size * 0.3, baseY - size * 0.58, x + dir * size * 0.1, baseY - size * 0.55, size * 0.025, dark);
  ellipse(c, back - dir * size * 0.03, baseY - size * 0.22, size * 0.06, size * 0.1, dark); // spare wheel
  for (const wx of [x - dir * size * 0.3, x + dir * size * 0.3]) {
    ellipse(c, wx, baseY - size * 0.1, size * 0.11, size * 0.11, dark);
    ellipse(c, wx, baseY - size * 0.1, size * 0.045, size * 0.045, shade([170, 170, 160], light));
  }
}

/** A café's striped awning across the top of the picture, scalloped at its lower edge. */
export function drawAwning(c: Canvas, light: number): void {
  const s = Math.min(c.w, c.h);
  const depth = s * 0.1;
  const stripe = s * 0.06;
  const colours: Rgb[] = [shade([190, 40, 45], light), shade([245, 238, 222], light)];
  for (let i = 0; i * stripe < c.w; i++) {
    const x = i * stripe;
    rect(c, x, 0, x + stripe, depth, colours[i % 2]);
    ellipse(c, x + stripe / 2, depth, stripe / 2, stripe * 0.35, colours[i % 2]);
  }
  rect(c, 0, depth * 0.92, c.w, depth * 0.98, shade([120, 30, 35], light), 0.5);
}

/** A round bistro table with a cup of coffee on its saucer, and a croissant on a plate when asked. */
export function drawCafeTable(c: Canvas, x: number, topY: number, size: number, croissant: boolean, light: number): void {
  const metal = shade([45, 45, 50], light);
  const marble = shade([236, 232, 224], light);
  const china = shade([250, 250, 248], light);
  rect(c, x - size * 0.025, topY, x + size * 0.025, c.h, metal);
  ellipse(c, x, topY + size * 0.03, size * 0.5, size * 0.1, mix(marble, [90, 85, 80], 0.4));
  ellipse(c, x, topY, size * 0.5, size * 0.1, marble);
  // The cup: saucer, body, coffee, handle, steam.
  const cx = x - size * 0.18;
  ellipse(c, cx, topY, size * 0.14, size * 0.035, mix(china, [150, 150, 150], 0.2));
  rect(c, cx - size * 0.075, topY - size * 0.13, cx + size * 0.075, topY - size * 0.01, china);
  ellipse(c, cx, topY - size * 0.01, size * 0.075, size * 0.03, china);
  ellipse(c, cx, topY - size * 0.13, size * 0.075, size * 0.025, shade([95, 55, 30], light));
  line(c, cx + size * 0.075, topY - size * 0.1, cx + size * 0.12, topY - size * 0.08, size * 0.02, china);
  line(c, cx + size * 0.12, topY - size * 0.08, cx + size * 0.075, topY - size * 0.04, size * 0.02, china);
  for (const k of [-1, 1]) {
    for (let i = 0; i < 6; i++) {
      const y0 = topY - size * (0.16 + i * 0.03);
      const wobble = Math.sin(i * 1.3 + k) * size * 0.015;
      line(
        c,
        cx + k * size * 0.025 + wobble,
        y0,
        cx + k * size * 0.025 - wobble,
        y0 - size * 0.03,
        Math.max(1, size * 0.01),
        shade([255, 255, 255], light),
      );
    }
  }
  if (!croissant) return;
  // The croissant: a crescent of five overlapping, darkening segments on a plate.
  const px = x + size * 0.2;
  ellipse(c, px, topY, size * 0.17, size * 0.04, china);
  for (let i = 0; i < 5; i++) {
    const a = Math.PI * (0.15 + (i / 4) * 0.7);
    const middle = 1 - Math.abs(i - 2) / 2;
    ellipse(
      c,
      px - Math.cos(a) * size * 0.1,
      topY - size * 0.02 - Math.sin(a) * size * 0.04,
      size * (0.035 + middle * 0.025),
      size * (0.025 + middle * 0.02),
      shade(mix([225, 165, 80], [175, 105, 45], (i % 2) * 0.6), light),
    );
  }
}

/** A sailboat on the water: hull, mast and two sails. */
export function drawSailboat(c: Canvas, x: number, waterY: number, size: number, light: number): void {
  polygon(
    c,
    [x - size * 0.5, waterY - size * 0.12, x + size * 0.5, waterY - size * 0.12, x + size * 0.35, waterY, x - size * 0.38, waterY],
    shade([150, 40, 35], light),
  );
  line(c, x, waterY - size * 0.12, x, waterY - size * 1.1, Math.max(1, size * 0.03), shade([70, 55, 40], light));
  polygon(
    c,
    [x + size * 0.03, waterY - size * 1.05, x + size * 0.03, waterY - size * 0.2, x + size * 0.45, waterY - size * 0.2],
    shade([250, 248, 240], light),
  );
  polygon(
    c,
    [x - size * 0.03, waterY - size * 0.9, x - size * 0.03, waterY - size * 0.22, x - size * 0.35, waterY - size * 0.22],
    shade([235, 232, 222], light),
  );
}

/** A lighthouse on a rock: striped tower, lantern, red roof; its beam shows at night. */
export function drawLighthouse(c: Canvas, x: number, baseY: number, size: number, light: number, night: boolean): void {
  ellipse(c, x, baseY, size * 0.4, size * 0.12, shade([95, 90, 85], light));
  const top = baseY - size;
  const half = (y: number) => size * (0.1 + 0.05 * ((y - top) / size));
  const bands = 6;
  for (let b = 0; b < bands; b++) {
    const y0 = top + (b / bands) * size;
    const y1 = top + ((b + 1) / bands) * size;
    polygon(
      c,
      [x - half(y0), y0, x + half(y0), y0, x + half(y1), y1, x - half(y1), y1],
      shade(b % 2 ? [240, 240, 235] : [200, 40, 40], light),
    );
  }
  const glass: Rgb = night ? [255, 225, 120] : shade([60, 70, 80], light);
  rect(c, x - size * 0.08, top - size * 0.12, x + size * 0.08, top, glass);
  polygon(c, [x - size * 0.12, top - size * 0.12, x + size * 0.12, top - size * 0.12, x, top - size * 0.24], shade([170, 35, 35], light));
  if (night) polygon(c, [x, top - size * 0.06, x - size * 2.5, top - size * 0.3, x - size * 2.5, top + size * 0.15], [255, 230, 140], 0.25);
}

/** A hot-air balloon: a striped envelope narrowing to ropes and a basket. */
export function drawBalloon(c: Canvas, x: number, y: number, size: number, colours: [Rgb, Rgb], light: number): void {
  const [a, b] = colours.map((col) => shade(col, light));
  const r = size * 0.5;
  polygon(c, [x - r * 0.93, y + r * 0.35, x + r * 0.93, y + r * 0.35, x + r * 0.3, y + r * 1.35, x - r * 0.3, y + r * 1.35], a);
  ellipse(c, x, y, r, r * 1.1, a);
  ellipse(c, x, y, r * 0.62, r * 1.1, b);
  ellipse(c, x, y, r * 0.25, r * 1.1, a);
  polygon(c, [x - r * 0.55, y + r * 0.6, x + r * 0.55, y + r * 0.6, x + r * 0.18, y + r * 1.35, x - r * 0.18, y + r * 1.35], b);
  const rope = shade([90, 70, 50], light);
  line(c, x - r * 0.28, y + r * 1.35, x - r * 0.15, y + r * 1.65, Math.max(1, size * 0.012), rope);
  line(c, x + r * 0.28, y + r * 1.35, x + r * 0.15, y + r * 1.65, Math.max(1, size * 0.012), rope);
  rect(c, x - r * 0.17, y + r * 1.65, x + r * 0.17, y + r * 1.85, shade([140, 95, 55], light));
}
