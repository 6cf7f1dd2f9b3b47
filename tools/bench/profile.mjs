#!/usr/bin/env node
// CPU flame graphs of our gateway under the throughput scenario's load: the standalone build
// (memory store) and one gateway on Redis run under `node --cpu-prof` in front of the minimal
// backend, wrk drives each in turn, the processes are stopped with SIGTERM (they exit cleanly, so
// V8 writes the profile), and each profile becomes an SVG icicle graph plus a markdown table of the
// top functions (lib/flamegraph.mjs). Only the samples of the measured window are drawn: start-up,
// warm-up and shutdown are left out. Uses dist/ as it is (`npm run build` first).
//
//   node tools/bench/profile.mjs                     both targets, 8 s each after a 2 s warm-up
//   node tools/bench/profile.mjs --quick             2 s each
//   node tools/bench/profile.mjs --targets ours-redis --seconds 15 --out /tmp/flame-{target}.svg
//   node tools/bench/profile.mjs --render <file.cpuprofile> [--out <file.svg>]   render one profile
//
// Writes <out>.svg and <out>.md (same basename); default docs/benchmarks/flame-<target>-<date>.svg.
// Raw profiles stay under .bench/tmp/profiles/<run>/<target>/ (gitignored).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flameGraphSvg, mergeProfile, topFunctionsMarkdown } from './lib/flamegraph.mjs';
import { closedLoop } from './lib/load.mjs';
import { heading, log } from './lib/log.mjs';
import { stopAll } from './lib/procs.mjs';
import { detectTools } from './lib/stack.mjs';
import { startOneBackendTargets } from './scenarios/throughput.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TARGETS = ['ours-memory', 'ours-redis'];
const CONNECTIONS = 64;
const HELP = `usage: node tools/bench/profile.mjs [--quick] [--seconds <n>] [--targets ${TARGETS.join(',')}] [--out <path with {target}>]
       node tools/bench/profile.mjs --render <file.cpuprofile> [--out <file.svg>]`;

/** @param {string[]} argv */
function parseArgs(argv) {
  const o = { quick: false, seconds: 0, targets: TARGETS, out: '', render: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => argv[++i] ?? fail(`${a} needs a value`);
    if (a === '--quick') o.quick = true;
    else if (a === '--seconds') o.seconds = Number(val());
    else if (a === '--targets') o.targets = val().split(',').map((s) => s.trim());
    else if (a === '--out') o.out = val();
    else if (a === '--render') o.render = val();
    else if (a === '--help' || a === '-h') fail(HELP, 0);
    else fail(`unknown option ${a}\n${HELP}`);
  }
  for (const t of o.targets) if (!TARGETS.includes(t)) fail(`--targets: unknown target ${t}; expected ${TARGETS.join(', ')}`);
  if (!o.render && o.targets.length > 1 && o.out && !o.out.includes('{target}')) fail('--out: with several targets, put {target} in the path');
  o.seconds ||= o.quick ? 2 : 8;
  return o;
}

/** @param {string} msg @returns {never} */
function fail(msg, code = 2) {
  (code ? process.stderr : process.stdout).write(`${code ? 'profile: ' : ''}${msg}\n`);
  process.exit(code);
}

/** Now on the profiles' clock (CLOCK_MONOTONIC), in µs. */
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * Renders one .cpuprofile into `svgPath` and the top functions into the .md beside it.
 * @param {string} profilePath
 * @param {string} svgPath
 * @param {{title: string, what: string, fromUs?: number, toUs?: number}} o
 */
function render(profilePath, svgPath, o) {
  const m = mergeProfile(JSON.parse(readFileSync(profilePath, 'utf8')), { fromUs: o.fromUs, toUs: o.toUs, root });
  const totals = `${(m.totalUs / 1e6).toFixed(2)} s of CPU in ${m.samples} samples (idle ${(m.idleUs / 1e6).toFixed(2)} s left out)`;
  const subtitle = `${totals}; width = sample time, frames under 0.2 % dropped; hover a frame for its share`;
  mkdirSync(dirname(svgPath), { recursive: true });
  writeFileSync(svgPath, flameGraphSvg(m, { title: o.title, subtitle }));
  const md = [`# ${o.title}`, '', `![flame graph](${basename(svgPath)})`, '', `${o.what}; ${totals}. Raw profile: \`${relative(root, profilePath)}\`.`, '', topFunctionsMarkdown(m, 25)];
  writeFileSync(svgPath.replace(/\.svg$/, '') + '.md', `${md.join('\n')}\n`);
  log(`  ${relative(root, svgPath)} (+ .md): ${totals}`);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.render) {
    const out = resolve(opts.out || opts.render.replace(/\.cpuprofile$/, '') + '.svg');
    render(resolve(opts.render), out, { title: `CPU profile: ${basename(opts.render)}`, what: 'Whole profile' });
    return;
  }
  for (const app of ['gateway', 'standalone']) if (!existsSync(join(root, 'dist/apps', app, 'main.js'))) fail(`dist/apps/${app}/main.js is missing: npm run build`);
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  const started = new Date();
  const runId = started.toISOString().replace(/[:.]/g, '-').replace('Z', '');
  const date = started.toISOString().slice(0, 10);
  const scratch = join(root, '.bench');
  const ctx = { root, scratch, logs: join(scratch, 'logs', runId), confs: join(scratch, 'conf', runId), quick: opts.quick, tools: detectTools(), versions: {} };
  const profiles = join(scratch, 'tmp', 'profiles', runId);
  const warmup = opts.quick ? 1 : 2;
  heading(`profile: ${opts.targets.join(', ')} under wrk -t1 -c${CONNECTIONS}, ${opts.seconds} s each (profiles: ${relative(root, profiles)})`);
  /** @type {{name: string, pid: number, fromUs: number, toUs: number, rps: number}[]} */
  const measured = [];
  /** @type {(() => Promise<unknown>)[]} */
  const stops = [];
  try {
    const { targets } = await startOneBackendTargets(ctx, { tag: 'prof', backendId: 'prof-1', pool: 'prof', stops, only: opts.targets, nodeArgs: (t) => ['--cpu-prof', `--cpu-prof-dir=${join(profiles, t)}`] });
    for (const t of targets.filter((x) => opts.targets.includes(x.name))) {
      const url = `${t.url}/work?ms=0`;
      await closedLoop(ctx, { url, connections: CONNECTIONS, seconds: warmup, label: `prof-warmup-${t.name}` });
      const fromUs = nowUs();
      const r = await closedLoop(ctx, { url, connections: CONNECTIONS, seconds: opts.seconds, label: `prof-${t.name}` });
      measured.push({ name: t.name, pid: t.pids[0], fromUs, toUs: nowUs(), rps: r.rps });
      log(`  ${t.name}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, errors ${r.errors}`);
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined); // SIGTERM: V8 writes the profiles on exit
    await stopAll(); // the shared Redis and registry
  }
  for (const m of measured) {
    const dir = join(profiles, m.name);
    const file = existsSync(dir) ? readdirSync(dir).find((f) => f.includes(`.${m.pid}.`) && f.endsWith('.cpuprofile')) : undefined;
    if (!file) {
      log(`  ${m.name}: no .cpuprofile in ${relative(root, dir)} (did PID ${m.pid} exit cleanly?)`);
      continue;
    }
    const out = resolve(root, (opts.out || `docs/benchmarks/flame-{target}-${date}.svg`).replace('{target}', m.name));
    const what = `The ${m.name === 'ours-memory' ? 'standalone (memory store)' : 'gateway (Redis)'} process under \`wrk -t1 -c${CONNECTIONS}\` \`GET /work?ms=0\` against the minimal backend, ${opts.seconds} s window after a ${warmup} s warm-up, ${m.rps.toFixed(0)} req/s, ${date}`;
    render(join(dir, file), out, { title: `CPU profile: ${m.name}, ${m.rps.toFixed(0)} req/s (wrk -c${CONNECTIONS}, ${opts.seconds} s, ${date})`, what, fromUs: m.fromUs, toUs: m.toUs });
  }
}

main().catch(async (err) => {
  log(`profile failed: ${err instanceof Error ? err.stack : err}`);
  await stopAll();
  process.exit(1);
});
