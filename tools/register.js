// TypeScript for mocha, its workers and the processes the tests start (local/app/cli.ts): ts-node
// with SWC's transpiler, several times faster than TypeScript's own on a cold process. Types are
// checked by `npm run typecheck`. The Pulumi program is still evaluated with TypeScript's
// transpiler (tools/stack.ts), as the Pulumi CLI runs it.
require("./compile-cache");
require("ts-node").register({ swc: true });
