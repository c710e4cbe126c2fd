// The real `couch-send` process: compiled with the client's own tsconfig (as the image's build
// stage does) and spawned, to check exit codes, stdin piping and messages without stack traces.
// Also the command `npm ci` puts in node_modules/.bin through the npm workspace.
import { strict as assert } from "node:assert";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { nodeVersionWarning } from "../../client/src/node-support";
import { closedPort, startSqsPeer, TEST_CREDENTIALS, type SqsPeer } from "./sqs-peer";

const ROOT = resolve(__dirname, "../..");
const CLIENT = join(ROOT, "client");

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Every file's modification time under `dir` (recursively) that `select` accepts. */
function mtimes(dir: string, select: (file: string) => boolean): number[] {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter(select);
  return files.map((file) => statSync(join(dir, file)).mtimeMs);
}

/**
 * The client's command as `npm ci` built it (its `prepare` runs the client's `tsc -p .`, as the
 * image's build stage does): client/dist next to client/package.json, whose engines it reads. Built
 * again first when a source or the build's config changed since, as after editing the client.
 */
function builtClientBin(): string {
  const built = mtimes(join(CLIENT, "dist"), (f) => f.endsWith(".js"));
  const sources = [
    ...mtimes(join(CLIENT, "src"), (f) => f.endsWith(".ts")),
    ...["tsconfig.json", "package.json"].map((f) => statSync(join(CLIENT, f)).mtimeMs),
  ];
  if (built.length === 0 || Math.max(...sources) > Math.min(...built)) {
    execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", CLIENT], { stdio: "pipe" });
  }
  const pkg = JSON.parse(readFileSync(join(CLIENT, "package.json"), "utf8"));
  return join(CLIENT, pkg.bin["couch-send"]);
}

describe("couch-send (compiled, as a child process)", function () {
  this.timeout(120_000);
  let bin: string;
  let home: string;
  let peer: SqsPeer;
  let queueUrl: string;

  before(async () => {
    home = mkdtempSync(join(tmpdir(), "couch-send-home-"));
    bin = builtClientBin();
    peer = await startSqsPeer();
    queueUrl = await peer.createQueue("process-queue");
  });
  after(async () => {
    await peer?.close();
    rmSync(home, { recursive: true, force: true });
  });

  /** A clean environment: no credentials anywhere unless given, no instance metadata lookups. */
  function spawnCli(args: string[], env: Record<string, string>, stdin = ""): Promise<Result> {
    const child = spawn(process.execPath, [bin, ...args], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: home,
        NODE_PATH: join(ROOT, "node_modules"), // the image has its own node_modules next to dist/
        AWS_CONFIG_FILE: join(home, "no-config"),
        AWS_SHARED_CREDENTIALS_FILE: join(home, "no-credentials"),
        AWS_EC2_METADATA_DISABLED: "true",
        ...env,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.stdin.end(stdin);
    return new Promise((done) => child.on("close", (code) => done({ code, stdout, stderr })));
  }

  it("the compiled bin starts with a shebang (npm links it as a command)", () => {
    assert.match(readFileSync(bin, "utf8"), /^#!\/usr\/bin\/env node\n/);
  });

  it("exit 0 and the message id line for one prompt", async () => {
    const r = await spawnCli(["me on top of a pyramid"], { ...TEST_CREDENTIALS, SQS_QUEUE_URL: queueUrl });
    assert.equal(r.code, 0, r.stderr);
    const id = /^Message sent successfully\. Message ID: (\S+)\n$/.exec(r.stdout)?.[1];
    assert.ok(id, r.stdout);
    assert.deepEqual(await peer.drain(queueUrl), [{ body: "me on top of a pyramid", messageId: id }]);
  });

  it("says nothing about the Node.js version on a supported one, one line (not the SDK's banner) on an older one", async () => {
    const r = await spawnCli(["about versions"], { ...TEST_CREDENTIALS, SQS_QUEUE_URL: queueUrl });
    assert.equal(r.code, 0, r.stderr);
    const warning = nodeVersionWarning(process.versions.node);
    assert.equal(r.stderr, warning === undefined ? "" : `${warning}\n`);
    assert.doesNotMatch(r.stderr, /NodeVersionSupportWarning/);
    await peer.drain(queueUrl);
  });

  it("exit 0 for prompts piped on stdin", async () => {
    const r = await spawnCli([], { ...TEST_CREDENTIALS, SQS_QUEUE_URL: queueUrl }, "one\ntwo\nthree\n");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trimEnd().split("\n").length, 3);
    assert.deepEqual((await peer.drain(queueUrl)).map((m) => m.body).sort(), ["one", "three", "two"]);
  });

  it("exit 2 when no prompt is given", async () => {
    const r = await spawnCli([], { ...TEST_CREDENTIALS, SQS_QUEUE_URL: queueUrl });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /No prompt given/);
  });

  it("exit 3 with a clear message when no credentials can be found", async () => {
    const r = await spawnCli(["x"], { SQS_QUEUE_URL: queueUrl });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /No AWS credentials found\. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    assert.deepEqual(await peer.drain(queueUrl), []);
  });

  it("exit 3 when SQS_QUEUE_URL is missing", async () => {
    const r = await spawnCli(["x"], { ...TEST_CREDENTIALS });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /SQS_QUEUE_URL is not set/);
  });

  it("exit 4 for a queue that does not exist", async () => {
    const r = await spawnCli(["x"], { ...TEST_CREDENTIALS, SQS_QUEUE_URL: queueUrl.replace("process-queue", "gone") });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /The queue does not exist/);
  });

  it("exit 5 when the endpoint refuses connections", async () => {
    const port = await closedPort();
    const r = await spawnCli(["x"], {
      ...TEST_CREDENTIALS,
      SQS_QUEUE_URL: queueUrl,
      AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${port}`,
    });
    assert.equal(r.code, 5);
    assert.match(r.stderr, /ECONNREFUSED/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});

describe("couch-send from the repository root (npm workspace)", () => {
  it("`npm ci` links the built command into node_modules/.bin, so `npx couch-send --help` works", async () => {
    const command = join(ROOT, "node_modules", ".bin", "couch-send");
    // As npx runs it: the linked file itself, through its shebang, with node on PATH.
    const path = [dirname(process.execPath), process.env.PATH ?? ""].join(delimiter);
    const child = spawn(command, ["--help"], {
      cwd: ROOT,
      env: { PATH: path, HOME: tmpdir() },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    const code = await new Promise((done) => child.on("close", done));
    assert.equal(code, 0);
    assert.match(stdout, /^Usage: couch-send /);
  });
});
