/**
 * The offline renderer's 1024×1024 postcard: what painting and encoding one costs the local
 * model's answer (renderPostcard), the encoder alone (encodePng, local/fakes/png.ts) beside pngjs's
 * packer at the same settings and at its own defaults (adaptive filters, zlib level 9, run-length
 * strategy), and one decode (pngjs, as the tests decode).
 */
import { PNG } from "pngjs";
import { decodePng, encodePng } from "../local/fakes/png";
import { renderPostcard, type PostcardRequest } from "../local/fakes/renderer";
import { ms, percentile, type BenchSection } from "./section";

const SIDE = 1024;
const ROUNDS = 8;

/** A framed one (faded), a summit and a busy savanna: the renderer's costlier scenes. */
const POSTCARDS: PostcardRequest[] = [
  "me at a Parisian café, old polaroid look",
  "me on top of K2",
  "me on a savanna safari with acacia trees, lions, elephants and a jeep",
].map((prompt) => ({ prompt, seed: 7, width: SIDE, height: SIDE }));

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

const pngjsWrite = (rgba: Buffer, options?: object) =>
  PNG.sync.write(Object.assign(new PNG({ width: SIDE, height: SIDE }), { data: rgba }), options);

export const pngSection: BenchSection = {
  name: `The offline renderer's ${SIDE}×${SIDE} postcard and its PNG codec`,
  async run() {
    for (const req of POSTCARDS) timed(`renderPostcard "${req.prompt.slice(0, 28)}…"`, ROUNDS, () => renderPostcard(req));
    const png = renderPostcard(POSTCARDS[0]);
    const { rgba } = decodePng(png);
    timed("encode (encodePng)", ROUNDS, () => encodePng(SIDE, SIDE, rgba));
    timed("encode, pngjs at the same settings", ROUNDS, () =>
      pngjsWrite(rgba, { colorType: 6, filterType: 0, deflateLevel: 3, deflateStrategy: 0 }),
    );
    timed("encode, pngjs's defaults", 2, () => pngjsWrite(rgba));
    timed("decode (decodePng, pngjs)", ROUNDS, () => decodePng(png));
  },
};
