/**
 * The fakes' PNG codec (pngjs, local/fakes/png.ts) on the offline renderer's 1024×1024 postcard:
 * what one encode and one decode cost the local model's answer, at the settings the renderer uses
 * and at pngjs's own defaults (adaptive filters, zlib level 9, run-length strategy).
 */
import { PNG } from "pngjs";
import { decodePng, encodePng } from "../local/fakes/png";
import { renderPostcard } from "../local/fakes/renderer";
import { ms, percentile, type BenchSection } from "./section";

const SIDE = 1024;
const ROUNDS = 8;

function timed(label: string, rounds: number, work: () => Buffer | unknown): void {
  const times: number[] = [];
  let out: unknown;
  work(); // warm-up
  for (let i = 0; i < rounds; i++) {
    const started = process.hrtime.bigint();
    out = work();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  const size = Buffer.isBuffer(out) ? `, ${(out.length / 1024).toFixed(1)} KB` : "";
  console.log(`  ${label.padEnd(46)} median ${ms(percentile(times, 50))}${size}`);
}

export const pngSection: BenchSection = {
  name: `PNG codec (pngjs) on a ${SIDE}×${SIDE} postcard`,
  async run() {
    const png = renderPostcard({
      prompt: "me at a Parisian café, old polaroid look",
      seed: 7,
      width: SIDE,
      height: SIDE,
    });
    const { rgba } = decodePng(png);
    timed("encode, the renderer's settings (encodePng)", ROUNDS, () => encodePng(SIDE, SIDE, rgba));
    timed("encode, pngjs's defaults", 2, () => PNG.sync.write(Object.assign(new PNG({ width: SIDE, height: SIDE }), { data: rgba })));
    timed("decode (decodePng)", ROUNDS, () => decodePng(png));
  },
};
