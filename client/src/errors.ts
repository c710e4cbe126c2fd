/**
 * Exit codes and error classification. Every failure the user can cause or meet ends in a
 * `CliError` with one line of explanation and one of these codes — never a stack trace.
 */
export const EXIT = {
  /** Every prompt was accepted by the queue. */
  ok: 0,
  /** A bug or an error this client does not know (the message is still printed, no stack). */
  unexpected: 1,
  /** Bad command line or prompt: nothing was sent. */
  usage: 2,
  /** Bad or missing configuration (queue URL, credentials): nothing was sent. */
  config: 3,
  /** SQS answered with an error (queue missing, access denied, some batch entries refused). */
  aws: 4,
  /** SQS could not be reached (connection refused, DNS, timeout). */
  network: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = "CliError";
  }
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "ECONNABORTED",
]);

const NONEXISTENT_QUEUE = new Set(["QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"]);

const BAD_CREDENTIALS = new Set([
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "ExpiredTokenException",
  "IncompleteSignature",
  "InvalidSecurity",
]);

interface SdkError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

/** Maps whatever the SDK threw to a CliError with a message a person can act on. */
export function classifyError(err: unknown, queueUrl: string): CliError {
  if (err instanceof CliError) return err;
  const e = (typeof err === "object" && err !== null ? err : { message: String(err) }) as SdkError;
  const name = e.name ?? "";
  const code = e.Code ?? e.code ?? "";
  const detail = e.message ?? String(err);

  if (name === "CredentialsProviderError") {
    return new CliError(
      "No AWS credentials found. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, " +
        "or run where a role provides credentials).",
      EXIT.config,
    );
  }
  if (NONEXISTENT_QUEUE.has(name) || NONEXISTENT_QUEUE.has(code)) {
    return new CliError(`The queue does not exist: ${queueUrl} (check SQS_QUEUE_URL and the region).`, EXIT.aws);
  }
  if (NETWORK_CODES.has(code) || name === "TimeoutError") {
    return new CliError(`Could not reach SQS at ${queueUrl}: ${code || name} (${detail}).`, EXIT.network);
  }
  if (BAD_CREDENTIALS.has(name) || BAD_CREDENTIALS.has(code)) {
    return new CliError(`AWS rejected the credentials (${name || code}): ${detail}`, EXIT.aws);
  }
  if (e.$metadata?.httpStatusCode !== undefined) {
    const status = e.$metadata.httpStatusCode;
    return new CliError(`SQS refused the request (${name || code}, HTTP ${status}): ${detail}`, EXIT.aws);
  }
  return new CliError(`Unexpected error: ${name ? name + ": " : ""}${detail}`, EXIT.unexpected);
}
