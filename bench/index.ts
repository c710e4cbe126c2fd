/**
 * `npm run bench`: every section prints its figures in turn. A new section is a file exporting a
 * BenchSection, added to SECTIONS below.
 */
import type { BenchSection } from "./section";
import { localSection } from "./local";
import { pngSection } from "./png";
import { runtimeSection } from "./runtime";

const SECTIONS: BenchSection[] = [runtimeSection, localSection, pngSection];

async function main(): Promise<void> {
  for (const section of SECTIONS) {
    console.log(`\n=== ${section.name} ===`);
    await section.run();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
