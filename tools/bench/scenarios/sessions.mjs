// Scenario 5, sessions (issue 3): 10,000 concurrent WebSockets through ONE gateway (ours, Redis)
// onto 3 backends, opened at a bounded rate by a separate client process, held, then closed.
// Gateway RSS before and at peak (/proc/<pid>/status VmRSS), memory per session, setup rate, errors.
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChildJson } from '../lib/load.mjs';
import { cpuSeconds, machineShare, snapshot } from '../lib/cpu.mjs';
import { heading, log } from '../lib/log.mjs';
import { sleep, waitUntil } from '../lib/net.mjs';
import { detectSessionKind, describeKind } from '../lib/session-kind.mjs';
import { summary } from '../lib/stats.mjs';
import { withCleanup } from '../lib/util.mjs';
import { rssKiB, sharedCore, startBackend, startGateway, waitRegistered, waitRoutable } from '../lib/stack.mjs';

const POOL = 'sessions';
const client = join(dirname(fileURLToPath(import.meta.url)), '..', 'sessions-client.mjs');

/** @param {import('../lib/stack.mjs').BenchContext & {sessions?: number|null, machineNofile?: number}} ctx */
export async function runSessions(ctx) {
  const wanted = ctx.sessions ?? (ctx.quick ? 300 : 10_000);
  const hard = await hardNofile();
  const nofile = Math.min(65_536, hard);
  // The gateway holds two sockets per session (client side and backend side) plus ~100 others.
  const fit = Math.floor((nofile - 200) / 2);
  const count = Math.min(wanted, fit);
  const limitNote =
    count < wanted
      ? `asked for ${wanted} sessions, ran ${count}: the gateway needs 2 file descriptors per session (client + upstream socket) and this machine's hard limit is ${hard} (ulimit -n 65536 is refused: no CAP_SYS_RESOURCE), so ${wanted} would need ${2 * wanted + 200}`
      : null;
  const rate = ctx.quick ? 500 : 1000;
  const holdMs = ctx.quick ? 1_000 : 10_000;
  heading(`scenario 5: sessions (${count} concurrent sessions through one gateway, opened at ${rate}/s, held ${holdMs / 1000} s)`);
  if (limitNote) log(`note: ${limitNote}`);
  return withCleanup(async (stops) => {
    const { redis, registry, token, prefix } = await sharedCore(ctx);
    const backends = await Promise.all([1, 2, 3].map((i) => startBackend(ctx, { id: `sess-${i}`, pool: POOL, registryUrl: registry.url, token, redisUrl: redis.url, prefix, nofile })));
    for (const b of backends) stops.push(b.stop);
    await waitRegistered(registry.url, POOL, backends.map((b) => b.id));
    const kind = await detectSessionKind(backends[0].url);
    log(`session kind: ${describeKind(kind)}`);
    const gateway = await startGateway(ctx, { name: 'sess-gw', redisUrl: redis.url, prefix, pool: POOL, nofile });
    stops.push(gateway.stop);
    await waitRoutable(gateway.url);
    const pid = gateway.child.pid;
    const sessionHoldMs = 120_000; // for long-poll kinds: longer than the whole run

    // Warm-up (code paths, pools, JIT) so that "before" is the idle gateway, not a cold one.
    const warm = Math.min(ctx.quick ? 100 : 200, count);
    await runChildJson(ctx, 'sess-warmup', client, { urls: [gateway.url], kind, holdMs: sessionHoldMs, count: warm, ratePerSec: 400, echo: kind === 'ws', closeAfterMs: 300, setupTimeoutMs: 10_000, hardDeadlineMs: 60_000 }, { nofile, quietProgress: true });
    await waitUntil('backends idle after warm-up', async () => (await Promise.all(backends.map((b) => b.info()))).every((i) => i.active === 0), 30_000, 200);
    await sleep(2_000);
    const before = await rssKiB(pid);
    log(`gateway pid ${pid}: VmRSS before ${before.rss} KiB`);

    /** @type {{at: number, rss: number}[]} */
    const rssSeries = [];
    const sampler = setInterval(async () => {
      try {
        rssSeries.push({ at: Date.now(), rss: (await rssKiB(pid)).rss });
      } catch {
        /* gateway gone */
      }
    }, 200);
    /** @type {(line: string) => void} */
    let send = () => undefined;
    /** @type {any} */
    let atPeak = null;
    const cpu0 = snapshot();
    const raw = await runChildJson(
      ctx,
      'sess-client',
      client,
      { urls: [gateway.url], kind, holdMs: sessionHoldMs, count, ratePerSec: rate, echo: kind === 'ws', setupTimeoutMs: 15_000, hardDeadlineMs: (count / rate) * 1000 + holdMs + 90_000, progressEveryMs: ctx.quick ? 1_000 : 2_000 },
      {
        nofile,
        control: (s) => (send = s),
        onMessage: (m) => {
          if (m.type === 'all-open') {
            log(`  all sessions attempted: ${m.open} open, ${m.failed} failed; holding ${holdMs / 1000} s`);
            setTimeout(async () => {
              atPeak = {
                rss: await rssKiB(pid).catch(() => null),
                backends: await Promise.all(backends.map((b) => b.info().then((i) => ({ id: b.id, active: i.active })).catch(() => null))),
              };
              send('close');
            }, holdMs);
          }
        },
      },
    );
    clearInterval(sampler);
    const cpu1 = snapshot();
    const cpu = { gatewaySeconds: cpuSeconds(cpu0, cpu1, [pid]), clientSeconds: 0, ...machineShare(cpu0, cpu1) };
    await waitUntil('backends idle after close', async () => (await Promise.all(backends.map((b) => b.info()))).every((i) => i.active === 0), 30_000, 200).catch((e) => log(`  ${e.message}`));
    await sleep(1_000);
    const after = await rssKiB(pid);
    const backendsAfter = await Promise.all(backends.map((b) => b.info().then((i) => ({ id: b.id, active: i.active }))));
    // Peak while the sessions are held (until the client starts closing them); closing allocates
    // too (close frames, timers, garbage not yet collected), reported separately.
    const peakRss = Math.max(...rssSeries.filter((s) => s.at <= raw.closeStart).map((s) => s.rss), atPeak?.rss?.rss ?? 0);
    const peakOverall = Math.max(peakRss, ...rssSeries.map((s) => s.rss), after.rss);
    const ix = Object.fromEntries(raw.columns.map((/** @type {string} */ c, /** @type {number} */ i) => [c, i]));
    /** @type {Record<string, number>} */
    const perBackend = {};
    for (const s of raw.sessions) if (s[ix.backendId] && !s[ix.error]) perBackend[s[ix.backendId]] = (perBackend[s[ix.backendId]] ?? 0) + 1;
    const setup = summary(raw.sessions.filter((/** @type {any[]} */ s) => s[ix.setupMs] !== null).map((/** @type {any[]} */ s) => s[ix.setupMs]));
    const setupSeconds = (raw.lastOpenAt - raw.t0) / 1000;
    const result = {
      scenario: 'sessions',
      settings: { wanted, count, rate, holdMs, kind, nofile, hardNofile: hard, limitNote, warmup: warm, gatewayPid: pid },
      opened: raw.opened,
      openAtPeak: raw.openBeforeClose,
      failed: raw.failed,
      lost: raw.lost,
      echoed: raw.echoed,
      errorKinds: raw.errorKinds,
      errors: raw.failed + raw.lost,
      rssBeforeKiB: before.rss,
      rssPeakKiB: peakRss,
      rssPeakOverallKiB: peakOverall,
      rssAfterCloseKiB: after.rss,
      hwmKiB: after.hwm,
      perSessionKiB: (peakRss - before.rss) / Math.max(1, raw.openBeforeClose),
      setupRate: raw.opened / setupSeconds,
      setupSeconds,
      setupMs: setup,
      perBackend,
      backendsAtPeak: atPeak?.backends ?? null,
      backendsAfterClose: backendsAfter,
      closeSeconds: (raw.closeEnd - raw.closeStart) / 1000,
      stillOpenAfterClose: raw.stillOpenAfterClose,
      rssSeries: rssSeries.map((s) => ({ t: s.at - raw.t0, rss: s.rss })),
      cpu,
    };
    log(
      `  ${raw.opened}/${count} opened, ${result.errors} errors; gateway RSS ${before.rss} -> ${peakRss} KiB (${result.perSessionKiB.toFixed(1)} KiB/session), after close ${after.rss} KiB; ` +
        `setup ${result.setupRate.toFixed(0)}/s, p50 ${setup.p50} ms p99 ${setup.p99} ms; per backend ${JSON.stringify(perBackend)}`,
    );
    return result;
  });
}

/** The hard limit on open files for children of this process. */
async function hardNofile() {
  const { execFileSync } = await import('node:child_process');
  try {
    const v = execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
    return v === 'unlimited' ? 1_048_576 : Number(v);
  } catch {
    return 1024;
  }
}
