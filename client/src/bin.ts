#!/usr/bin/env node
// The `couch-send` command: all behaviour lives in cli.ts; this only binds it to the process.
import { main } from "./cli";

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
