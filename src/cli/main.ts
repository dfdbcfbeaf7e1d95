#!/usr/bin/env node
import { runCli } from './program.js';

// `dialnexa-teardown` (package.json `bin`): the admin CLI, a client of the service's REST API.
const code = await runCli(process.argv.slice(2), {
  env: process.env,
  streams: { stdout: process.stdout, stderr: process.stderr },
  fetch: globalThis.fetch,
});
process.exitCode = code;
