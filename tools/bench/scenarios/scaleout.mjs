// Scenario 4, scale-out: long-lived sessions opened at a steady rate onto 3 backends; then a 4th
// backend starts and more sessions open. Ours: the 4th registers itself. nginx / HAProxy: their
// config is rewritten with the 4th and gracefully reloaded as soon as it answers (as an operator's
// template-and-reload loop would). How many of the next sessions does the 4th get, and how long
// until max/mean of sessions per backend <= 1.1?
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChildJson } from '../lib/load.mjs';
import { heading, log } from '../lib/log.mjs';
import { freePort, httpJson, waitUntil } from '../lib/net.mjs';
import { detectSessionKind, describeKind } from '../lib/session-kind.mjs';
import { maxOverMean } from '../lib/stats.mjs';
import { withCleanup } from '../lib/util.mjs';
import { sharedCore, startBackend, startGateway, startHaproxy, startNginx, waitRegistered, waitRoutable } from '../lib/stack.mjs';

const client = join(dirname(fileURLToPath(import.meta.url)), '..', 'sessions-client.mjs');
const EVEN = 1.1;
const POOL = 'scale';

/** @param {import('../lib/stack.mjs').BenchContext} ctx */
export async function runScaleOut(ctx) {
  const rate = 20;
  const phaseSeconds = ctx.quick ? 2 : 15;
  const phase2Seconds = ctx.quick ? 2.5 : 15;
  const phase1 = rate * phaseSeconds;
  const total = phase1 + rate * phase2Seconds;
  heading(`scenario 4: scale-out (${rate} sessions/s: ${phase1} onto 3 backends, then a 4th joins, ${total - phase1} more)`);
  return withCleanup(async (stops) => {
    const { redis, registry, token, prefix } = await sharedCore(ctx);
    const common = { pool: POOL, registryUrl: registry.url, token, redisUrl: redis.url, prefix };
    const backends = await Promise.all([1, 2, 3].map((i) => startBackend(ctx, { id: `scale-${i}`, ...common })));
    for (const b of backends) stops.push(b.stop);
    await waitRegistered(registry.url, POOL, backends.map((b) => b.id));
    const fourthPort = await freePort();
    const fourthUrl = `http://127.0.0.1:${fourthPort}`;
    const kind = await detectSessionKind(backends[0].url);
    const holdMs = (phaseSeconds + phase2Seconds + 30) * 1000;
    log(`session kind: ${describeKind(kind)}`);
    const gateway = await startGateway(ctx, { name: 'scale-gw-1', redisUrl: redis.url, prefix, pool: POOL });
    stops.push(gateway.stop);
    await waitRoutable(gateway.url);

    /** @type {any[]} */
    const runs = [];
    const targets = ['ours', ...(ctx.tools.nginx ? ['nginx'] : []), ...(ctx.tools.haproxy ? ['haproxy'] : [])];
    for (const target of targets) {
      await waitUntil('backends idle', async () => (await Promise.all(backends.map((b) => b.info()))).every((i) => i.active === 0), 60_000, 200);
      /** @type {{url: string, reload?: (b: string[]) => Promise<void>, stop?: () => Promise<void>}} */
      let lb = { url: gateway.url };
      if (target === 'nginx') lb = await startNginx(ctx, { name: `scale-nginx-${runs.length}`, backends: backends.map((b) => b.url) });
      if (target === 'haproxy') lb = await startHaproxy(ctx, { name: `scale-haproxy-${runs.length}`, backends: backends.map((b) => b.url) });
      await waitRoutable(lb.url);
      log(`run ${target}: ${phase1} sessions, then the 4th backend, then ${total - phase1} more`);

      /** @type {{at: number, counts: Record<string, number>}[]} */
      const samples = [];
      const infoUrls = [...backends.map((b) => b.url), fourthUrl];
      const ids = [...backends.map((b) => b.id), 'scale-4'];
      const sampler = setInterval(async () => {
        const at = Date.now();
        const infos = await Promise.all(infoUrls.map((u) => httpJson(`${u}/info`, { timeoutMs: 1_000 }).then((r) => r.body).catch(() => null)));
        samples.push({ at, counts: Object.fromEntries(ids.map((id, i) => [id, infos[i]?.active ?? 0])) });
      }, 200);

      /** @type {any} */
      let fourth = null;
      /** @type {Record<string, number|null>} */
      const marks = { join: null, fourthListening: null, fourthVisible: null };
      /** @type {(line: string) => void} */
      let send = () => undefined;
      /** @type {Promise<void>|null} */
      let joining = null;
      const raw = await runChildJson(
        ctx,
        `scale-${target}`,
        client,
        { urls: [lb.url], kind, holdMs, count: total, ratePerSec: rate, markAt: phase1, echo: kind === 'ws', setupTimeoutMs: 10_000, hardDeadlineMs: holdMs + 60_000, progressEveryMs: ctx.quick ? 2_000 : 5_000 },
        {
          nofile: 4096,
          control: (s) => (send = s),
          onMessage: (m) => {
            if (m.type === 'mark') {
              marks.join = Date.now();
              joining = (async () => {
                fourth = await startBackend(ctx, { id: 'scale-4', port: fourthPort, ...common });
                marks.fourthListening = Date.now();
                if (target === 'ours') {
                  await waitRegistered(registry.url, POOL, ['scale-4'], 15_000);
                } else {
                  await /** @type {any} */ (lb).reload(infoUrls);
                }
                marks.fourthVisible = Date.now();
                log(`  4th backend listening after ${marks.fourthListening - marks.join} ms, ${target === 'ours' ? 'registered' : 'peer reloaded'} after ${marks.fourthVisible - marks.join} ms`);
              })().catch((err) => log(`  4th backend failed: ${err.message}`));
            }
            if (m.type === 'all-open') setTimeout(() => send('close'), ctx.quick ? 300 : 1_000);
          },
        },
      );
      await joining;
      clearInterval(sampler);
      const analysis = analyseScaleOut(raw, samples, ids, /** @type {number} */ (marks.join), /** @type {number} */ (marks.fourthVisible ?? marks.join), phase1);
      runs.push({ target, kind, marks, ...analysis, raw: { opened: raw.opened, failed: raw.failed, lost: raw.lost, errorKinds: raw.errorKinds } });
      log(
        `  ${target}: 4th got ${analysis.fourthOfNext20 ?? 'n/a'} of the next 20, ${analysis.fourthOfNextEven ?? 'n/a'} of the next ${analysis.nextEven}, ${analysis.fourthAfterJoin} of ${analysis.openedAfterJoin} opened after it became available; ` +
          `even (max/mean <= ${EVEN}) after ${analysis.timeToEvenMs === null ? 'never' : `${(analysis.timeToEvenMs / 1000).toFixed(1)} s`}; final ${JSON.stringify(analysis.finalCounts)}; errors ${raw.failed}`,
      );
      if (fourth) await /** @type {any} */ (fourth).stop();
      if (lb.stop) await lb.stop();
    }
    return { scenario: 'scaleout', settings: { rate, phaseSeconds, phase2Seconds, phase1, total, kind, holdMs, even: EVEN }, runs };
  });
}

/**
 * Sessions per backend over time, from the client's per-session backend ids when the session kind
 * tells them (WebSocket 101 x-backend-id), else from the backends' own sampled counts.
 * @param {any} raw
 * @param {{at: number, counts: Record<string, number>}[]} samples
 * @param {string[]} ids
 * @param {number} joinAt     the 4th backend's process was started
 * @param {number} visibleAt  it was registered (ours) / the peer was reloaded with it
 * @param {number} phase1
 */
export function analyseScaleOut(raw, samples, ids, joinAt, visibleAt, phase1) {
  const ix = Object.fromEntries(raw.columns.map((/** @type {string} */ c, /** @type {number} */ i) => [c, i]));
  const opened = raw.sessions.filter((/** @type {any[]} */ s) => s[ix.setupMs] !== null && !s[ix.error]).map((/** @type {any[]} */ s) => ({ i: s[ix.i], attempt: s[ix.attemptAt], at: s[ix.attemptAt] + s[ix.setupMs], backend: s[ix.backendId] }));
  const haveIds = opened.length > 0 && opened.every((/** @type {any} */ s) => s.backend);
  const fourth = ids[3];
  const nextEven = Math.round(phase1 / 3); // sessions the 4th must take to catch up with the others
  /** @type {number|null} */
  let fourthOfNext20 = null;
  /** @type {number|null} */
  let fourthOfNextEven = null;
  let timeToEvenMs = null;
  /** @type {Record<string, number>} */
  let finalCounts = {};
  let fourthAfterJoin = 0;
  let openedAfterJoin = 0;
  /** @type {{t: number, ratio: number}[]} */
  const series = [];
  if (haveIds) {
    opened.sort((/** @type {any} */ a, /** @type {any} */ b) => a.at - b.at);
    // "The next sessions": attempted once the 4th could be chosen.
    const after = opened.filter((/** @type {any} */ s) => s.attempt >= visibleAt);
    fourthOfNext20 = after.slice(0, 20).filter((/** @type {any} */ s) => s.backend === fourth).length;
    fourthOfNextEven = after.slice(0, nextEven).filter((/** @type {any} */ s) => s.backend === fourth).length;
    fourthAfterJoin = after.filter((/** @type {any} */ s) => s.backend === fourth).length;
    openedAfterJoin = after.length;
    /** @type {Record<string, number>} */
    const counts = Object.fromEntries(ids.map((id) => [id, 0]));
    for (const s of opened) {
      counts[s.backend] = (counts[s.backend] ?? 0) + 1;
      if (s.at >= joinAt) series.push({ t: s.at - joinAt, ratio: maxOverMean(ids.map((id) => counts[id])) });
    }
    finalCounts = counts;
  } else {
    for (const smp of samples) if (smp.at >= joinAt) series.push({ t: smp.at - joinAt, ratio: maxOverMean(ids.map((id) => smp.counts[id] ?? 0)) });
    const last = samples.filter((s) => s.at <= raw.closeStart).pop();
    finalCounts = last?.counts ?? {};
    openedAfterJoin = opened.filter((/** @type {any} */ s) => s.attempt >= visibleAt).length;
    const atVisible = samples.filter((s) => s.at <= visibleAt).pop();
    fourthAfterJoin = (finalCounts[fourth] ?? 0) - (atVisible?.counts[fourth] ?? 0);
  }
  // Even from the first point after which every later point stays within the bound.
  for (let k = series.length - 1; k >= 0; k--) {
    if (series[k].ratio > EVEN) {
      timeToEvenMs = k === series.length - 1 ? null : series[k + 1].t;
      break;
    }
    if (k === 0) timeToEvenMs = series[0].t;
  }
  return { sessionIds: haveIds, visibleAfterMs: visibleAt - joinAt, nextEven, fourthOfNext20, fourthOfNextEven, fourthAfterJoin, openedAfterJoin, timeToEvenMs, finalCounts, finalRatio: maxOverMean(ids.map((id) => finalCounts[id] ?? 0)), series: thin(series, 200) };
}

/** @template T @param {T[]} xs @param {number} n */
function thin(xs, n) {
  if (xs.length <= n) return xs;
  const step = xs.length / n;
  return Array.from({ length: n }, (_, k) => xs[Math.floor(k * step)]);
}
