#!/usr/bin/env node
import { runKeysCommand } from "./keys-command.js";

process.exitCode = await runKeysCommand(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
