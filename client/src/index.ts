// Library surface of the queue client (the `couch-send` bin is a thin wrapper around `main`).
export { main, type Io } from "./cli";
export { clientSettings, createSqsClient, parseQueueUrl, DEFAULT_REGION } from "./config";
export { CliError, classifyError, EXIT, type ExitCode } from "./errors";
export { BATCH_SIZE, MAX_PROMPT_LENGTH, parseArgs, promptsFromText, validatePrompts } from "./input";
export { sendPrompts, type SendReport } from "./send";
