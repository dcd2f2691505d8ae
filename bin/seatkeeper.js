#!/usr/bin/env node
// The CLI runs the TypeScript sources through tsx, like `npm start`.
import { tsImport } from 'tsx/esm/api';

// `seatkeeper audit export | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const { runCli } = await tsImport('../src/cli/main.ts', import.meta.url);
const code = await runCli(process.argv.slice(2));
// Explicit exit: pools and timers of libraries must not keep a finished command alive.
process.exit(code);
