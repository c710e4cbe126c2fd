// The delivery documentation stays in step with what it documents: the secrets the workflows
// read, the client's exit codes, the OIDC trust policy, and the ADR's cost arithmetic.
import { strict as assert } from "node:assert";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { minVersion } from "semver";
import { EXIT } from "../../client/src/errors";
import { USAGE } from "../../client/src/input";

const ROOT = resolve(__dirname, "../..");
const delivery = readFileSync(join(ROOT, "README.md"), "utf8");
const adr = readFileSync(join(ROOT, "docs/adr/0001-serverless-vs-containers.md"), "utf8");
/** The text of `doc` from `start` up to `end`; fails if either heading is missing, so a renamed heading cannot widen a section to the end of the file. */
function between(doc: string, start: string, end: string): string {
  const from = doc.indexOf(start);
  assert.ok(from >= 0, `no "${start}" in the document`);
  const to = doc.indexOf(end, from + start.length);
  assert.ok(to >= 0, `no "${end}" after "${start}"`);
  return doc.slice(from, to);
}
const workflows = readdirSync(join(ROOT, ".github/workflows"))
  .map((f) => readFileSync(join(ROOT, ".github/workflows", f), "utf8"))
  .join("\n");

describe("README.md: deploy and client sections", () => {
  it("documents exactly the secrets the workflows read", () => {
    const used = new Set([...workflows.matchAll(/secrets\.([A-Z0-9_]+)/g)].map((m) => m[1]).filter((s) => s !== "GITHUB_TOKEN"));
    const table = between(delivery, "### Secrets the workflows need", "### Deploying: run bootstrap once, then push");
    const documented = new Set([...table.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]));
    assert.ok(used.size >= 5);
    assert.deepEqual([...documented].sort(), [...used].sort());
  });

  it("lists every exit code of the client with the same numbers as the code and its --help", () => {
    const rows = [...delivery.matchAll(/^\| (\d) \| /gm)].map((m) => Number(m[1])).sort();
    assert.deepEqual(rows, Object.values(EXIT).sort());
    for (const code of Object.values(EXIT)) assert.match(USAGE, new RegExp(`\\b${code} [a-zA-Z]`));
  });

  it("has no JSON to paste in its OIDC section: bootstrap/ creates the roles and their trust policies", () => {
    const oidc = between(delivery, "### AWS access from GitHub", "### Secrets the workflows need");
    assert.ok(oidc.length > 200, "the OIDC section is there");
    assert.doesNotMatch(oidc, /```json|"Statement"|sts:AssumeRoleWithWebIdentity/);
    assert.match(oidc, /bootstrap\/README\.md/);
    for (const subject of ["environment:dev", "environment:production"]) assert.ok(oidc.includes(subject), subject);
    const deploy = between(delivery, "### Deploying: run bootstrap once, then push", "## Queue client");
    assert.match(deploy, /bootstrap\/[\s\S]*Push to `main`/);
  });

  it("states the Node.js versions that the repository's and the client's engines require", () => {
    const engines = (dir: string): string => JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).engines.node;
    const prerequisites = between(delivery, "### Prerequisites", "### AWS access from GitHub");
    assert.ok(prerequisites.includes(`\`${engines(ROOT)}\``), `Prerequisites name ${engines(ROOT)}`);
    assert.ok(
      prerequisites.includes(`\`${engines(join(ROOT, "client"))}\``),
      `Prerequisites name the client's ${engines(join(ROOT, "client"))}`,
    );
    const lowest = minVersion(engines(ROOT))!;
    const quickStart = between(delivery, "", "## How it fits together");
    assert.ok(
      quickStart.includes(`${lowest.major}.${lowest.minor} or newer`),
      `the Quick start says ${lowest.major}.${lowest.minor} or newer`,
    );
  });

  it("names the state backend the workflows use: the candidate's prefix, from bootstrap's secret", () => {
    assert.match(delivery, /pulumi login s3:\/\/pgr301-2024-terraform-state\/<candidate>/);
    assert.doesNotMatch(delivery, /pulumi login s3:\/\/pgr301-2024-terraform-state\s*$/m, "no login at the bucket's root");
    assert.match(workflows, /PULUMI_BACKEND_URL: \$\{\{ secrets\.PULUMI_BACKEND_URL \}\}/);
  });

  it("shows the x-api-key header in the API examples of a stack with keys", () => {
    assert.match(delivery, /curl[^\n]*-H "x-api-key: \$KEY"/);
    assert.match(delivery, /Postman[\s\S]{0,200}x-api-key/);
  });
});

describe("docs/adr/0001-serverless-vs-containers.md", () => {
  it("answers the exam's four questions and ends with when to switch", () => {
    const headings = [...adr.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    for (const h of [
      "1. Automation and continuous delivery",
      "2. Observability",
      "3. Scalability and cost control",
      "4. Ownership and responsibility",
    ]) {
      assert.ok(headings.includes(h), h);
    }
    assert.equal(headings[headings.length - 1], "When this team should switch");
  });

  it("computes the Bedrock line of the cost table from the unit price it cites (the default model's)", () => {
    const price = Number(/^\| Stable Image Core \(the default model\)[^|]*\| \$([0-9.]+) per image \|/m.exec(adr)?.[1]);
    assert.ok(price > 0, "the default model's price row");
    const line = /^\| Bedrock \| 1000 × \$([0-9.]+) = \*\*\$([0-9.]+)\*\* \| 1000 × \$([0-9.]+) = \*\*\$([0-9.]+)\*\* \|$/m.exec(adr);
    assert.ok(line, "Bedrock row");
    assert.equal(Number(line[1]), price);
    assert.equal(Number(line[3]), price);
    assert.equal(Number(line[2]), 1000 * price);
    assert.equal(Number(line[4]), 1000 * price);
  });
});
