import { strict as assert } from "node:assert";
import { decodePng, readPngHeader } from "../../local/png";
import { chooseScene, renderPostcard } from "../../local/renderer";

const SIZE = 256;

function picture(prompt: string, seed = 7, width = SIZE, height = SIZE) {
  return decodePng(renderPostcard({ prompt, seed, width, height }));
}

/** Mean [r, g, b] over a band of rows given as fractions of the height. */
function meanColour(img: { width: number; height: number; rgba: Buffer }, from: number, to: number): [number, number, number] {
  const sum = [0, 0, 0];
  let n = 0;
  for (let y = Math.floor(img.height * from); y < Math.floor(img.height * to); y++) {
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 4;
      sum[0] += img.rgba[i];
      sum[1] += img.rgba[i + 1];
      sum[2] += img.rgba[i + 2];
      n++;
    }
  }
  return [sum[0] / n, sum[1] / n, sum[2] / n];
}

const brightness = (c: number[]) => (c[0] + c[1] + c[2]) / 3;

function differingPixels(a: Buffer, b: Buffer): number {
  let n = 0;
  for (let i = 0; i < a.length; i += 4) if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2]) n++;
  return n;
}

describe("local/renderer", () => {
  it("is deterministic: the same prompt, seed and size give the same bytes", () => {
    const req = { prompt: "me on top of a pyramid at sunset", seed: 123456, width: 320, height: 320 };
    assert.deepEqual(renderPostcard(req), renderPostcard({ ...req }));
  });

  it("returns a real, opaque PNG of the requested size, square or not", () => {
    for (const [width, height] of [[512, 512], [384, 576], [1173, 640]]) {
      const png = renderPostcard({ prompt: "a lake in the mountains", seed: 1, width, height });
      assert.deepEqual(readPngHeader(png), { width, height });
      const img = decodePng(png);
      for (let i = 3; i < img.rgba.length; i += 4) assert.equal(img.rgba[i], 255);
    }
  });

  it("paints the sky the prompt asks for: night is dark, day is blue, sunset is warm near the horizon", () => {
    const night = meanColour(picture("a quiet night by the lake"), 0, 0.3);
    const day = meanColour(picture("a quiet day by the lake"), 0, 0.3);
    const sunset = meanColour(picture("a quiet sunset by the lake"), 0.35, 0.5);
    assert.ok(brightness(night) < 70, `night sky ${night}`);
    assert.ok(brightness(day) > 120, `day sky ${day}`);
    assert.ok(day[2] > day[0] + 40, `day sky is blue ${day}`);
    assert.ok(sunset[0] > sunset[2] + 20, `sunset sky is warm ${sunset}`);
  });

  it("paints the ground the prompt asks for: sand for a desert, water for the sea", () => {
    const desert = meanColour(picture("crossing the desert"), 0.75, 1);
    const sea = meanColour(picture("sailing on the open sea"), 0.75, 1);
    assert.ok(desert[0] > desert[2] + 60, `desert ground is sandy ${desert}`);
    assert.ok(sea[2] > sea[0] + 40, `sea is blue ${sea}`);
  });

  it("adds landmarks named in the prompt (pyramids change a large part of a desert picture)", () => {
    const plain = picture("crossing the desert", 3);
    const pyramids = picture("crossing the desert to the pyramid", 3);
    assert.ok(differingPixels(plain.rgba, pyramids.rgba) > SIZE * SIZE * 0.05);
    const paris = chooseScene("me at the Eiffel tower in Paris");
    assert.equal(paris.eiffel, true);
    assert.equal(paris.pyramids, false);
    assert.equal(paris.traveller, true);
    const plainParis = picture("the Eiffel tower in Paris", 3);
    const plainTown = picture("the tower in town", 3);
    assert.ok(differingPixels(plainParis.rgba, plainTown.rgba) > SIZE * SIZE * 0.02);
  });

  it("reads keywords as words: 'in' is not 'I', 'snowy' is snow", () => {
    assert.equal(chooseScene("night in the city").traveller, false);
    assert.equal(chooseScene("me in the city").traveller, true);
    assert.equal(chooseScene("a snowy village").sky, "snow");
    assert.equal(chooseScene("me on top of a pyramid").ground, "desert");
  });

  it("varies details with the seed while keeping the scene", () => {
    const a = picture("a night in the city", 1);
    const b = picture("a night in the city", 2);
    assert.ok(differingPixels(a.rgba, b.rgba) > SIZE * SIZE * 0.05);
    assert.ok(brightness(meanColour(a, 0, 0.3)) < 70 && brightness(meanColour(b, 0, 0.3)) < 70);
  });

  it("frames a polaroid in off-white, thicker at the bottom, with faded tones", () => {
    const framed = picture("me at a Parisian café, old polaroid look at night", 5, 400, 400);
    const plain = picture("me at a Parisian café at night", 5, 400, 400);
    const bottomStrip = meanColour(framed, 0.85, 1);
    assert.ok(bottomStrip.every((v) => v > 230), `bottom strip ${bottomStrip}`);
    const topStrip = meanColour(framed, 0, 0.04);
    assert.ok(topStrip.every((v) => v > 230), `top strip ${topStrip}`);
    assert.ok(brightness(meanColour(plain, 0.85, 1)) < 150, "an unframed picture has no white strip");
    // faded: the framed scene's darkest pixel is lifted well above black
    let darkest = 255;
    for (let i = 0; i < framed.rgba.length; i += 4) darkest = Math.min(darkest, framed.rgba[i], framed.rgba[i + 1]);
    let plainDarkest = 255;
    for (let i = 0; i < plain.rgba.length; i += 4) plainDarkest = Math.min(plainDarkest, plain.rgba[i], plain.rgba[i + 1]);
    assert.ok(darkest >= 25 && plainDarkest < 25, `darkest framed ${darkest}, plain ${plainDarkest}`);
  });

  it("refuses sizes it cannot paint", () => {
    assert.throws(() => renderPostcard({ prompt: "x", seed: 0, width: 0, height: 512 }), RangeError);
    assert.throws(() => renderPostcard({ prompt: "x", seed: 0, width: 512.5, height: 512 }), RangeError);
  });
});
