#!/usr/bin/env node
// The `couch-send` command: all behaviour lives in cli.ts; this only binds it to the process.
import { main } from "./cli";
import { nodeVersionWarning } from "./node-support";

const warning = nodeVersionWarning(process.versions.node);
if (warning) process.stderr.write(`${warning}\n`);
// That one line is our whole say on Node.js versions: the AWS SDK's own nine-line
// NodeVersionSupportWarning is off, by the switch the SDK documents for it
// (https://github.com/aws/aws-sdk-js-v3/issues/7983).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
