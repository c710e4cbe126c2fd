import { strict as assert } from "node:assert";
import { glyphPixels, toFontText } from "../../local/fakes/font";
import { decodePng, readPngHeader } from "../../local/fakes/png";
import { CAPTION_INK, captionLayout, captionLines, chooseScene, renderPostcard } from "../../local/fakes/renderer";

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

type Picture = ReturnType<typeof picture>;

/** Pixels of exactly `colour` in a band of rows given as fractions of the height. */
function countColour(img: Picture, colour: readonly number[], from = 0, to = 1): number {
  let n = 0;
  for (let y = Math.floor(img.height * from); y < Math.floor(img.height * to); y++) {
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 4;
      if (img.rgba[i] === colour[0] && img.rgba[i + 1] === colour[1] && img.rgba[i + 2] === colour[2]) n++;
    }
  }
  return n;
}

/** Font pixels the caption of `prompt` sets on a picture of this size (each a unit × unit square). */
function captionInk(prompt: string, width: number, height: number): number {
  const { lines, unit } = captionLayout(prompt, width, height);
  return (
    lines
      .join("")
      .split("")
      .reduce((n, ch) => n + glyphPixels(ch)!.length, 0) *
    unit *
    unit
  );
}

const TRAVELLER: readonly number[] = [40, 35, 45];

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
    for (const [width, height] of [
      [512, 512],
      [384, 576],
      [1173, 640],
    ]) {
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
    assert.ok(
      bottomStrip.every((v) => v > 230),
      `bottom strip ${bottomStrip}`,
    );
    const topStrip = meanColour(framed, 0, 0.04);
    assert.ok(
      topStrip.every((v) => v > 230),
      `top strip ${topStrip}`,
    );
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

  it("follows the exam's three prompts: a summit, a savanna safari, a Parisian café", () => {
    const k2 = chooseScene("me on top of K2");
    assert.deepEqual([k2.vantage, k2.mountains, k2.traveller, k2.known], ["summit", true, true, true]);
    // The traveller stands on the peak, high in the picture, not on the ground by the sea.
    assert.ok(countColour(picture("me on top of K2", 1, 512, 512), TRAVELLER, 0, 0.5) > 300, "the figure is in the upper half");
    assert.equal(countColour(picture("me by the sea", 1, 512, 512), TRAVELLER, 0, 0.5), 0);
    for (const prompt of ["me on the summit of Everest", "me at the top of a mountain", "climbing the Matterhorn"])
      assert.equal(chooseScene(prompt).vantage, "summit", prompt);
    assert.equal(chooseScene("me on top of a pyramid").vantage, "ground", "a pyramid is no mountain");
    assert.equal(chooseScene("me on a cliff above the sea").vantage, "cliff");

    const safari = chooseScene("me on a savanna safari with acacia trees, lions, elephants and a jeep");
    assert.deepEqual([safari.ground, safari.acacias, safari.jeep, safari.traveller], ["savanna", true, true, true]);
    assert.deepEqual([...safari.animals].sort(), ["elephant", "lion"]);
    const grass = meanColour(picture("me on a savanna safari with acacia trees, lions, elephants and a jeep", 2, 512, 512), 0.66, 0.72);
    assert.ok(grass[0] > grass[2] + 60 && grass[1] > grass[2] + 30, `golden grass, not water: ${grass}`);
    assert.deepEqual(chooseScene("a safari in Kenya").animals, ["elephant"], "a safari without named animals still has one");

    const cafe = chooseScene("me at a Parisian café with coffee and a croissant");
    assert.deepEqual([cafe.cafe, cafe.croissant, cafe.eiffel, cafe.ground], [true, true, true, "city"]);
    // The café's awning: red stripes along the top.
    assert.ok(countColour(picture("me at a Parisian café with coffee and a croissant", 3, 512, 512), [190, 40, 45], 0, 0.08) > 5000);
  });

  it("reads common travel words", () => {
    const cases: Array<[string, Partial<ReturnType<typeof chooseScene>>]> = [
      ["me hiking in the Alps", { mountains: true, ground: "hills", vantage: "ground" }],
      ["a beach in Bali", { ground: "beach", palms: true }],
      ["skiing in winter", { ground: "snow", sky: "snow" }],
      ["camping in the forest", { ground: "forest" }],
      ["the New York skyline at night", { ground: "city", sky: "night" }],
      ["a yacht in the harbour", { ground: "sea", sailboat: true }],
      ["hot air balloons over Cappadocia at sunrise", { balloons: true, sky: "sunset" }],
      ["a lighthouse on the coast", { lighthouse: true, ground: "beach" }],
      ["vineyards in Tuscany", { ground: "hills" }],
      ["giraffes on the Serengeti", { ground: "savanna", animals: ["giraffe"] }],
      ["breakfast at a bistro", { cafe: true, croissant: true }],
    ];
    for (const [prompt, expected] of cases) {
      const scene = chooseScene(prompt);
      for (const [field, value] of Object.entries(expected))
        assert.deepEqual(scene[field as keyof typeof scene], value, `${prompt}: ${field}`);
      assert.equal(scene.known, true, prompt);
    }
  });

  it("gives an unknown place a neutral postcard, the same for every such prompt, not a hash-picked scene", () => {
    const prompts = ["me in Reykjavik", "me in Ulaanbaatar", "a quiet afternoon", "zxcv qwerty"];
    const scenes = prompts.map((p) => ({ ...chooseScene(p), traveller: false }));
    for (const scene of scenes) assert.deepEqual(scene, scenes[0]);
    assert.deepEqual([scenes[0].known, scenes[0].ground, scenes[0].mountains, scenes[0].vantage], [false, "meadow", false, "ground"]);
    for (const prompt of prompts) {
      const ground = meanColour(picture(prompt, 4), 0.7, 0.85);
      assert.ok(ground[1] > ground[0] + 20 && ground[1] > ground[2] + 20, `${prompt}: a green meadow ${ground}`);
    }
  });

  it("writes the prompt on the postcard: white on a dark band, or in ink on a polaroid's frame", () => {
    for (const prompt of [
      "me on top of K2",
      "me on a savanna safari with acacia trees, lions, elephants and a jeep, and a long, long tail of words that does not fit",
    ]) {
      const img = picture(prompt, 5, 512, 512);
      const { height } = captionLayout(prompt, 512, 512);
      assert.ok(height > 0 && height < 512 * 0.12, `band ${height} px`);
      // Under the band nothing of the scene is that bright: every such pixel is a font pixel.
      assert.equal(countColour(img, CAPTION_INK.band, 1 - height / 512, 1), captionInk(prompt, 512, 512), prompt);
    }
    const framed = picture("me at a Parisian café, old polaroid look", 5, 512, 512);
    const side = Math.round(512 * 0.06);
    assert.equal(
      countColour(framed, CAPTION_INK.frame, 0.8, 1),
      captionInk("me at a Parisian café, old polaroid look", 512 - 2 * side, 512),
    );
    assert.ok(captionInk("me at a Parisian café, old polaroid look", 512 - 2 * side, 512) > 500);
  });

  it("fits the caption: words wrap into two lines, the rest ends in '...', and any text becomes the font's characters", () => {
    assert.deepEqual(captionLines("me on top of K2", 40), ["me on top of K2"]);
    assert.deepEqual(captionLines("one two three four", 9), ["one two", "three..."]);
    assert.deepEqual(captionLines("abcdefghijklmnop", 6, 3), ["abcdef", "ghijkl", "mnop"]);
    for (const lines of [captionLines("word ".repeat(100), 20), captionLines("x".repeat(500), 20)]) {
      assert.equal(lines.length, 2);
      assert.ok(lines.every((l) => l.length <= 20));
      assert.ok(lines[1].endsWith("..."));
    }
    assert.equal(toFontText("a café in Zürich ☕ “quoted” — fine…"), 'a cafe in Zurich ? "quoted" - fine...');
    assert.equal(toFontText("🏔️"), "??", "one ? per character (the emoji and its variation selector)");
  });
});
