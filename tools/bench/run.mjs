#!/usr/bin/env node
// `npm run bench` — the repeatable benchmark of the gateway against nginx and HAProxy.
// See docs/benchmarks/README.md for what it measures and how to read the report.
//
//   npm run bench                          full run (~26 min), report in docs/benchmarks/<date>.md
//   npm run bench -- --quick               smoke run (short durations), report under .bench/
//   npm run bench -- --only balance,bypass run some scenarios (report under .bench/ unless --docs)
//   npm run bench -- --only faults         the fault scenario alone (issue 9)
//   npm run bench -- --only hostile        CPU per MiB of 1-byte vs 64 KiB request-body chunks (issue 10)
//   npm run bench -- --only latency        added latency of one hop at low load (2 connections)
//   npm run bench -- --only replicas       4 gateway replicas vs one / four nginx and HAProxy
//   npm run bench -- --only throughput,latency --docs --label lean   report as docs/benchmarks/<date>-lean.md
//   npm run bench -- --report-only .bench/results/<run>   rebuild a report from raw results
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { heading, log, elapsed } from './lib/log.mjs';
import { machineInfo } from './lib/machine.mjs';
import { waitQuiet } from './lib/cpu.mjs';
import { liveChildren, stopAll } from './lib/procs.mjs';
import { writeReport } from './lib/report.mjs';
import { detectTools } from './lib/stack.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Scenario names in run order, with their number in the issue. */
const SCENARIOS = ['throughput', 'balance', 'bypass', 'scaleout', 'sessions', 'redirect', 'faults', 'hostile', 'latency', 'replicas'];

/** The builds a scenario runs (dist/apps/<app>/main.js). */
const APPS = ['gateway', 'registry', 'backend-sim'];
/** @param {string[]} selected */
const appsFor = (selected) => (selected.includes('throughput') || selected.includes('latency') ? [...APPS, 'standalone'] : APPS);

const HELP = `usage: npm run bench -- [options]
  --quick               short durations (smoke run, about 6 minutes)
  --only <list>         comma-separated scenarios or numbers: ${SCENARIOS.map((s, i) => `${i + 1}=${s}`).join(', ')}
  --no-build            use the existing dist/ (default: build once with nx)
  --max-minutes <n>     global time bound (default 32, quick 8): everything stops when it is reached
  --sessions <n>        concurrent WebSockets in the sessions scenario (default 10000, quick 1000)
  --faults <list>       faults scenario: only these faults (numbers 1-8 or names, e.g. 4 or sentinel-failover)
  --docs                write the report into docs/benchmarks/ even for --quick/--only runs
  --label <word>        name the report <date>-<word>.md (another run of the same day keeps its own)
  --report-only <dir>   only rebuild the report from a results dir (.bench/results/<run>)
  --help`;

/** @returns {Record<string, any>} */
function parseArgs(argv) {
  /** @type {Record<string, any>} */
  const o = { quick: false, build: true, docs: false, only: null, maxMinutes: null, sessions: null, reportOnly: null, faults: null, label: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--no-build') o.build = false;
    else if (a === '--docs') o.docs = true;
    else if (a === '--label') {
      o.label = val();
      if (!/^[a-z0-9-]+$/.test(o.label)) fail('--label: lowercase letters, digits and dashes');
    } else if (a === '--only') o.only = val();
    else if (a.startsWith('--only=')) o.only = a.slice(7);
    else if (a === '--max-minutes') o.maxMinutes = Number(val());
    else if (a === '--sessions') o.sessions = Number(val());
    else if (a === '--report-only') o.reportOnly = val();
    else if (a === '--faults') o.faults = val().split(',').map((x) => x.trim()).filter(Boolean);
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`${HELP}\n`);
      process.exit(0);
    } else fail(`unknown option ${a}\n${HELP}`);
  }
  if (o.only) {
    o.only = String(o.only)
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean)
      .map((s) => (/^\d+$/.test(s) ? SCENARIOS[Number(s) - 1] ?? s : s.replace(/-/g, '')));
    for (const s of o.only) if (!SCENARIOS.includes(s)) fail(`--only: unknown scenario ${s}; expected ${SCENARIOS.join(', ')} or 1-${SCENARIOS.length}`);
  }
  if (o.faults && o.only && !o.only.includes('faults')) fail('--faults: only with the faults scenario (--only faults)');
  if (o.maxMinutes !== null && !(o.maxMinutes > 0)) fail('--max-minutes: expected a positive number');
  if (o.sessions !== null && !(Number.isInteger(o.sessions) && o.sessions > 0)) fail('--sessions: expected a positive integer');
  return o;
}

/** @param {string} msg */
function fail(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.reportOnly) {
    const dir = resolve(opts.reportOnly);
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    const results = loadResults(dir);
    const out = writeReport({ root, run, results, toDocs: run.toDocs || opts.docs, resultsDir: dir });
    log(`report written: ${relative(root, out)}`);
    return;
  }
  const selected = opts.only ?? SCENARIOS;
  const maxMinutes = opts.maxMinutes ?? (opts.quick ? 8 : 32);
  const toDocs = opts.docs || (!opts.quick && !opts.only);

  // Global time bound: whatever is running is stopped, the partial results are reported.
  const bound = setTimeout(() => {
    log(`time bound of ${maxMinutes} min reached: stopping every process this bench started`);
    void shutdown(4);
  }, maxMinutes * 60_000);
  bound.unref();
  process.once('SIGINT', () => {
    log('SIGINT: stopping every process this bench started');
    void shutdown(130);
  });
  process.once('SIGTERM', () => void shutdown(143));

  const started = new Date();
  const runId = started.toISOString().replace(/[:.]/g, '-').replace('Z', '');
  const scratch = join(root, '.bench');
  const resultsDir = join(scratch, 'results', runId);
  const ctx = {
    root,
    scratch,
    logs: join(scratch, 'logs', runId),
    confs: join(scratch, 'conf', runId),
    quick: opts.quick,
    sessions: opts.sessions,
    /** @type {string[] | null} faults scenario: the faults to run (numbers or keys), null = all */
    faults: opts.faults,
    tools: detectTools(),
    versions: {},
    /** @type {any} */
    balanceStack: undefined,
    /** @type {any} */
    core: undefined,
  };
  for (const d of [resultsDir, ctx.logs, ctx.confs]) mkdirSync(d, { recursive: true });

  heading(`bench ${opts.quick ? '(quick) ' : ''}— scenarios: ${selected.join(', ')}; time bound ${maxMinutes} min`);
  log(`scratch dir ${relative(root, scratch)}/ (logs: ${relative(root, ctx.logs)}, results: ${relative(root, resultsDir)})`);
  if (!ctx.tools.redis) fail('redis-server is not installed: apt-get install -y redis-server');
  if (!ctx.tools.nginx) log('nginx is not installed: its runs are skipped (install: apt-get update && apt-get install -y nginx)');
  if (!ctx.tools.haproxy) log('haproxy is not installed: its runs are skipped (install: apt-get update && apt-get install -y haproxy)');
  if (!ctx.tools.wrk) log('wrk is not installed: closed-loop runs use the Node generator (install: apt-get update && apt-get install -y wrk)');

  const apps = appsFor(selected);
  if (opts.build) {
    // Only the apps the selected scenarios run (the standalone build is for throughput alone).
    const projects = apps.length < 4 ? [`--projects=${apps.join(',')}`] : [];
    heading(`build (nx run-many -t build --skip-nx-cache${projects.length ? ` ${projects[0]}` : ''})`);
    const r = spawnSync('npx', ['nx', 'run-many', '-t', 'build', '--skip-nx-cache', ...projects, '--output-style=static'], {
      cwd: root,
      env: { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false' },
      encoding: 'utf8',
      timeout: 5 * 60_000,
    });
    writeFileSync(join(ctx.logs, 'build.log'), `${r.stdout ?? ''}\n${r.stderr ?? ''}`);
    if (r.status !== 0) fail(`build failed (log: ${relative(root, join(ctx.logs, 'build.log'))}):\n${(r.stdout ?? '').slice(-1500)}${(r.stderr ?? '').slice(-800)}`);
    log('build ok');
  }
  for (const app of apps) {
    if (!existsSync(join(root, 'dist/apps', app, 'main.js'))) fail(`dist/apps/${app}/main.js is missing: run without --no-build`);
  }

  const machine = machineInfo(root);
  const run = {
    runId,
    date: started.toISOString().slice(0, 10),
    label: opts.label,
    startedAt: started.toISOString(),
    quick: opts.quick,
    selected,
    scenarios: SCENARIOS,
    toDocs,
    machine,
    tools: ctx.tools,
    maxMinutes,
  };
  writeFileSync(join(resultsDir, 'run.json'), JSON.stringify(run, null, 2));

  /** @type {Record<string, () => Promise<any>>} */
  const runners = {
    throughput: async () => (await import('./scenarios/throughput.mjs')).runThroughput(ctx),
    balance: async () => (await import('./scenarios/balance.mjs')).runBalance(ctx, { bypass: false, keepStack: selected.includes('bypass') }),
    bypass: async () => (await import('./scenarios/balance.mjs')).runBalance(ctx, { bypass: true }),
    scaleout: async () => (await import('./scenarios/scaleout.mjs')).runScaleOut(ctx),
    sessions: async () => (await import('./scenarios/sessions.mjs')).runSessions(ctx),
    redirect: async () => (await import('./scenarios/redirect.mjs')).runRedirect(ctx),
    faults: async () => (await import('./scenarios/faults.mjs')).runFaults(ctx),
    hostile: async () => (await import('./scenarios/hostile.mjs')).runHostile(ctx),
    latency: async () => (await import('./scenarios/latency.mjs')).runLatency(ctx),
    replicas: async () => (await import('./scenarios/replicas.mjs')).runReplicas(ctx),
  };
  /** @type {Record<string, any>} */
  const results = {};
  currentFinish = () => finish(run, results, resultsDir);
  for (const name of selected) {
    const t = Date.now();
    try {
      // On a shared machine, wait (bounded) for other workloads to calm down; the report shows it.
      const quiet = opts.quick ? null : await waitQuiet(name, 30_000);
      results[name] = await runners[name]();
      results[name].machineBefore = quiet;
      results[name].tookSeconds = Math.round((Date.now() - t) / 1000);
    } catch (err) {
      const message = err instanceof Error ? err.stack ?? err.message : String(err);
      log(`scenario ${name} FAILED: ${message}`);
      results[name] = { scenario: name, failed: message };
      ctx.balanceStack = undefined;
      ctx.core = undefined;
      await stopAll();
    }
    writeFileSync(join(resultsDir, `${name}.json`), JSON.stringify(results[name], null, 1));
    log(`scenario ${name} done in ${Math.round((Date.now() - t) / 1000)} s`);
  }
  await finish(run, results, resultsDir);
  const failed = Object.values(results).filter((r) => r.failed).length;
  await shutdown(failed ? 1 : 0);
}

/** @type {(() => Promise<void>) | null} */
let currentFinish = null;
let finished = false;

/**
 * @param {any} run
 * @param {Record<string, any>} results
 * @param {string} resultsDir
 */
async function finish(run, results, resultsDir) {
  if (finished) return;
  finished = true;
  run.finishedAt = new Date().toISOString();
  run.elapsed = elapsed();
  writeFileSync(join(resultsDir, 'run.json'), JSON.stringify(run, null, 2));
  try {
    const out = writeReport({ root, run, results, toDocs: run.toDocs, resultsDir });
    heading(`report: ${relative(root, out)}`);
    if (run.toDocs) {
      // Raw results beside the report, gitignored (docs/benchmarks/raw/).
      const rawDir = join(root, 'docs/benchmarks/raw', run.runId);
      mkdirSync(rawDir, { recursive: true });
      for (const f of readdirSync(resultsDir)) if (f.endsWith('.json')) copyFileSync(join(resultsDir, f), join(rawDir, f));
    }
  } catch (err) {
    log(`writing the report failed: ${err instanceof Error ? err.stack : err}`);
  }
}

/** @param {string} dir */
function loadResults(dir) {
  /** @type {Record<string, any>} */
  const results = {};
  for (const s of SCENARIOS) {
    const p = join(dir, `${s}.json`);
    if (existsSync(p)) results[s] = JSON.parse(readFileSync(p, 'utf8'));
  }
  return results;
}

let shuttingDown = false;
/** @param {number} code */
async function shutdown(code) {
  if (shuttingDown) return;
  shuttingDown = true;
  if (code !== 0 && currentFinish) await currentFinish().catch(() => undefined);
  await stopAll();
  const left = liveChildren();
  if (left.length) log(`still running after stop: ${left.join(', ')}`);
  log(`bench finished (exit ${code}) after ${elapsed()}`);
  process.exit(code);
}

main().catch(async (err) => {
  log(`bench failed: ${err instanceof Error ? err.stack : err}`);
  await shutdown(1);
});

