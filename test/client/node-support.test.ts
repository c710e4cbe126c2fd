// Which Node.js versions couch-send accepts: package.json's engines, read by the client itself.
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { satisfies } from "semver";
import { lowestSupported, nodeVersionWarning, SUPPORTED_NODE } from "../../client/src/node-support";

const CLIENT = resolve(__dirname, "../../client");

describe("couch-send: supported Node.js versions", () => {
  it("are exactly client/package.json's engines.node", () => {
    assert.equal(SUPPORTED_NODE, JSON.parse(readFileSync(join(CLIENT, "package.json"), "utf8")).engines.node);
  });

  it("warn in one line below the lower bound, and agree with semver on either side of it", () => {
    for (const [version, range] of [
      ["20.20.2", ">=22"],
      ["21.99.0", ">=22"],
      ["22.0.0", ">=22"],
      ["24.11.1", ">=22"],
      ["v26.0.0", ">=22"],
      ["22.16.9", ">=22.17"],
      ["22.17.0", ">=22.17"],
      ["22.17.0", ">=22.17.1"],
      ["23.0.0", ">=22.17.1"],
    ]) {
      const warning = nodeVersionWarning(version, range);
      assert.equal(warning === undefined, satisfies(version, range), `${version} against ${range}`);
      if (warning) {
        assert.doesNotMatch(warning, /\n/);
        assert.match(
          warning,
          new RegExp(
            `^couch-send: Node\\.js ${version.replace(/^v/, "").replace(/\./g, "\\.")} is older than this client supports \\(${range}\\)`,
          ),
        );
      }
    }
  });

  it("refuses an engines range that is not a plain lower bound (the client could not judge it)", () => {
    assert.deepEqual(lowestSupported(">=22"), [22, 0, 0]);
    assert.deepEqual(lowestSupported(">= 22.17.1"), [22, 17, 1]);
    assert.throws(() => lowestSupported("^22.17.0 || >=24"), /engines\.node must be ">=X\[\.Y\[\.Z\]\]"/);
  });
});
