/**
 * Headless Chromium for the browser tests, from npm: @sparticuz/chromium ships the binary inside
 * its package (no apt package, no download), and playwright-core drives it.
 *
 * The package unpacks the binary into os.tmpdir() and reuses whatever `chromium` it finds there, which
 * would race between parallel test workers and mix versions between checkouts. So each version is
 * unpacked once per checkout into its own directory: into a fresh temp directory first, then renamed into
 * place, which is atomic; a worker that loses the race uses the winner's copy.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import chromiumPackage from "@sparticuz/chromium";
import { chromium, type Browser } from "playwright-core";

/** The installed package's version (its exports hide package.json from require). */
const { version } = JSON.parse(readFileSync(join(dirname(require.resolve("@sparticuz/chromium")), "..", "package.json"), "utf8")) as {
  version: string;
};

/**
 * Flags for a closed network and a shared machine: no GPU, no QUIC, and nothing that phones home
 * (first-run, background networking, component updates, sync). playwright-core adds --headless,
 * --no-sandbox (chromiumSandbox: false) and a fresh --user-data-dir per launch.
 */
const ARGS = [
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Where this version's binary lives once unpacked: beside the checkout's other caches, not in
 * os.tmpdir(), which is a fresh directory for each test run (test/support/fixtures.ts).
 */
const home = join(__dirname, "..", "..", "node_modules", ".cache", `sparticuz-chromium-${version}`);

/** Unpacks the package's Chromium (once per version and checkout) and returns the binary's path. */
async function chromiumExecutable(): Promise<string> {
  const binary = join(home, "chromium");
  if (existsSync(binary)) return binary;
  mkdirSync(dirname(home), { recursive: true });
  const staging = mkdtempSync(`${home}.unpacking-`);
  // executablePath() unpacks into os.tmpdir(), which reads TMPDIR; it does so before its first await.
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = staging;
  let unpacked: Promise<string>;
  try {
    unpacked = chromiumPackage.executablePath();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  try {
    if ((await unpacked) !== join(staging, "chromium"))
      throw new Error(`@sparticuz/chromium unpacked to ${await unpacked}, not ${staging}`);
    renameSync(staging, home);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    // Another worker renamed its copy into place first: use that one.
    if (!existsSync(binary)) throw err;
  }
  return binary;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: await chromiumExecutable(),
    headless: true,
    chromiumSandbox: false,
    args: ARGS,
  });
}
