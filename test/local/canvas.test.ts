import { strict as assert } from "node:assert";
import { canvas, rect, span, type Canvas, type Rgb } from "../../local/fakes/canvas";

/** Runs of one, two and three pixels, in three colours that keep coming back. */
function striped(w: number, h: number): Canvas {
  const colours = [
    [200, 40, 10],
    [15, 140, 230],
    [90, 90, 91],
  ];
  const c = canvas(w, h);
  for (let j = 0, run = 0; j < w * h; run++) for (let n = 0; n <= run % 3 && j < w * h; n++, j++) c.px.set(colours[run % 3], j * 4);
  return c;
}

/** A copy of `c`'s pixels with each channel of those `inside` replaced by `pixel` of it, stored as a byte. */
function expected(c: Canvas, inside: (x: number, y: number) => boolean, pixel: (old: number, channel: number) => number): Buffer {
  const out = Buffer.from(c.px);
  for (let y = 0; y < c.h; y++)
    for (let x = 0; x < c.w; x++)
      if (inside(x, y)) for (let ch = 0; ch < 3; ch++) out[(y * c.w + x) * 4 + ch] = pixel(out[(y * c.w + x) * 4 + ch], ch);
  return out;
}

describe("local/canvas", () => {
  it("paints an opaque colour as byte stores would (fractions dropped), short spans and long, alpha kept", () => {
    const col: Rgb = [12.7, 255.9, 0.2];
    for (const [x0, x1] of [
      [2.5, 5.2],
      [-3, 33.4],
    ]) {
      const c = striped(40, 3);
      const want = expected(
        c,
        (x, y) => y === 1 && x >= Math.floor(x0) && x < Math.ceil(x1),
        (_, ch) => col[ch],
      );
      span(c, 1, x0, x1, col);
      assert.deepEqual(c.px, want, `span ${x0}..${x1}`);
    }
  });

  it("blends a translucent colour over every pixel by itself, runs of equal pixels included", () => {
    const c = striped(40, 4);
    const col: Rgb = [250, 20, 90];
    const alpha = 0.55;
    const want = expected(
      c,
      (x, y) => y >= 1 && y < 3 && x >= 3 && x < 37,
      (old, ch) => old * (1 - alpha) + col[ch] * alpha,
    );
    rect(c, 3.5, 1, 36.2, 2.4, col, alpha);
    assert.deepEqual(c.px, want);
  });
});
