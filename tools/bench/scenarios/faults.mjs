// Scenario 7, faults (issue 9): steady open-loop load through 2 gateways onto 3 backend-sims while,
// in turn, Redis, a backend, a gateway and the registry fail. Ours only: nginx and HAProxy share no
// state, so they have nothing to lose here. For each fault: requests sent from the fault's start to
// the end of its window, failures by status and error, the time until the shared counts are exact
// again once the load has stopped, and what is left at rest (slots still counted, backends
// registered) after a quiet period with no traffic.
//
// Topologies, all separate processes from the production builds, every one started and stopped by
// PID through lib/procs.mjs:
// - plain (steps 1-3, 5-8): one redis-server with an append-only file (`--appendonly yes
//   --appendfsync always`, data under .bench/data/<run>/), a registry, 3 backend-sims, 2 gateways;
// - sentinel (step 4): master + replica + 3 sentinels (lib/sentinel.mjs), its own registry,
//   backends and gateways, all on REDIS_SENTINELS / REDIS_SENTINEL_NAME; the plain stack idles.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineShare, snapshot } from '../lib/cpu.mjs';
import { runChildJson } from '../lib/load.mjs';
import { heading, log } from '../lib/log.mjs';
import { httpJson, sleep, waitUntil } from '../lib/net.mjs';
import { redisCall, startSentinelGroup } from '../lib/sentinel.mjs';
import { randomToken, startBackend, startGateway, startRedis, startRegistry, waitRegistered, waitRoutable } from '../lib/stack.mjs';
import { summary } from '../lib/stats.mjs';
import { withCleanup } from '../lib/util.mjs';

const loadgen = join(dirname(fileURLToPath(import.meta.url)), '..', 'loadgen.mjs');

const POOL = 'faults';
const PREFIX = 'faults';
const BACKENDS = 3;

/**
 * The faults in issue order. `goal` is printed next to the figures; `expectRegistered` is the
 * number of backends the registry must list at rest afterwards.
 */
export const FAULTS = [
  { n: 1, key: 'redis-empty', title: 'Redis killed (SIGKILL) 3 s, restarted empty', goal: '0 failed; 0 slots at rest; 3 registered', expectRegistered: 3 },
  { n: 2, key: 'redis-aof', title: 'Redis killed (SIGKILL) 3 s, restarted from its append-only file', goal: '0 failed; 0 slots at rest; 3 registered', expectRegistered: 3 },
  { n: 3, key: 'redis-pause', title: 'Redis paused 5 s (SIGSTOP, SIGCONT)', goal: '0 failed; 0 slots at rest; 3 registered (no eviction)', expectRegistered: 3 },
  { n: 4, key: 'sentinel-failover', title: 'Sentinel failover: master killed (SIGKILL), kept down', goal: '0 failed; 0 slots at rest; 3 registered', expectRegistered: 3 },
  { n: 5, key: 'backend-kill', title: 'one backend killed (SIGKILL), not restarted', goal: 'only the requests in flight on it fail; 0 slots at rest; 2 registered', expectRegistered: 2 },
  { n: 6, key: 'rolling-restart', title: 'every backend restarted in turn (SIGTERM, start again)', goal: '0 failed; 0 slots at rest; 3 registered', expectRegistered: 3 },
  { n: 7, key: 'gateway-kill', title: 'one gateway killed (SIGKILL), replacement started', goal: "only its own clients' requests fail (in flight on it, or sent to its address before the replacement listens); 0 through the other gateway; 0 slots at rest", expectRegistered: 3 },
  { n: 8, key: 'registry-restart', title: 'registry stopped 10 s (SIGTERM, restarted)', goal: '0 failed; 0 slots at rest; 3 registered', expectRegistered: 3 },
];

/** @param {boolean} quick */
export function faultSettings(quick) {
  return {
    rate: 220, // req/s in total, round robin over the 2 gateways
    workMs: 20, // GET /work?ms=20
    leadMs: quick ? 2_000 : 4_000, // steady load before the fault
    tailMs: quick ? 3_000 : 5_000, // load after the fault is over (recovered)
    quietMs: quick ? 2_000 : 5_000, // no load, before the rest state is read
    exactCapMs: quick ? 8_000 : 12_000, // longest wait for exact counts after the load stops
    exactCapGatewayKillMs: quick ? 22_000 : 25_000, // a killed gateway's leases lapse after LEASE_TTL_MS (15 s by default)
    redisDownMs: 3_000,
    pauseMs: 5_000,
    registryDownMs: 10_000,
    recoveryCapMs: 30_000, // longest wait for a fault's recovery (failover, eviction, restart)
    drainMs: quick ? 8_000 : 10_000,
    maxLoadSeconds: 120, // upper bound of one step's load (arrivals stop earlier when told)
    pollMs: 100, // registry GET /v1/backends
    healthPollMs: 500, // gateways' /health
    boundMs: (quick ? 3.5 : 7) * 60_000, // the whole scenario: steps not started by then are reported as not run
  };
}

/** @typedef {ReturnType<typeof faultSettings>} FaultSettings */

/**
 * @typedef {object} Stack
 * @property {string} kind              'plain' | 'sentinel'
 * @property {any} redis                plain: the redis handle (restartable)
 * @property {any} [group]              sentinel: the group
 * @property {any} registry
 * @property {import('../lib/stack.mjs').BackendHandle[]} backends
 * @property {import('../lib/stack.mjs').GatewayHandle[]} gateways
 * @property {string} token
 * @property {Record<string,string>} storeEnv   how the apps reach Redis
 * @property {string} [redisUrl]
 * @property {number} nextBackend
 */

/** @param {import('../lib/stack.mjs').BenchContext} ctx */
export async function runFaults(ctx) {
  const S = faultSettings(ctx.quick);
  const deadline = Date.now() + S.boundMs;
  heading(`scenario 7: faults (${S.rate} req/s of GET /work?ms=${S.workMs} over 2 gateways onto ${BACKENDS} backends; ${FAULTS.length} faults in turn; bound ${S.boundMs / 60_000} min)`);
  const build = buildInfo(ctx.root);
  log(`build: ${Object.entries(build.apps).map(([a, b]) => `${a} ${b.sha256} (${b.builtAt}${b.features.length ? `; reads ${b.features.join(', ')}` : ''})`).join('; ')}`);
  const dataDir = join(ctx.scratch, 'data', basename(ctx.logs));
  return withCleanup(async (stops) => {
    /** @type {Stack | null} */
    let plain = null;
    stops.push(async () => plain && (await stopStack(plain)));
    /** @type {any[]} */
    const steps = [];
    const only = /** @type {any} */ (ctx).faults;
    const selected = only ? FAULTS.filter((f) => only.includes(String(f.n)) || only.includes(f.key)) : FAULTS;
    if (only && selected.length === 0) throw new Error(`--faults ${only.join(',')}: no such fault; expected 1-${FAULTS.length} or ${FAULTS.map((f) => f.key).join(', ')}`);
    if (selected.some((f) => f.key !== 'sentinel-failover')) {
      plain = await startPlainStack(ctx, dataDir);
      log(`plain stack up: redis :${plain.redis.port} (AOF under ${dataDir}), registry ${plain.registry.url}, backends ${plain.backends.map((b) => b.id).join(', ')}, gateways ${plain.gateways.map((g) => g.url).join(', ')}`);
      await warmUp(ctx, S, plain);
    }
    for (const def of selected) {
      if (Date.now() > deadline) {
        log(`fault ${def.n} (${def.key}) not run: the scenario's time bound was reached`);
        steps.push({ ...def, error: `not run: the scenario's time bound (${S.boundMs / 60_000} min) was reached` });
        continue;
      }
      heading(`fault ${def.n}/${FAULTS.length}: ${def.title}`);
      const t = Date.now();
      try {
        let result;
        if (def.key === 'sentinel-failover') result = await sentinelStep(ctx, S, def, build);
        else {
          const repairs = await repairPlain(ctx, /** @type {Stack} */ (plain));
          result = await runStep(ctx, S, def, /** @type {Stack} */ (plain));
          if (repairs.length) result.repairsBefore = repairs;
        }
        steps.push(result);
        log(`fault ${def.n} ${def.key}: ${oneLine(result)} (${Math.round((Date.now() - t) / 1000)} s)`);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        log(`fault ${def.n} ${def.key} FAILED: ${message}`);
        steps.push({ ...def, error: message });
      }
    }
    return {
      scenario: 'faults',
      settings: { ...S, faults: selected.map((f) => f.n), pool: POOL, backends: BACKENDS, gateways: 2, registryRestart: 'SIGTERM, then started again on the same port after 10 s', sentinel: { quorum: 2, downAfterMs: 1_000, failoverTimeoutMs: 5_000, sentinels: 3 } },
      build,
      steps,
    };
  });
}

// ------------------------------------------------------------------ stacks

/**
 * @param {import('../lib/stack.mjs').BenchContext} ctx
 * @param {string} dataDir
 * @returns {Promise<Stack>}
 */
async function startPlainStack(ctx, dataDir) {
  const token = randomToken();
  const redis = await startRedis(ctx, 'faults-redis', { dir: join(dataDir, 'faults-redis'), appendonly: true });
  /** @type {Stack} */
  const stack = { kind: 'plain', redis, registry: null, backends: [], gateways: [], token, storeEnv: {}, redisUrl: redis.url, nextBackend: BACKENDS + 1 };
  try {
    await startApps(ctx, stack, 'faults');
  } catch (err) {
    await stopStack(stack);
    throw err;
  }
  return stack;
}

/**
 * Registry, backends and gateways of a stack (its Redis already running).
 * @param {import('../lib/stack.mjs').BenchContext} ctx
 * @param {Stack} stack
 * @param {string} name  process name prefix
 */
async function startApps(ctx, stack, name) {
  stack.registry = await startRegistry(ctx, { name: `${name}-registry`, redisUrl: stack.redisUrl, prefix: PREFIX, token: stack.token, env: stack.storeEnv });
  for (let i = 1; i <= BACKENDS; i++) stack.backends.push(await startBackend(ctx, backendOpts(stack, `${name}-b${i}`)));
  await waitRegistered(stack.registry.url, POOL, stack.backends.map((b) => b.id));
  for (let i = 1; i <= 2; i++) stack.gateways.push(await startGateway(ctx, gatewayOpts(stack, `${name}-gw-${i}`)));
  for (const g of stack.gateways) await waitRoutable(g.url);
}

/** @param {Stack} stack @param {string} id @param {number} [port] */
function backendOpts(stack, id, port) {
  return { id, pool: POOL, port, registryUrl: stack.registry.url, token: stack.token, redisUrl: stack.redisUrl, prefix: PREFIX, env: { ...stack.storeEnv, REDIS_KEY_PREFIX: PREFIX } };
}

/** @param {Stack} stack @param {string} name @param {{port: number, adminPort: number}} [ports] */
function gatewayOpts(stack, name, ports) {
  return { name, redisUrl: stack.redisUrl, prefix: PREFIX, pool: POOL, port: ports?.port, adminPort: ports?.adminPort, env: stack.storeEnv };
}

/** @param {Stack} stack */
async function stopStack(stack) {
  for (const g of stack.gateways) await g.stop().catch(() => undefined);
  for (const b of stack.backends) await b.stop().catch(() => undefined);
  await stack.registry?.stop().catch(() => undefined);
  if (stack.group) await stack.group.stop();
  else await stack.redis?.stop().catch(() => undefined);
}

/**
 * Before a step: every process of the plain stack is running (a step that failed half-way may have
 * left one down) and every backend is registered. Returns what had to be repaired.
 * @param {import('../lib/stack.mjs').BenchContext} ctx
 * @param {Stack} stack
 * @returns {Promise<string[]>}
 */
async function repairPlain(ctx, stack) {
  /** @type {string[]} */
  const repairs = [];
  stack.redis.child.signal('SIGCONT');
  if (stack.redis.child.done) {
    await stack.redis.restart();
    repairs.push('redis was down: restarted from its append-only file');
  }
  if (stack.registry.child.done) {
    stack.registry = await startRegistry(ctx, { name: stack.registry.name, redisUrl: stack.redisUrl, prefix: PREFIX, token: stack.token, port: stack.registry.port, env: stack.storeEnv });
    repairs.push('registry was down: restarted');
  }
  for (let i = 0; i < stack.backends.length; i++) {
    const b = stack.backends[i];
    if (b.child.done) {
      stack.backends[i] = await startBackend(ctx, backendOpts(stack, b.id, b.port));
      repairs.push(`${b.id} was down: restarted`);
    }
  }
  while (stack.backends.length < BACKENDS) {
    const b = await startBackend(ctx, backendOpts(stack, `faults-b${stack.nextBackend++}`));
    stack.backends.push(b);
    repairs.push(`${b.id} started to make ${BACKENDS} backends`);
  }
  for (let i = 0; i < stack.gateways.length; i++) {
    const g = stack.gateways[i];
    if (g.child.done) {
      stack.gateways[i] = await startGateway(ctx, gatewayOpts(stack, `${g.name}r`, { port: g.port, adminPort: g.adminPort }));
      repairs.push(`${g.name} was down: replaced`);
    }
  }
  await waitRegistered(stack.registry.url, POOL, stack.backends.map((b) => b.id), 15_000).catch((err) => repairs.push(`not every backend registered before the step: ${err.message}`));
  for (const r of repairs) log(`  repair: ${r}`);
  return repairs;
}

/**
 * A few seconds of the same load, not measured: JIT, connection pools.
 * @param {import('../lib/stack.mjs').BenchContext} ctx
 * @param {FaultSettings} S
 * @param {Stack} stack
 */
async function warmUp(ctx, S, stack) {
  const n = Math.round(S.rate * (ctx.quick ? 1 : 2));
  const raw = await runChildJson(ctx, `faults-warmup-${stack.kind}`, loadgen, { mode: 'open', streams: [{ name: 'warmup', urls: stack.gateways.map((g) => g.url), rate: S.rate, durations: Array(n).fill(S.workMs), pathPrefix: '/work?ms=' }], drainMs: 5_000, hardDeadlineMs: 60_000 }, { quietProgress: true });
  log(`warm-up (${stack.kind}): ${raw.sent} requests, ${raw.errors} errors`);
}

// ------------------------------------------------------------------ the Sentinel step

/**
 * Step 4 on a stack of its own: master + replica + 3 sentinels, apps on REDIS_SENTINELS.
 * @param {import('../lib/stack.mjs').BenchContext} ctx
 * @param {FaultSettings} S
 * @param {typeof FAULTS[number]} def
 * @param {ReturnType<typeof buildInfo>} build
 */
async function sentinelStep(ctx, S, def, build) {
  const missing = Object.entries(build.apps).filter(([, b]) => !b.features.includes('REDIS_SENTINELS')).map(([a]) => a);
  if (missing.length) {
    throw new Error(`this build cannot use Sentinel: REDIS_SENTINELS does not occur in ${missing.map((a) => `dist/apps/${a}/main.js`).join(', ')} (issue 9, point 4 not built yet); without it the apps would run on the in-memory store`);
  }
  const group = await startSentinelGroup(ctx, { name: 'faults-sentinel' });
  /** @type {Stack} */
  const stack = { kind: 'sentinel', redis: group.master, group, registry: null, backends: [], gateways: [], token: randomToken(), storeEnv: group.env, redisUrl: undefined, nextBackend: BACKENDS + 1 };
  try {
    log(`sentinel group up: master :${group.master.port}, replica :${group.replica.port}, sentinels ${group.env.REDIS_SENTINELS} (quorum ${group.settings.quorum}, down-after ${group.settings.downAfterMs} ms, failover-timeout ${group.settings.failoverTimeoutMs} ms)`);
    await startApps(ctx, stack, 'faults-s');
    // The apps must really work on the master the sentinels name (not on an in-memory store).
    const keys = Number(await redisCall(group.master.port, ['DBSIZE']));
    if (!(keys > 0)) throw new Error(`the apps wrote nothing to the Sentinel master (DBSIZE ${keys}): they did not use REDIS_SENTINELS`);
    await warmUp(ctx, S, stack);
    return await runStep(ctx, S, def, stack);
  } finally {
    await stopStack(stack);
  }
}

// ------------------------------------------------------------------ one step

/**
 * Load on, the fault, load off, counts until exact, quiet, rest state.
 * @param {import('../lib/stack.mjs').BenchContext} ctx
 * @param {FaultSettings} S
 * @param {typeof FAULTS[number]} def
 * @param {Stack} stack
 */
async function runStep(ctx, S, def, stack) {
  const registryUrl = stack.registry.url;
  const before = await restState(registryUrl);
  log(`  at rest before: Σ active ${before.sumActive}, registered ${before.registered}`);
  const cpu0 = snapshot();
  const monitor = startMonitor(S, registryUrl, () => stack.gateways.map((g) => g.adminUrl));
  /** @type {Record<string, any>} */
  const marks = {};
  /** @type {Record<string, any>} */
  const detail = {};
  /** @type {string|null} */
  let faultError = null;
  const urls = stack.gateways.map((g) => g.url);
  const load = startLoad(ctx, S, `faults-${def.n}-${def.key}`, urls);
  let raw;
  try {
    marks.loadStart = await load.started;
    await sleep(S.leadMs);
    marks.faultAt = Date.now();
    try {
      await inject(ctx, S, def, stack, marks, detail);
    } catch (err) {
      faultError = err instanceof Error ? err.message : String(err);
      log(`  the fault or its recovery failed: ${faultError}`);
    }
    marks.recoveredAt ??= Date.now();
    log(`  recovered ${((marks.recoveredAt - marks.faultAt) / 1000).toFixed(1)} s after the fault began; load for ${S.tailMs / 1000} s more`);
    await sleep(S.tailMs);
  } finally {
    marks.loadStop = Date.now();
    load.stop();
    raw = await load.done.catch((err) => {
      faultError ??= `load generator: ${err.message}`;
      return null;
    });
  }
  if (!raw) {
    monitor.stop();
    throw new Error(faultError ?? 'load generator failed');
  }
  marks.drained = raw.wallStart + raw.drainedAtMs;
  // Exact again: every backend shows active 0 once nothing is in flight.
  const cap = def.key === 'gateway-kill' ? S.exactCapGatewayKillMs : S.exactCapMs;
  const exactAt = await waitUntil('exact', async () => monitor.firstExactAfter(marks.drained), cap, 100).catch(() => null);
  marks.exact = exactAt;
  log(`  load stopped; counts exact ${exactAt ? `${((exactAt - marks.drained) / 1000).toFixed(1)} s after the last answer` : `NOT within ${cap / 1000} s`}; quiet ${S.quietMs / 1000} s`);
  await sleep(S.quietMs);
  const rest = await restState(registryUrl);
  marks.rest = Date.now();
  monitor.stop();
  await monitor.done;
  const cpu1 = snapshot();
  if (def.key === 'backend-kill') {
    // A replacement, so that the next steps have 3 backends again (after the rest state was read).
    const b = await startBackend(ctx, backendOpts(stack, `faults-b${stack.nextBackend++}`));
    stack.backends.push(b);
    await waitRegistered(registryUrl, POOL, [b.id], 15_000);
    detail.replacement = b.id;
  }
  const result = analyse(S, def, raw, marks, monitor, before, rest, detail);
  result.cpu = machineShare(cpu0, cpu1);
  if (faultError) {
    result.error = faultError;
    result.met.all = false;
  }
  return result;
}

/**
 * The fault itself; sets marks.recoveredAt when the faulty part is back (or the system has
 * settled on the new state) and records what happened in `detail`.
 * @param {import('../lib/stack.mjs').BenchContext} ctx
 * @param {FaultSettings} S
 * @param {typeof FAULTS[number]} def
 * @param {Stack} stack
 * @param {Record<string, any>} marks
 * @param {Record<string, any>} detail
 */
async function inject(ctx, S, def, stack, marks, detail) {
  const registryUrl = stack.registry.url;
  switch (def.key) {
    case 'redis-empty':
    case 'redis-aof': {
      const redis = stack.redis;
      redis.child.signal('SIGKILL');
      await redis.child.exited;
      log(`  redis killed (PID ${redis.child.pid}); down ${S.redisDownMs / 1000} s`);
      await sleep(marks.faultAt + S.redisDownMs - Date.now());
      const t = Date.now();
      await redis.restart({ empty: def.key === 'redis-empty' });
      marks.recoveredAt = Date.now();
      detail.downMs = marks.recoveredAt - marks.faultAt;
      detail.restartMs = marks.recoveredAt - t;
      const keys = Number(await redisCall(redis.port, ['DBSIZE']).catch(() => NaN));
      detail.keysAfterRestart = keys;
      log(`  redis restarted ${def.key === 'redis-empty' ? 'empty' : 'from its append-only file'} (PID ${redis.child.pid}, ${keys} keys), down ${(detail.downMs / 1000).toFixed(1)} s`);
      return;
    }
    case 'redis-pause': {
      const redis = stack.redis;
      redis.child.signal('SIGSTOP');
      log(`  redis paused (SIGSTOP to PID ${redis.child.pid}) for ${S.pauseMs / 1000} s`);
      try {
        await sleep(S.pauseMs);
      } finally {
        redis.child.signal('SIGCONT');
      }
      marks.recoveredAt = Date.now();
      detail.pausedMs = marks.recoveredAt - marks.faultAt;
      log('  redis continued (SIGCONT)');
      return;
    }
    case 'sentinel-failover': {
      const g = stack.group;
      const oldPort = g.master.port;
      g.master.child.signal('SIGKILL');
      await g.master.child.exited;
      log(`  master :${oldPort} killed (PID ${g.master.child.pid}), kept down; waiting for the sentinels to promote the replica :${g.replica.port}`);
      await waitUntil('the sentinels to promote the replica', async () => (await g.masterPort()) === g.replica.port, S.recoveryCapMs, 100);
      marks.recoveredAt = Date.now();
      detail.failoverMs = marks.recoveredAt - marks.faultAt;
      const role = String(await redisCall(g.replica.port, ['INFO', 'replication']).catch(() => '')).match(/role:(\w+)/)?.[1];
      detail.newMasterRole = role;
      log(`  failover done after ${(detail.failoverMs / 1000).toFixed(1)} s (sentinels name :${g.replica.port}; its role: ${role})`);
      return;
    }
    case 'backend-kill': {
      const victim = stack.backends[0];
      const info = await victim.info().catch(() => null);
      detail.victim = victim.id;
      detail.victimActiveBeforeKill = info?.active ?? null;
      marks.faultAt = Date.now();
      victim.child.signal('SIGKILL');
      await victim.child.exited;
      stack.backends.splice(0, 1);
      log(`  ${victim.id} killed (PID ${victim.child.pid}) with ${detail.victimActiveBeforeKill ?? '?'} requests active on it; waiting until the registry no longer lists it as alive`);
      const gone = await waitUntil(
        `${victim.id} no longer alive in the registry`,
        async () => {
          const r = await httpJson(`${registryUrl}/v1/backends?pool=${POOL}`, { timeoutMs: 1_000 });
          return r.status === 200 && !(/** @type {any} */ (r.body).backends ?? []).some((/** @type {any} */ b) => b.id === victim.id && b.alive !== false && b.state === 'active') ? Date.now() : null;
        },
        S.recoveryCapMs,
        100,
      ).catch(() => null);
      marks.recoveredAt = gone ?? Date.now();
      detail.unlistedAfterMs = gone ? gone - marks.faultAt : null;
      log(`  ${victim.id} ${gone ? `dropped by the registry after ${((gone - marks.faultAt) / 1000).toFixed(1)} s` : `still listed as alive after ${S.recoveryCapMs / 1000} s`}`);
      return;
    }
    case 'rolling-restart': {
      detail.restarts = [];
      for (let i = 0; i < stack.backends.length; i++) {
        const b = stack.backends[i];
        const t = Date.now();
        await b.child.stop('SIGTERM', 20_000);
        const exitedAt = Date.now();
        const nb = await startBackend(ctx, backendOpts(stack, b.id, b.port));
        stack.backends[i] = nb;
        await waitRegistered(registryUrl, POOL, [b.id], 15_000);
        const registeredAt = Date.now();
        detail.restarts.push({ id: b.id, exitMs: exitedAt - t, downMs: registeredAt - exitedAt, totalMs: registeredAt - t });
        log(`  ${b.id}: SIGTERM → exited in ${exitedAt - t} ms → started again and registered after ${registeredAt - exitedAt} ms`);
      }
      marks.recoveredAt = Date.now();
      return;
    }
    case 'gateway-kill': {
      const idx = 1;
      const victim = stack.gateways[idx];
      detail.victim = victim.name;
      detail.victimTarget = idx;
      marks.faultAt = Date.now();
      victim.child.signal('SIGKILL');
      await victim.child.exited;
      marks.victimDead = Date.now();
      log(`  ${victim.name} killed (PID ${victim.child.pid}); starting a replacement (new GATEWAY_ID) on the same ports`);
      const nb = await startGateway(ctx, gatewayOpts(stack, `${victim.name}b`, { port: victim.port, adminPort: victim.adminPort }));
      stack.gateways[idx] = nb;
      marks.recoveredAt = Date.now();
      detail.replacement = nb.name;
      detail.replacementAfterMs = marks.recoveredAt - marks.faultAt;
      log(`  replacement ${nb.name} healthy after ${(detail.replacementAfterMs / 1000).toFixed(1)} s`);
      return;
    }
    case 'registry-restart': {
      const reg = stack.registry;
      await reg.child.stop('SIGTERM', 10_000);
      detail.exitMs = Date.now() - marks.faultAt;
      log(`  registry stopped (SIGTERM to PID ${reg.child.pid}, exited in ${detail.exitMs} ms); down until ${S.registryDownMs / 1000} s after the SIGTERM`);
      await sleep(marks.faultAt + S.registryDownMs - Date.now());
      stack.registry = await startRegistry(ctx, { name: reg.name, redisUrl: stack.redisUrl, prefix: PREFIX, token: stack.token, port: reg.port, env: stack.storeEnv });
      marks.recoveredAt = Date.now();
      detail.downMs = marks.recoveredAt - marks.faultAt;
      log(`  registry started again on :${reg.port}, healthy ${(detail.downMs / 1000).toFixed(1)} s after the SIGTERM`);
      return;
    }
    default:
      throw new Error(`unknown fault ${def.key}`);
  }
}

// ------------------------------------------------------------------ load, polling, rest state

/**
 * Open-loop load over the gateways until told to stop.
 * @param {import('../lib/stack.mjs').BenchContext} ctx
 * @param {FaultSettings} S
 * @param {string} label
 * @param {string[]} urls
 */
function startLoad(ctx, S, label, urls) {
  /** @type {(line: string) => void} */
  let send = () => undefined;
  /** @type {(v: number) => void} */
  let onStarted = () => undefined;
  /** @type {Promise<number>} */
  const started = new Promise((resolve) => (onStarted = resolve));
  const count = Math.ceil(S.rate * S.maxLoadSeconds);
  const done = runChildJson(
    ctx,
    label,
    loadgen,
    {
      mode: 'open',
      streams: [{ name: 'gateways', urls, rate: S.rate, durations: Array(count).fill(S.workMs), pathPrefix: '/work?ms=' }],
      infoUrls: [],
      sampleEveryMs: 60_000,
      drainMs: S.drainMs,
      stopOnStdin: true,
      recordErrors: true,
      connectionsPerTarget: 4_096,
      progressEveryMs: ctx.quick ? 2_000 : 3_000,
      hardDeadlineMs: S.maxLoadSeconds * 1000 + S.drainMs + 30_000,
    },
    { nofile: 16_384, control: (s) => (send = s), onMessage: (m) => m.type === 'started' && onStarted(m.wallStart) },
  );
  done.catch(() => onStarted(Date.now()));
  return { started, done, stop: () => send('stop') };
}

/**
 * Polls the registry's list every S.pollMs (one call at a time, each bounded) and the gateways'
 * /health every S.healthPollMs, until stopped.
 * @param {FaultSettings} S
 * @param {string} registryUrl
 * @param {() => string[]} adminUrls
 */
function startMonitor(S, registryUrl, adminUrls) {
  /** @type {{at: number, status: number, backends: any[]|null}[]} */
  const polls = [];
  /** @type {{at: number, statuses: number[]}[]} */
  const health = [];
  let running = true;
  const registryLoop = async () => {
    while (running) {
      const sentAt = Date.now();
      try {
        const r = await httpJson(`${registryUrl}/v1/backends?pool=${POOL}`, { timeoutMs: 800 });
        // Stamped when the answer arrived: a call held up by a stalled store tells the state after it.
        polls.push({ at: Date.now(), status: r.status, backends: r.status === 200 ? (/** @type {any} */ (r.body).backends ?? []).map(slim) : null });
      } catch {
        polls.push({ at: sentAt, status: 0, backends: null });
      }
      await sleep(Math.max(0, sentAt + S.pollMs - Date.now()));
    }
  };
  const healthLoop = async () => {
    while (running) {
      const at = Date.now();
      const statuses = await Promise.all(adminUrls().map((u) => httpJson(`${u}/health`, { timeoutMs: 800 }).then((r) => r.status, () => 0)));
      health.push({ at, statuses });
      await sleep(Math.max(0, at + S.healthPollMs - Date.now()));
    }
  };
  const done = Promise.all([registryLoop(), healthLoop()]);
  return {
    polls,
    health,
    done,
    stop: () => {
      running = false;
    },
    /** The first poll at or after `t` where the registry answered and every backend shows active 0. @param {number} t */
    firstExactAfter(t) {
      const p = polls.find((x) => x.at >= t && x.backends && x.backends.length > 0 && x.backends.every((b) => b.active === 0));
      return p ? p.at : null;
    },
  };
}

/** @param {any} b */
const slim = (b) => ({ id: b.id, inflight: b.inflight, reported: b.reported, pending: b.pending, active: b.active, alive: b.alive, state: b.state });

/** Backends a pick can choose: listed, active (not draining) and alive. @param {any[]} backends */
const registeredOf = (backends) => backends.filter((b) => b.alive !== false && b.state === 'active').length;

/**
 * The registry's view with no traffic: Σ active (slots still counted), its parts, and how many
 * backends are registered. Retries for a few seconds if the registry does not answer.
 * @param {string} registryUrl
 */
async function restState(registryUrl) {
  /** @type {any} */
  let last = null;
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    try {
      const r = await httpJson(`${registryUrl}/v1/backends?pool=${POOL}`, { timeoutMs: 1_000 });
      if (r.status === 200) {
        /** @type {any[]} */
        const bs = (/** @type {any} */ (r.body).backends ?? []).map(slim);
        const sum = (/** @type {string} */ k) => bs.reduce((/** @type {number} */ s, /** @type {any} */ b) => s + (Number(b[k]) || 0), 0);
        return { ok: true, sumActive: sum('active'), sumInflight: sum('inflight'), sumReported: sum('reported'), sumPending: sum('pending'), registered: registeredOf(bs), listed: bs.length, backends: bs };
      }
      last = `status ${r.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(200);
  }
  return { ok: false, error: last, sumActive: NaN, sumInflight: NaN, sumReported: NaN, sumPending: NaN, registered: NaN, listed: NaN, backends: [] };
}

// ------------------------------------------------------------------ analysis

/** Short name of a failure: "503 store-unavailable", "ECONNREFUSED". @param {number} status @param {string|null} error */
function failureKind(status, error) {
  if (status === 0) return String(error ?? 'error');
  // "urn:lb:problem:store-unavailable | detail" -> "store-unavailable"
  const type = String(error ?? '').split(' | ')[0].trim().split(/[:/]/).pop();
  return type ? `${status} ${type}` : String(status);
}

/**
 * @param {FaultSettings} S
 * @param {typeof FAULTS[number]} def
 * @param {any} raw       loadgen result
 * @param {Record<string, any>} marks  epoch ms: loadStart, faultAt, recoveredAt, loadStop, drained, exact, rest
 * @param {ReturnType<typeof startMonitor>} monitor
 * @param {Awaited<ReturnType<typeof restState>>} before
 * @param {Awaited<ReturnType<typeof restState>>} rest
 * @param {Record<string, any>} detail
 * @returns {Record<string, any>}
 */
export function analyse(S, def, raw, marks, monitor, before, rest, detail) {
  const ix = Object.fromEntries(raw.columns.map((/** @type {string} */ c, /** @type {number} */ i) => [c, i]));
  const w0 = raw.wallStart;
  const recs = raw.records.map((/** @type {any[]} */ r) => {
    const status = r[ix.status];
    return { sentAt: w0 + r[ix.scheduledMs], endAt: w0 + r[ix.endMs], target: r[ix.target], status, ok: status >= 200 && status < 400, kind: failureKind(status, r[ix.error]), error: r[ix.error], latency: r[ix.latencyMs] };
  });
  const fault = marks.faultAt;
  // Attributed to the fault: sent from its start on, or still in flight when it began.
  const affected = recs.filter((/** @type {any} */ r) => r.sentAt >= fault || r.endAt >= fault);
  const sent = recs.filter((/** @type {any} */ r) => r.sentAt >= fault).length;
  const inFlightAtFault = recs.filter((/** @type {any} */ r) => r.sentAt < fault && r.endAt >= fault).length;
  const failedRecs = affected.filter((/** @type {any} */ r) => !r.ok);
  const beforeFault = recs.filter((/** @type {any} */ r) => r.endAt < fault);
  /** @param {any[]} xs */
  const byKind = (xs) => {
    /** @type {Record<string, number>} */
    const out = {};
    for (const r of xs) out[r.kind] = (out[r.kind] ?? 0) + 1;
    return out;
  };
  const okLatency = summary(affected.filter((/** @type {any} */ r) => r.ok).map((/** @type {any} */ r) => r.latency));
  // Registry polls: how many backends it listed as registered during the window, and how long it did not answer.
  const windowPolls = monitor.polls.filter((p) => p.at >= fault && p.at <= marks.loadStop);
  const answered = windowPolls.filter((p) => p.backends);
  // Listed: records the registry still has (0 = the pool was evicted or the store lost it);
  // registered: listed, active and alive (a lapsed liveness deadline shows as alive: false).
  const minListed = answered.length ? Math.min(...answered.map((p) => /** @type {any[]} */ (p.backends).length)) : null;
  const minRegistered = answered.length ? Math.min(...answered.map((p) => registeredOf(/** @type {any[]} */ (p.backends)))) : null;
  const registryDownMs = unavailableMs(windowPolls.map((p) => ({ at: p.at, ok: p.status === 200 })), S.pollMs);
  const healthWindow = monitor.health.filter((h) => h.at >= fault && h.at <= marks.loadStop);
  const gatewayUnhealthyMs = [0, 1].map((g) => unavailableMs(healthWindow.map((h) => ({ at: h.at, ok: h.statuses[g] >= 200 && h.statuses[g] < 300 })), S.healthPollMs));

  const failed = failedRecs.length;
  /** @type {Record<string, any>} */
  const attribution = {};
  let failuresMet = failed === 0;
  if (def.key === 'backend-kill') {
    // Allowed: requests that were in flight on the victim when it died (sent before the kill; the
    // gateway's 502 names the backend that failed).
    const inFlight = failedRecs.filter((/** @type {any} */ r) => r.sentAt < fault);
    const onVictim = inFlight.filter((/** @type {any} */ r) => String(r.error ?? '').includes(detail.victim)).length;
    attribution.victimActiveBeforeKill = detail.victimActiveBeforeKill;
    attribution.failedInFlightOnVictim = onVictim;
    attribution.failedInFlightOther = inFlight.length - onVictim;
    attribution.failedSentAfterKill = failed - inFlight.length;
    failuresMet = attribution.failedSentAfterKill === 0 && attribution.failedInFlightOther === 0;
  }
  if (def.key === 'gateway-kill') {
    const v = detail.victimTarget;
    const onVictim = failedRecs.filter((/** @type {any} */ r) => r.target === v);
    const inFlight = onVictim.filter((/** @type {any} */ r) => r.sentAt < fault);
    const toDeadAddress = onVictim.filter((/** @type {any} */ r) => r.sentAt >= fault && r.sentAt < marks.recoveredAt);
    const other = failed - inFlight.length - toDeadAddress.length;
    attribution.victimInFlightAtKill = recs.filter((/** @type {any} */ r) => r.target === v && r.sentAt < fault && r.endAt >= fault).length;
    attribution.failedInFlightOnVictim = inFlight.length;
    attribution.failedSentToDeadAddress = toDeadAddress.length;
    attribution.failedOther = other;
    attribution.failedViaSurvivor = failedRecs.filter((/** @type {any} */ r) => r.target !== v).length;
    failuresMet = other === 0;
  }
  const exactMs = marks.exact ? marks.exact - marks.drained : null;
  const leaked = rest.sumActive;
  const leakMet = rest.ok && leaked === 0;
  const registeredMet = rest.ok && rest.registered === def.expectRegistered;
  return {
    n: def.n,
    key: def.key,
    title: def.title,
    goal: def.goal,
    expectRegistered: def.expectRegistered,
    windowMs: marks.loadStop - fault,
    faultToRecoveryMs: marks.recoveredAt - fault,
    sent,
    inFlightAtFault,
    failed,
    failedByKind: byKind(failedRecs),
    failedBeforeFault: beforeFault.filter((/** @type {any} */ r) => !r.ok).length,
    sentBeforeFault: recs.filter((/** @type {any} */ r) => r.sentAt < fault).length,
    unfinished: raw.unfinished,
    okLatencyMs: { p50: okLatency.p50, p99: okLatency.p99, max: okLatency.max },
    attribution,
    exactMs,
    exactCapMs: def.key === 'gateway-kill' ? S.exactCapGatewayKillMs : S.exactCapMs,
    before: { sumActive: before.sumActive, registered: before.registered },
    rest: { ok: rest.ok, error: rest.error, sumActive: rest.sumActive, sumInflight: rest.sumInflight, sumReported: rest.sumReported, sumPending: rest.sumPending, registered: rest.registered, listed: rest.listed, backends: rest.backends },
    minListedDuringWindow: minListed,
    minRegisteredDuringWindow: minRegistered,
    registryUnansweredMs: registryDownMs,
    gatewayUnhealthyMs,
    met: { failures: failuresMet, leak: leakMet, registered: registeredMet, all: failuresMet && leakMet && registeredMet },
    detail,
    marks: Object.fromEntries(Object.entries(marks).map(([k, v]) => [k, typeof v === 'number' ? v - fault : v])),
    series: timeline(S, recs, monitor, marks),
  };
}

/**
 * Time a polled thing was not OK: the sum of the intervals that start with a failed poll.
 * @param {{at: number, ok: boolean}[]} polls
 * @param {number} everyMs
 */
function unavailableMs(polls, everyMs) {
  let ms = 0;
  for (let k = 0; k < polls.length; k++) if (!polls[k].ok) ms += (polls[k + 1]?.at ?? polls[k].at + everyMs) - polls[k].at;
  return ms;
}

/**
 * For the charts, with t in seconds from the fault's start: failures per second (by the time they
 * happened, 500 ms buckets), and at each registry poll Σ gateway slots (inflight), Σ active, and
 * what the load generator had in flight then.
 * @param {FaultSettings} S
 * @param {any[]} recs
 * @param {ReturnType<typeof startMonitor>} monitor
 * @param {Record<string, any>} marks
 */
function timeline(S, recs, monitor, marks) {
  const f = marks.faultAt;
  const from = marks.loadStart;
  const to = marks.rest;
  const bucket = 500;
  const n = Math.max(1, Math.ceil((to - from) / bucket));
  const failed = new Array(n).fill(0);
  const ok = new Array(n).fill(0);
  for (const r of recs) {
    const k = Math.floor((r.endAt - from) / bucket);
    if (k >= 0 && k < n) (r.ok ? ok : failed)[k]++;
  }
  const rates = failed.map((x, k) => ({ t: (from + k * bucket - f) / 1000, failedPerSec: (x * 1000) / bucket, okPerSec: (ok[k] * 1000) / bucket }));
  // In flight at time t, from the records (sorted sweeps would be faster; a few thousand records are fine).
  const starts = recs.map((r) => r.sentAt).sort((a, b) => a - b);
  const ends = recs.map((r) => r.endAt).sort((a, b) => a - b);
  /** @param {number[]} xs @param {number} t  count of xs <= t */
  const upTo = (xs, t) => {
    let lo = 0;
    let hi = xs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (xs[mid] <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const counts = monitor.polls
    .filter((p) => p.at >= from && p.at <= to)
    .map((p) => {
      const inFlight = upTo(starts, p.at) - upTo(ends, p.at);
      if (!p.backends) return { t: (p.at - f) / 1000, slots: null, active: null, clientInFlight: inFlight };
      const slots = p.backends.reduce((s, b) => s + (Number(b.inflight) || 0), 0);
      const active = p.backends.reduce((s, b) => s + (Number(b.active) || 0), 0);
      return { t: (p.at - f) / 1000, slots, active, clientInFlight: inFlight, listed: p.backends.length, registered: registeredOf(p.backends) };
    });
  return { rates, counts: thin(counts, 400) };
}

/** @template T @param {T[]} xs @param {number} n */
function thin(xs, n) {
  if (xs.length <= n) return xs;
  const step = xs.length / n;
  return Array.from({ length: n }, (_, k) => xs[Math.floor(k * step)]);
}

/** One progress line for a finished step. @param {any} r */
function oneLine(r) {
  const kinds = Object.entries(r.failedByKind ?? {}).map(([k, v]) => `${v} × ${k}`).join(', ');
  return `${r.sent} sent, ${r.failed} failed${kinds ? ` (${kinds})` : ''}; exact ${r.exactMs === null ? 'never (in the cap)' : `after ${(r.exactMs / 1000).toFixed(1)} s`}; at rest Σ active ${r.rest?.sumActive}, registered ${r.rest?.registered}; goals ${r.met?.all ? 'met' : 'NOT met'}${r.error ? `; step failed: ${r.error}` : ''}`;
}

// ------------------------------------------------------------------ build identification

/**
 * Which build the figures are of: per app, a hash and the time of dist/apps/<app>/main.js, and
 * which of the issue-9 settings it reads (a variable name that does not occur in the bundle is not
 * read by it).
 * @param {string} root
 */
export function buildInfo(root) {
  const FEATURES = ['STORE_TIMEOUT_MS', 'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_PASSWORD'];
  /** @type {Record<string, {sha256: string, builtAt: string, features: string[]}>} */
  const apps = {};
  for (const app of ['gateway', 'registry', 'backend-sim']) {
    const p = join(root, 'dist/apps', app, 'main.js');
    const text = readFileSync(p, 'utf8');
    apps[app] = {
      sha256: createHash('sha256').update(text).digest('hex').slice(0, 12),
      builtAt: statSync(p).mtime.toISOString().replace('T', ' ').slice(0, 19),
      features: FEATURES.filter((f) => text.includes(f)),
    };
  }
  return { apps };
}
