// The queue client's image, checked without a Docker engine: the Dockerfile is parsed with
// dockerfile-ast and its stages, base images, user, copies and entrypoint are asserted; the
// entrypoint is cross-checked against package.json's bin and the TypeScript layout.
import { strict as assert } from "node:assert";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Copy, DockerfileParser, type Instruction } from "dockerfile-ast";

const CLIENT = resolve(__dirname, "../../client");
const dockerfile = DockerfileParser.parse(readFileSync(join(CLIENT, "Dockerfile"), "utf8"));
const instructions = dockerfile.getInstructions();
const dockerignore = readFileSync(join(CLIENT, ".dockerignore"), "utf8")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l !== "" && !l.startsWith("#"));

interface Stage {
  name: string | null;
  image: string | null;
  tag: string | null;
  digest: string | null;
  body: Instruction[];
}

/** Instructions grouped by the FROM that starts each stage. */
function stages(): Stage[] {
  const out: Stage[] = [];
  for (const ins of instructions) {
    if (ins.getKeyword() === "FROM") {
      const from = dockerfile.getFROMs()[out.length];
      out.push({
        name: from.getBuildStage(),
        image: from.getImageName(),
        tag: from.getImageTag(),
        digest: from.getImageDigest(),
        body: [],
      });
    } else {
      assert.ok(out.length > 0, `${ins.getKeyword()} before the first FROM`);
      out[out.length - 1].body.push(ins);
    }
  }
  return out;
}

const args = (ins: Instruction) => ins.getArguments().map((a) => a.getValue());
const of = (stage: Stage, keyword: string) => stage.body.filter((i) => i.getKeyword() === keyword);
/** The stage a COPY takes its files from (`--from=`), or undefined for the build context. */
const copyFrom = (ins: Instruction) => (ins instanceof Copy ? (ins.getFromFlag()?.getValue() ?? undefined) : undefined);
const runText = (stage: Stage) =>
  of(stage, "RUN")
    .map((i) => i.getArgumentsContent() ?? "")
    .join("\n");

describe("client/Dockerfile", () => {
  const all = stages();
  const [build, runtime] = [all[0], all[all.length - 1]];

  it("has a build stage and a separate runtime stage", () => {
    assert.equal(all.length, 2);
    assert.equal(build.name, "build");
    assert.equal(runtime.name, "runtime");
  });

  it("pins every base image to an exact version tag and a sha256 digest, slim for the runtime", () => {
    for (const stage of all) {
      assert.equal(stage.image, "node");
      assert.match(String(stage.tag), /^\d+\.\d+\.\d+-[a-z]+-slim$/, "exact version, not latest or a floating major");
      assert.match(String(stage.digest), /^sha256:[0-9a-f]{64}$/);
    }
  });

  it("build stage: npm ci with the lockfile, then tsc", () => {
    const copies = of(build, "COPY").map(args);
    assert.deepEqual(copies[0], ["package.json", "package-lock.json", "./"], "manifests first for layer caching");
    assert.match(runText(build), /npm ci\b[\s\S]*\btsc\b/);
    assert.doesNotMatch(runText(build), /npm install\b/);
  });

  it("runtime stage: production dependencies only and the compiled output from the build stage", () => {
    assert.match(runText(runtime), /npm ci --omit=dev\b/);
    const fromBuild = of(runtime, "COPY").filter((c) => copyFrom(c) === "build");
    assert.deepEqual(fromBuild.map(args), [["/src/dist", "./dist"]]);
    assert.ok(!of(runtime, "COPY").some((c) => /node_modules/.test(c.getArgumentsContent() ?? "")), "no dev node_modules copied");
  });

  it("runs npm ci without lifecycle scripts: the package's prepare (the workspace build) needs src/, copied later", () => {
    const pkg = JSON.parse(readFileSync(join(CLIENT, "package.json"), "utf8"));
    assert.ok(pkg.scripts.prepare, "client/package.json builds itself on install (npm workspace)");
    const installs = all.flatMap((stage) => runText(stage).match(/npm ci\b[^\n&|;]*/g) ?? []);
    assert.equal(installs.length, 2);
    for (const install of installs) assert.match(install, /--ignore-scripts\b/, install);
  });

  it("runs as the non-root node user, set before the entrypoint and never switched back", () => {
    const users = of(runtime, "USER").map((u) => args(u)[0]);
    assert.deepEqual(users, ["node"]);
    const order = runtime.body.map((i) => i.getKeyword());
    assert.ok(order.indexOf("USER") < order.indexOf("ENTRYPOINT"));
  });

  it("copies no secrets or .env files and bakes no credentials into ENV/ARG", () => {
    const secretish = /(^|\/)\.env|\.aws|\.pem$|\.key$|id_rsa|secret|credential/i;
    for (const ins of instructions.filter((i) => ["COPY", "ADD"].includes(i.getKeyword()))) {
      const sources = args(ins).slice(0, -1);
      for (const src of sources) assert.doesNotMatch(src, secretish, ins.toString());
      assert.ok(!sources.some((s) => s === "." || s === "./"), `whole-context COPY: ${ins.toString()}`);
    }
    for (const ins of instructions.filter((i) => ["ENV", "ARG"].includes(i.getKeyword()))) {
      assert.doesNotMatch(ins.getArgumentsContent() ?? "", /KEY|SECRET|TOKEN|PASSWORD/i, ins.toString());
    }
    assert.equal(instructions.filter((i) => i.getKeyword() === "ADD").length, 0, "COPY, not ADD");
  });

  it("its entrypoint is the CLI named by package.json's bin, compiled from src/ by the client's tsconfig", () => {
    const entry = of(runtime, "ENTRYPOINT");
    assert.equal(entry.length, 1);
    const exec = JSON.parse(entry[0].getArgumentsContent() ?? "");
    const workdir = args(of(runtime, "WORKDIR")[0])[0];
    const pkg = JSON.parse(readFileSync(join(CLIENT, "package.json"), "utf8"));
    assert.deepEqual(exec, ["node", `${workdir}/${pkg.bin["couch-send"]}`], "exec form, node + the bin");
    const tsconfig = JSON.parse(readFileSync(join(CLIENT, "tsconfig.json"), "utf8")).compilerOptions;
    const source = pkg.bin["couch-send"].replace(new RegExp(`^${tsconfig.outDir}/`), `${tsconfig.rootDir}/`).replace(/\.js$/, ".ts");
    assert.ok(existsSync(join(CLIENT, source)), `${source} exists`);
    assert.equal(of(runtime, "CMD").length, 0, "no CMD: arguments after the image name are the prompts");
  });

  it(".dockerignore keeps node_modules, dist, .git and .env out, but not what the build copies", () => {
    for (const p of ["node_modules", "dist", ".git", ".env", ".env.*"]) assert.ok(dockerignore.includes(p), p);
    const contextSources = instructions
      .filter((i) => i.getKeyword() === "COPY" && copyFrom(i) === undefined)
      .flatMap((i) => args(i).slice(0, -1));
    for (const src of contextSources) {
      assert.ok(!dockerignore.includes(src.split("/")[0]), `${src} is excluded by .dockerignore`);
      assert.ok(existsSync(join(CLIENT, src)), `${src} exists in client/`);
    }
  });
});

describe("client/package.json and its lockfile", () => {
  const pkg = JSON.parse(readFileSync(join(CLIENT, "package.json"), "utf8"));
  const lock = JSON.parse(readFileSync(join(CLIENT, "package-lock.json"), "utf8"));
  const rootPkg = JSON.parse(readFileSync(resolve(CLIENT, "../package.json"), "utf8"));

  it("depends on @aws-sdk/client-sqs only, at the root project's exact version", () => {
    assert.deepEqual(Object.keys(pkg.dependencies), ["@aws-sdk/client-sqs"]);
    assert.equal(pkg.dependencies["@aws-sdk/client-sqs"], rootPkg.dependencies["@aws-sdk/client-sqs"]);
  });

  it("uses exact versions everywhere, matching the root for the shared dev tools", () => {
    for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
      assert.match(String(version), /^\d+\.\d+\.\d+$/, name);
    }
    for (const name of Object.keys(pkg.devDependencies)) assert.equal(pkg.devDependencies[name], rootPkg.devDependencies[name], name);
  });

  it("has a lockfile in step with package.json (npm ci would refuse otherwise)", () => {
    assert.equal(lock.lockfileVersion, 3);
    assert.deepEqual(lock.packages[""].dependencies, pkg.dependencies);
    assert.deepEqual(lock.packages[""].devDependencies, pkg.devDependencies);
    assert.equal(lock.packages["node_modules/@aws-sdk/client-sqs"].version, pkg.dependencies["@aws-sdk/client-sqs"]);
    assert.equal(lock.packages["node_modules/typescript"].dev, true);
  });
});
