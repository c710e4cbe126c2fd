// couch-send run in-process against a real SQS protocol peer (local-aws-sqs on 127.0.0.1:0).
import { strict as assert } from "node:assert";
import { Readable } from "node:stream";
import { main, type Io } from "../../client/src/cli";
import { BATCH_SIZE, MAX_PROMPT_LENGTH } from "../../client/src/input";
import { EXIT } from "../../client/src/errors";
import { resolve } from "node:path";
import { readStackConfig } from "../../tools/stack-config";
import { adapterFor } from "../../runtime/models";
import { closedPort, startSqsPeer, TEST_CREDENTIALS, type SqsPeer } from "./sqs-peer";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sink() {
  const parts: string[] = [];
  return { write: (s: string) => parts.push(s), text: () => parts.join("") };
}

async function run(argv: string[], env: Record<string, string>, stdin?: string | "tty"): Promise<Run> {
  const out = sink();
  const err = sink();
  const input =
    stdin === "tty" ? Object.assign(Readable.from([]), { isTTY: true }) : Readable.from(stdin === undefined ? [] : [Buffer.from(stdin)]);
  const io: Io = { env, stdin: input, stdout: out, stderr: err };
  const code = await main(argv, io);
  return { code, stdout: out.text(), stderr: err.text() };
}

const SENT_LINE = /^Message sent successfully\. Message ID: (\S+)$/;

describe("couch-send (in-process, local SQS)", () => {
  let peer: SqsPeer;
  let queueUrl: string;
  let env: Record<string, string>;
  let n = 0;

  before(async () => {
    peer = await startSqsPeer();
  });
  after(async () => {
    await peer.close();
  });
  beforeEach(async () => {
    queueUrl = await peer.createQueue(`image-queue-${++n}`);
    peer.calls.length = 0;
    peer.refuseEntriesContaining(undefined);
    env = { ...TEST_CREDENTIALS, SQS_QUEUE_URL: queueUrl };
  });

  it("sends one prompt as the plain message body and prints the Java client's line", async () => {
    const r = await run(["me on top of a pyramid"], env);
    assert.equal(r.code, EXIT.ok, r.stderr);
    const match = SENT_LINE.exec(r.stdout.trimEnd());
    assert.ok(match, `stdout was ${JSON.stringify(r.stdout)}`);
    assert.deepEqual(
      peer.calls.map((c) => c.operation),
      ["SendMessage"],
    );
    const received = await peer.drain(queueUrl);
    assert.deepEqual(received, [{ body: "me on top of a pyramid", messageId: match[1] }]);
  });

  it("sends 25 prompts as three SendMessageBatch calls of 10, 10 and 5", async () => {
    const prompts = Array.from({ length: 25 }, (_, i) => `postcard ${i + 1}: me at the Eiffel Tower, polaroid`);
    const r = await run(prompts, env);
    assert.equal(r.code, EXIT.ok, r.stderr);
    assert.deepEqual(
      peer.calls.map((c) => [c.operation, c.entries]),
      [
        ["SendMessageBatch", BATCH_SIZE],
        ["SendMessageBatch", BATCH_SIZE],
        ["SendMessageBatch", 5],
      ],
    );
    const ids = r.stdout
      .trimEnd()
      .split("\n")
      .map((line) => SENT_LINE.exec(line)?.[1]);
    assert.equal(ids.length, 25);
    assert.equal(new Set(ids).size, 25);
    const received = await peer.drain(queueUrl);
    assert.deepEqual(received.map((m) => m.body).sort(), [...prompts].sort());
    assert.deepEqual(received.map((m) => m.messageId).sort(), [...ids].sort());
  });

  it("reads one prompt per line from piped stdin, skipping blank lines and trimming", async () => {
    const r = await run([], env, "sunset over the sea\r\n\n  snowy mountain cabin  \n\ndesert night\n");
    assert.equal(r.code, EXIT.ok, r.stderr);
    assert.deepEqual(
      peer.calls.map((c) => [c.operation, c.entries]),
      [["SendMessageBatch", 3]],
    );
    const bodies = (await peer.drain(queueUrl)).map((m) => m.body).sort();
    assert.deepEqual(bodies, ["desert night", "snowy mountain cabin", "sunset over the sea"]);
  });

  it('reads stdin on "-" in addition to prompt arguments', async () => {
    const r = await run(["beach at noon", "-"], env, "forest path\n");
    assert.equal(r.code, EXIT.ok, r.stderr);
    const bodies = (await peer.drain(queueUrl)).map((m) => m.body).sort();
    assert.deepEqual(bodies, ["beach at noon", "forest path"]);
  });

  it("--json prints one document with each prompt's message id", async () => {
    const r = await run(["--json", "city at night", "paris café"], env);
    assert.equal(r.code, EXIT.ok, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.queueUrl, queueUrl);
    assert.deepEqual(doc.failed, []);
    assert.deepEqual(
      doc.sent.map((s: { index: number; prompt: string }) => [s.index, s.prompt]),
      [
        [0, "city at night"],
        [1, "paris café"],
      ],
    );
    const received = await peer.drain(queueUrl);
    const idByBody = new Map(received.map((m) => [m.body, m.messageId]));
    for (const s of doc.sent) assert.equal(s.messageId, idByBody.get(s.prompt));
  });

  it("keeps its own prompt limit equal to the default model's in the runtime (it is built alone and cannot import it)", () => {
    assert.equal(MAX_PROMPT_LENGTH, adapterFor(String(readStackConfig(resolve(__dirname, "../.."), null).values.modelId)).maxPromptLength);
  });

  it("accepts a prompt of exactly the model's limit", async () => {
    const r = await run(["x".repeat(MAX_PROMPT_LENGTH)], env);
    assert.equal(r.code, EXIT.ok, r.stderr);
    assert.equal((await peer.drain(queueUrl))[0].body.length, MAX_PROMPT_LENGTH);
  });

  it("counts characters as the worker does: an emoji is one character", async () => {
    const emoji = "\u{1F5FB}"; // two UTF-16 units each
    const r = await run([emoji.repeat(MAX_PROMPT_LENGTH)], env);
    assert.equal(r.code, EXIT.ok, r.stderr);
    assert.equal((await peer.drain(queueUrl))[0].body, emoji.repeat(MAX_PROMPT_LENGTH));
    const over = await run([emoji.repeat(MAX_PROMPT_LENGTH + 1)], env);
    assert.equal(over.code, EXIT.usage);
    assert.match(
      over.stderr,
      new RegExp(`is ${MAX_PROMPT_LENGTH + 1} characters long; the image model accepts at most ${MAX_PROMPT_LENGTH}`),
    );
  });

  it("AWS_ENDPOINT_URL_SQS wins over the host of an AWS queue URL (local mode with a real-looking URL)", async () => {
    const name = new URL(queueUrl).pathname.split("/").pop();
    const awsStyle = `https://sqs.eu-west-1.amazonaws.com/123456789012/${name}`;
    const r = await run(["mountain sunrise"], { ...env, SQS_QUEUE_URL: awsStyle, AWS_ENDPOINT_URL_SQS: peer.endpoint });
    assert.equal(r.code, EXIT.ok, r.stderr);
    assert.deepEqual(
      (await peer.drain(queueUrl)).map((m) => m.body),
      ["mountain sunrise"],
    );
  });

  it("AWS_ENDPOINT_URL (all services) is honoured too", async () => {
    const port = await closedPort();
    const name = new URL(queueUrl).pathname.split("/").pop();
    const elsewhere = `http://127.0.0.1:${port}/123456789012/${name}`;
    const r = await run(["snow"], { ...env, SQS_QUEUE_URL: elsewhere, AWS_ENDPOINT_URL: peer.endpoint });
    assert.equal(r.code, EXIT.ok, r.stderr);
    assert.deepEqual(
      (await peer.drain(queueUrl)).map((m) => m.body),
      ["snow"],
    );
  });

  describe("errors: message, exit code, nothing sent", () => {
    const cases: {
      name: string;
      argv: string[];
      env?: Record<string, string | undefined>;
      stdin?: string | "tty";
      code: number;
      message: RegExp;
    }[] = [
      { name: "no prompt (terminal stdin)", argv: [], stdin: "tty", code: EXIT.usage, message: /No prompt given/ },
      { name: "no prompt (empty piped stdin)", argv: [], stdin: "\n\n", code: EXIT.usage, message: /No prompt given/ },
      { name: "blank prompt", argv: ["   "], code: EXIT.usage, message: /The prompt is blank/ },
      {
        name: "over-long prompt",
        argv: ["y".repeat(MAX_PROMPT_LENGTH + 1)],
        code: EXIT.usage,
        message: new RegExp(`${MAX_PROMPT_LENGTH + 1} characters long; the image model accepts at most ${MAX_PROMPT_LENGTH}`),
      },
      {
        name: "over-long line among good ones on stdin",
        argv: [],
        stdin: `ok one\n${"z".repeat(MAX_PROMPT_LENGTH + 88)}\nok two\n`,
        code: EXIT.usage,
        message: new RegExp(`Prompt #2 is ${MAX_PROMPT_LENGTH + 88} characters`),
      },
      { name: "control characters", argv: ["bad \u0000 prompt"], code: EXIT.usage, message: /control characters/ },
      { name: "unknown option", argv: ["--jsn", "x"], code: EXIT.usage, message: /Unknown option --jsn/ },
      {
        name: "missing SQS_QUEUE_URL",
        argv: ["x"],
        env: { SQS_QUEUE_URL: undefined },
        code: EXIT.config,
        message: /SQS_QUEUE_URL is not set/,
      },
      {
        name: "queue URL that is not a URL",
        argv: ["x"],
        env: { SQS_QUEUE_URL: "image-queue" },
        code: EXIT.config,
        message: /SQS_QUEUE_URL is not a URL/,
      },
      {
        name: "queue URL without account",
        argv: ["x"],
        env: { SQS_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/image-queue" },
        code: EXIT.config,
        message: /no <account>\/<queue name> path/,
      },
      {
        name: "queue URL with the wrong scheme",
        argv: ["x"],
        env: { SQS_QUEUE_URL: "ftp://sqs.eu-west-1.amazonaws.com/123456789012/q" },
        code: EXIT.config,
        message: /must be http\(s\)/,
      },
      {
        name: "AWS queue URL over http",
        argv: ["x"],
        env: { SQS_QUEUE_URL: "http://sqs.eu-west-1.amazonaws.com/123456789012/q" },
        code: EXIT.config,
        message: /must use https/,
      },
      {
        name: "AWS host that is not SQS",
        argv: ["x"],
        env: { SQS_QUEUE_URL: "https://s3.eu-west-1.amazonaws.com/123456789012/q" },
        code: EXIT.config,
        message: /not an SQS host/,
      },
      {
        name: "malformed endpoint override",
        argv: ["x"],
        env: { AWS_ENDPOINT_URL_SQS: "localhost:4566" },
        code: EXIT.config,
        message: /AWS_ENDPOINT_URL_SQS is not an http\(s\) URL/,
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const r = await run(c.argv, { ...env, ...c.env } as Record<string, string>, c.stdin);
        assert.equal(r.code, c.code, r.stderr);
        assert.match(r.stderr, c.message);
        assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
        assert.equal(r.stdout, "");
        assert.deepEqual(peer.calls, [], "no SQS call was made");
        assert.deepEqual(await peer.drain(queueUrl), []);
      });
    }

    it("a queue that does not exist: exit 4 and a clear message", async () => {
      const missing = queueUrl.replace(/image-queue-\d+$/, "no-such-queue");
      const r = await run(["x"], { ...env, SQS_QUEUE_URL: missing });
      assert.equal(r.code, EXIT.aws);
      assert.match(r.stderr, /The queue does not exist: .*no-such-queue/);
      assert.equal(r.stdout, "");
    });

    it("network failure (connection refused on a closed port): exit 5", async () => {
      const port = await closedPort();
      const r = await run(["x"], { ...env, SQS_QUEUE_URL: `http://127.0.0.1:${port}/123456789012/image-queue` });
      assert.equal(r.code, EXIT.network);
      assert.match(r.stderr, new RegExp(`Could not reach SQS at http://127\\.0\\.0\\.1:${port}/.*ECONNREFUSED`));
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    });

    it("--json reports the error in the document too", async () => {
      const r = await run(["--json", "x"], { ...env, SQS_QUEUE_URL: "nonsense" });
      assert.equal(r.code, EXIT.config);
      const doc = JSON.parse(r.stdout);
      assert.deepEqual(doc.sent, []);
      assert.equal(doc.error.exitCode, EXIT.config);
      assert.match(doc.error.message, /not a URL/);
    });

    it("entries SQS refuses in a batch are reported by number, the rest are delivered, exit 4", async () => {
      peer.refuseEntriesContaining("REFUSE");
      const prompts = Array.from({ length: 12 }, (_, i) => (i === 3 || i === 11 ? `REFUSE ${i}` : `fine ${i}`));
      const r = await run(prompts, env);
      assert.equal(r.code, EXIT.aws);
      assert.match(r.stderr, /Prompt #4 was not sent: InvalidMessageContents/);
      assert.match(r.stderr, /Prompt #12 was not sent: InvalidMessageContents/);
      assert.equal(
        r.stdout
          .trimEnd()
          .split("\n")
          .filter((l) => SENT_LINE.test(l)).length,
        10,
      );
      const bodies = (await peer.drain(queueUrl)).map((m) => m.body).sort();
      assert.deepEqual(bodies, prompts.filter((p) => p.startsWith("fine")).sort());
    });
  });

  it("--help prints usage and exits 0 without sending", async () => {
    const r = await run(["--help"], {});
    assert.equal(r.code, EXIT.ok);
    assert.match(r.stdout, /^Usage: couch-send/);
    assert.match(r.stdout, /Exit codes:/);
    assert.deepEqual(peer.calls, []);
  });
});
