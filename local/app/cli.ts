/**
 * `npm start`'s command line: reads the settings, starts the local mode (start.ts), prints the
 * banner and stops cleanly on Ctrl-C. Every start-up failure is one line on stderr and exit code 1.
 */
import { useDummyCredentials } from "../fakes/credentials";
import { PortInUseError } from "../fakes/listen";
import { banner } from "./banner";
import { readApiKeyGate, type ApiKeyGate } from "./api-keys";
import { ConfigError } from "../../runtime/errors";
import { LocalConfigError, loadLocalConfig, type LocalConfig } from "./config";
import { startLocalMode, type LocalMode } from "./start";

function fail(message: string): never {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  // The SDK's notice that its 2027 releases need Node 22 says nothing about this pinned install;
  // in a newcomer's first terminal it reads like an error. Set the variable to "false" to see it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  let config: LocalConfig;
  let apiKeys: ApiKeyGate | undefined;
  try {
    config = loadLocalConfig(process.env);
    apiKeys = readApiKeyGate(config.apiAccess, process.env);
  } catch (err) {
    return fail((err as Error).message);
  }
  // Only local servers are reached: sign with dummy keys so no real credential is ever looked up.
  if (config.model === "local") useDummyCredentials();

  let mode: LocalMode;
  try {
    mode = await startLocalMode(config, { apiKeys });
  } catch (err) {
    if (err instanceof PortInUseError || err instanceof LocalConfigError || err instanceof ConfigError) {
      return fail((err as Error).message);
    }
    return fail(`could not start: ${(err as Error)?.message ?? err}`);
  }
  process.stdout.write(`${banner(mode)}\n`);

  stopOnSignals(mode);
}

/** Ctrl-C (or SIGTERM) stops the mode cleanly; a second one stops at once. */
function stopOnSignals(mode: LocalMode): void {
  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) {
      process.stderr.write(
        "Stopping now without waiting: the batches in flight are cut short; their messages are delivered again at the next start.\n",
      );
      process.exit(130);
    }
    process.stdout.write(`\n${signal}: stopping (the batch in flight finishes first; Ctrl-C again to force)…\n`);
    mode
      .stop()
      .then(({ queued, deadLetters }) => {
        process.stdout.write(`Stopped. ${queued} queued and ${deadLetters} dead-letter message(s) kept for the next start.\n`);
        process.exit(0);
      })
      .catch((err) => {
        process.stderr.write(`Stopped with an error: ${(err as Error)?.message ?? err}\n`);
        process.exit(1);
      });
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
}

if (require.main === module) void main();
