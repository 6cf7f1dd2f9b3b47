#!/usr/bin/env node
// Checks infra/ without Docker or Nomad: the Nomad jobs parse as HCL and have a liveness check (the
// only one that restarts) and a readiness check on the right ports, Redis requires a password (on no
// command line, never inside REDIS_URL), backend-sim scales by count on a dynamic port, no secret is
// written in any file, docker-compose and the observability configs parse and point at each other,
// the Dockerfile copies paths that exist and that its .dockerignore lets through, and the Grafana
// dashboards parse and use provisioned datasources. See tools/infra/infra-checks.cjs for the list.
//
//   node tools/infra/check-infra.mjs            # exit 1 on any error; warnings are printed too
//   node tools/infra/check-infra.mjs --json     # findings as JSON
//   node tools/infra/check-infra.mjs --root DIR # another checkout
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { checkInfra } = require('./infra-checks.cjs');

const args = process.argv.slice(2);
const rootArg = args.indexOf('--root');
const root = rootArg >= 0 ? resolve(args[rootArg + 1] ?? '.') : join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let result;
try {
  result = await checkInfra({ root });
} catch (err) {
  process.stderr.write(`check-infra: ${err.message}\n`);
  process.exit(2);
}

if (args.includes('--json')) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else {
  for (const f of result.findings) process.stdout.write(`${f.severity.padEnd(7)} ${f.file}: ${f.message}\n`);
  process.stdout.write(`check-infra: ${result.errors} error(s), ${result.warnings} warning(s)\n`);
}
process.exit(result.errors > 0 ? 1 : 0);
