/**
 * Command line and prompt handling: pure functions, no AWS.
 */
import { CliError, EXIT } from "./errors";

/**
 * Longest prompt accepted, in characters (Unicode code points, as the worker counts them: an
 * emoji is one): the default model's, Stable Image Core's `prompt` of up to 10,000 characters
 * (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-diffusion-stable-image-core-text-image-request-response.html).
 * A stack on another model checks that model's own limit in the worker, which records a failure
 * the job's status reports. Repeated here on purpose: the client is built alone in its container
 * and must not import runtime/ (test/client/cli.test.ts ties it to the runtime's adapter).
 */
export const MAX_PROMPT_LENGTH = 10000;

/** Characters of a prompt, counted as code points ([...text] splits a string into them). */
export function promptLength(prompt: string): number {
  return [...prompt].length;
}

/** SendMessageBatch takes at most ten entries. */
export const BATCH_SIZE = 10;

export const USAGE = `Usage: couch-send [--json] <prompt> [<prompt> ...]
       couch-send [--json] -            (one prompt per line on stdin)
       some-command | couch-send [--json]

Sends each prompt as a plain-text message to the image queue.

Options:
  --json      print one JSON document with the message ids instead of text
  -           read prompts from stdin, one per line (blank lines are skipped)
  --          treat everything after it as prompts, even if it starts with "-"
  -h, --help  show this help

Environment:
  SQS_QUEUE_URL                 queue URL (required), e.g.
                                https://sqs.eu-west-1.amazonaws.com/123456789012/image-queue
  AWS_REGION                    region (default eu-west-1; an AWS queue URL's own region wins)
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE
                                credentials (standard AWS chain)
  AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL
                                endpoint override, e.g. the local mode's queue

Exit codes: 0 sent, 2 usage or prompt error, 3 configuration error (queue URL, credentials),
            4 SQS returned an error, 5 SQS could not be reached, 1 unexpected error.
`;

export interface ParsedArgs {
  json: boolean;
  help: boolean;
  /** Read prompts from stdin: asked for with "-", or implied when there are no prompt arguments. */
  stdin: "yes" | "no" | "if-piped";
  prompts: string[];
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const parsed: ParsedArgs = { json: false, help: false, stdin: "no", prompts: [] };
  let optionsEnded = false;
  for (const arg of argv) {
    if (optionsEnded) parsed.prompts.push(arg);
    else if (arg === "--") optionsEnded = true;
    else if (arg === "--json") parsed.json = true;
    else if (arg === "-h" || arg === "--help") parsed.help = true;
    else if (arg === "-") parsed.stdin = "yes";
    else if (/^--?[A-Za-z][\w-]*$/.test(arg)) {
      throw new CliError(`Unknown option ${arg} (use -- before a prompt that starts with "-").`, EXIT.usage);
    } else parsed.prompts.push(arg);
  }
  if (parsed.stdin === "no" && parsed.prompts.length === 0) parsed.stdin = "if-piped";
  return parsed;
}

/** Splits stdin text into prompts: one per line, blank lines skipped. */
export function promptsFromText(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line.trim() !== "");
}

// Characters an SQS message body may contain (#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF).
const SQS_BODY_CHARS = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

/**
 * Checks every prompt before anything is sent (so a bad line never leaves half a batch on the
 * queue) and returns them trimmed.
 */
export function validatePrompts(prompts: readonly string[]): string[] {
  if (prompts.length === 0) {
    throw new CliError('No prompt given. Example: couch-send "me on top of a pyramid"', EXIT.usage);
  }
  return prompts.map((raw, i) => {
    const label = prompts.length === 1 ? "The prompt" : `Prompt #${i + 1}`;
    const prompt = raw.trim();
    if (prompt === "") throw new CliError(`${label} is blank.`, EXIT.usage);
    const length = promptLength(prompt);
    if (length > MAX_PROMPT_LENGTH) {
      throw new CliError(`${label} is ${length} characters long; the image model accepts at most ${MAX_PROMPT_LENGTH}.`, EXIT.usage);
    }
    if (!SQS_BODY_CHARS.test(prompt)) {
      throw new CliError(`${label} contains control characters that SQS does not accept.`, EXIT.usage);
    }
    return prompt;
  });
}
