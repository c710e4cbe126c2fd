/** Debian's headless Chromium as the gallery tests launch it with playwright-core. */
export const CHROMIUM_OPTIONS = {
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
};
