#!/usr/bin/env node
// `npm test`: type-checks the repo, lints project boundaries (eslint.config.mjs), runs the whole
// jest suite (unit, integration, e2e) and ends with one line that CI reads: "tests: N passed,
// N failed, N skipped". Extra arguments go to jest (and skip the type check and the lint, for
// quick runs of one folder).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const resultsFile = join(root, 'tmp', 'jest-results.json');
mkdirSync(dirname(resultsFile), { recursive: true });
rmSync(resultsFile, { force: true });

const args = process.argv.slice(2);
let typecheckFailed = false;
let lintFailed = false;
if (args.length === 0) {
  console.log('type-checking (tsc --noEmit)...');
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json'), '--noEmit'], {
    cwd: root,
    stdio: 'inherit',
  });
  typecheckFailed = tsc.status !== 0;
  if (typecheckFailed) console.log('type check failed');
  console.log('linting project boundaries (eslint apps libs)...');
  const eslint = spawnSync(process.execPath, [join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), 'apps', 'libs'], { cwd: root, stdio: 'inherit' });
  lintFailed = eslint.status !== 0;
  if (lintFailed) console.log('lint failed');
}

const jest = join(root, 'node_modules', 'jest', 'bin', 'jest.js');
const run = spawnSync(
  process.execPath,
  [jest, '--config', join(root, 'jest.config.cjs'), '--json', `--outputFile=${resultsFile}`, ...args],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false' } },
);

let passed = 0;
let failed = 0;
let skipped = 0;
let suitesFailed = 0;
try {
  const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
  passed = results.numPassedTests;
  failed = results.numFailedTests;
  skipped = results.numPendingTests + results.numTodoTests;
  suitesFailed = results.numRuntimeErrorTestSuites ?? 0;
} catch {
  failed = Math.max(failed, 1); // jest crashed before writing results
}
if (suitesFailed > 0) console.log(`${suitesFailed} test file(s) failed to run`);
const failures = failed + suitesFailed + (typecheckFailed ? 1 : 0) + (lintFailed ? 1 : 0);
console.log(`tests: ${passed} passed, ${failures} failed, ${skipped} skipped`);
process.exit(run.status === 0 && failures === 0 ? 0 : 1);
