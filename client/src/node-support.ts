/**
 * Which Node.js versions the client supports: exactly package.json's `engines.node` (its one home),
 * read at run time from the package root (next to dist/ in the image and in the repository).
 */
const { engines } = require("../package.json") as { engines: { node: string } };

/** The range as package.json states it, e.g. ">=22". */
export const SUPPORTED_NODE = engines.node;

/** [major, minor, patch] of a "22", "22.17" or "v22.17.0" style version. */
function parts(version: string): number[] {
  const numbers = version.replace(/^v/, "").split(".").map(Number);
  return [0, 1, 2].map((i) => numbers[i] ?? 0);
}

/** The lowest supported version; `engines.node` is kept a plain lower bound (">=X[.Y[.Z]]"). */
export function lowestSupported(range: string = SUPPORTED_NODE): number[] {
  const m = /^>=\s*v?(\d+(?:\.\d+){0,2})$/.exec(range.trim());
  if (!m) throw new Error(`engines.node must be ">=X[.Y[.Z]]", not "${range}"`);
  return parts(m[1]);
}

/** One line for an unsupported Node.js `version` (e.g. process.versions.node); undefined when supported. */
export function nodeVersionWarning(version: string, range: string = SUPPORTED_NODE): string | undefined {
  const have = parts(version);
  const need = lowestSupported(range);
  const i = have.findIndex((n, k) => n !== need[k]);
  if (i === -1 || have[i] > need[i]) return undefined;
  return `couch-send: Node.js ${version.replace(/^v/, "")} is older than this client supports (${range}); please upgrade Node.js.`;
}
