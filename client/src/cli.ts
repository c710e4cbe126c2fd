/**
 * `couch-send` as a function: `main(argv, io)` returns the exit code and never throws, so tests
 * run it in-process with their own environment and streams, and the bin stays a thin wrapper.
 */
import { clientSettings, createSqsClient, type Env } from "./config";
import { CliError, classifyError, EXIT, type ExitCode } from "./errors";
import { parseArgs, promptsFromText, USAGE, validatePrompts } from "./input";
import { sendPrompts, type SendReport } from "./send";

export interface Writable {
  write(chunk: string): unknown;
}

export interface Io {
  /** Default process.env. */
  env?: Env;
  /** Default process.stdin. */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout?: Writable;
  stderr?: Writable;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  stream.setEncoding("utf8");
  for await (const chunk of stream) text += chunk;
  return text;
}

interface JsonResult extends SendReport {
  queueUrl?: string;
  error?: { exitCode: ExitCode; message: string };
}

export async function main(argv: readonly string[], io: Io = {}): Promise<ExitCode> {
  const env = io.env ?? process.env;
  const stdin = io.stdin ?? process.stdin;
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const result: JsonResult = { sent: [], failed: [] };
  let json = false;

  try {
    const args = parseArgs(argv);
    json = args.json;
    if (args.help) {
      stdout.write(USAGE);
      return EXIT.ok;
    }
    const raw = [...args.prompts];
    if (args.stdin === "yes" || (args.stdin === "if-piped" && !stdin.isTTY)) {
      raw.push(...promptsFromText(await readAll(stdin)));
    }
    const prompts = validatePrompts(raw);
    const settings = clientSettings(env);
    result.queueUrl = settings.queue.url;

    const client = createSqsClient(settings);
    try {
      await sendPrompts(client, settings.queue.url, prompts, result);
    } catch (err) {
      throw classifyError(err, settings.queue.url);
    } finally {
      client.destroy();
    }
    return finish();
  } catch (err) {
    const error = err instanceof CliError ? err : classifyError(err, result.queueUrl ?? "");
    result.error = { exitCode: error.exitCode, message: error.message };
    return finish();
  }

  function finish(): ExitCode {
    const failed = result.failed.length > 0;
    if (json) {
      stdout.write(JSON.stringify(result, null, 2) + "\n");
    } else {
      for (const s of result.sent) stdout.write(`Message sent successfully. Message ID: ${s.messageId}\n`);
    }
    for (const f of result.failed) {
      stderr.write(`Prompt #${f.index + 1} was not sent: ${f.code}: ${f.message}\n`);
    }
    if (result.error) {
      stderr.write(`couch-send: ${result.error.message}\n`);
      if (result.sent.length > 0) {
        stderr.write(`couch-send: ${result.sent.length} prompt(s) were sent before the error; the rest were not.\n`);
      }
      if (result.error.exitCode === EXIT.usage) stderr.write(`Run couch-send --help for usage.\n`);
      return result.error.exitCode;
    }
    return failed ? EXIT.aws : EXIT.ok;
  }
}
