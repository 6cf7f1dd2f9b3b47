#!/usr/bin/env node
// Load generator, run as its own process so that it never shares an event loop with the
// orchestrator: `node tools/bench/loadgen.mjs <spec.json> <result.json>`.
//
// Modes (spec.mode):
// - "closed": N keep-alive connections, each sends its next request when the previous answer
//   arrived (the wrk model; used when wrk is not installed).
// - "open": arrivals on a fixed schedule (request i of a stream is due at i / rate seconds),
//   independent of answers; latency is measured from the scheduled send time, so a stalled
//   balancer is charged for the requests that waited behind it (no coordinated omission). Several
//   streams can run at once (the balanced load, round robin over instances, and a bypass stream
//   straight to one backend). Backends' /info is snapshotted when arrivals start and stop, and
//   sampled every 250 ms. With spec.stopOnStdin, a "stop" line on stdin ends the arrivals early (the
//   durations list is then only an upper bound); with spec.recordErrors, each failed request keeps
//   what failed (problem+json `type | detail`, or the socket error's code) for attribution. A
//   {"type":"started","wallStart":<epoch ms>} line tells when arrival 0 was due.
//
// Progress and the final "done" go to stdout as JSON lines; the results go to <result.json>.
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Pool, request } from 'undici';

const [specPath, resultPath] = process.argv.slice(2);
/** @type {any} */
const spec = JSON.parse(readFileSync(specPath, 'utf8'));
/** Hard stop: whatever happens, this process ends. */
const hardStop = setTimeout(() => {
  emit({ type: 'error', message: 'hard deadline reached' });
  process.exit(3);
}, spec.hardDeadlineMs ?? 120_000);
hardStop.unref();

/** @param {Record<string, unknown>} o */
function emit(o) {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

/** @type {Map<string, Pool>} */
const pools = new Map();
/** @param {string} origin @param {number} connections */
function poolFor(origin, connections) {
  let p = pools.get(origin);
  if (!p) {
    p = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, connectTimeout: 5_000 });
    pools.set(origin, p);
  }
  return p;
}

async function closed() {
  const { url, connections, durationMs, warmupMs = 0 } = spec;
  const u = new URL(url);
  const pool = poolFor(u.origin, connections);
  const path = u.pathname + u.search;
  /** @type {number[]} */
  const lat = [];
  let errors = 0;
  /** @type {Record<string, number>} */
  const statuses = {};
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const end = measureFrom + durationMs;
  let measuredCount = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        const res = await pool.request({ path, method: 'GET', headersTimeout: 10_000, bodyTimeout: 10_000 });
        await res.body.dump();
        const now = performance.now();
        if (t >= measureFrom) {
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          lat.push(now - t);
          measuredCount++;
        }
      } catch {
        if (t >= measureFrom) errors++;
      }
    }
  };
  const ticker = setInterval(() => emit({ type: 'progress', done: measuredCount, elapsedMs: Math.round(performance.now() - start) }), 2_000);
  await Promise.all(Array.from({ length: connections }, worker));
  clearInterval(ticker);
  const seconds = durationMs / 1000;
  lat.sort((a, b) => a - b);
  const at = (/** @type {number} */ p) => lat[Math.min(lat.length - 1, Math.max(0, Math.ceil((p / 100) * lat.length) - 1))];
  return { tool: 'node-closed-loop', requests: measuredCount, rps: measuredCount / seconds, p50: at(50), p99: at(99), mean: lat.reduce((a, b) => a + b, 0) / (lat.length || 1), errors, statuses };
}

/**
 * @typedef {object} StreamSpec
 * @property {string} name
 * @property {string[]} urls        origins, used round robin
 * @property {number} rate          arrivals per second
 * @property {number[]} durations   ?ms= of request i (its length fixes the number of arrivals)
 * @property {string} pathPrefix    e.g. "/work?ms="
 */

async function open() {
  /** @type {StreamSpec[]} */
  const streams = spec.streams;
  /** @type {string[]} */
  const infoUrls = spec.infoUrls ?? [];
  const drainMs = spec.drainMs ?? 30_000;
  const t0 = performance.now() + 200; // a little time to set up
  const wall0 = Date.now() + 200;
  /** One record per request: [stream, i, target, scheduledMs, latencyMs, status, backendId, queueWaitMs, durationMs, endMs, error] */
  /** @type {any[][]} */
  const records = [];
  let inFlight = 0;
  let sent = 0;
  let finished = 0;
  let errors = 0;
  /** @type {Record<string, number>} */
  const errorKinds = {};

  /** @type {{at: number, infos: any[]}[]} */
  const samples = [];
  /** @type {any[]|null} */
  let infoStart = null;
  /** @type {any[]|null} */
  let infoEnd = null;
  let infoStartAt = 0;
  let infoEndAt = 0;
  const readInfos = () =>
    Promise.all(
      infoUrls.map(async (u) => {
        try {
          const r = await request(`${u}/info`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
          return await r.body.json();
        } catch {
          return null;
        }
      }),
    );

  let lastArrivalMs = Math.max(...streams.map((s) => ((s.durations.length - 1) / s.rate) * 1000));
  let stopRequested = false;
  if (spec.stopOnStdin) {
    createInterface({ input: process.stdin }).on('line', (line) => {
      if (line.trim() === 'stop') stopRequested = true;
    });
  }

  /** @param {StreamSpec} s @param {number} si @param {number} i */
  const fire = (s, si, i) => {
    const scheduled = t0 + (i / s.rate) * 1000;
    const origin = s.urls[i % s.urls.length];
    const pool = poolFor(origin, spec.connectionsPerTarget ?? 2048);
    sent++;
    inFlight++;
    const dur = s.durations[i];
    pool
      .request({ path: `${s.pathPrefix}${dur}`, method: 'GET', headersTimeout: drainMs + 60_000, bodyTimeout: drainMs + 60_000, signal: abort.signal })
      .then(async (res) => {
        /** @type {string|null} */
        let error = null;
        if (spec.recordErrors && res.statusCode >= 400) {
          const text = await res.body.text().catch(() => '');
          try {
            const p = JSON.parse(text);
            error = [p.type, p.detail].filter(Boolean).join(' | ').slice(0, 200) || null;
          } catch {
            error = text.slice(0, 80) || null;
          }
        } else await res.body.dump();
        const now = performance.now();
        const qw = res.headers['x-queue-wait-ms'];
        records.push([si, i, i % s.urls.length, scheduled - t0, now - scheduled, res.statusCode, res.headers['x-backend-id'] ?? null, qw === undefined ? null : Number(qw), dur, now - t0, error]);
        if (res.statusCode >= 400) {
          errors++;
          errorKinds[`http ${res.statusCode}`] = (errorKinds[`http ${res.statusCode}`] ?? 0) + 1;
        }
      })
      .catch((/** @type {any} */ err) => {
        const k = abort.signal.aborted ? 'unfinished at drain deadline' : err?.code ?? err?.name ?? 'error';
        if (!abort.signal.aborted) errors++;
        errorKinds[k] = (errorKinds[k] ?? 0) + 1;
        records.push([si, i, i % s.urls.length, scheduled - t0, NaN, 0, null, null, dur, performance.now() - t0, k]);
      })
      .finally(() => {
        inFlight--;
        finished++;
      });
  };

  const abort = new AbortController();
  // Scheduler: wake up, send everything that is due, sleep until the next due time (at most 5 ms).
  const next = streams.map(() => 0);
  await new Promise((r) => setTimeout(r, Math.max(0, t0 - performance.now())));
  emit({ type: 'started', wallStart: Date.now() - Math.round(performance.now() - t0) });
  infoStart = await readInfos();
  infoStartAt = performance.now() - t0;
  const sampler = setInterval(async () => {
    const at = performance.now() - t0;
    samples.push({ at, infos: (await readInfos()).map((x) => (x ? { id: x.id, active: x.active, running: x.running, queued: x.queued } : null)) });
  }, spec.sampleEveryMs ?? 250);
  const progress = setInterval(() => emit({ type: 'progress', sent, finished, inFlight, errors, elapsedMs: Math.round(performance.now() - t0) }), spec.progressEveryMs ?? 5_000);

  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now() - t0;
      if (stopRequested) {
        // Told to stop: no more arrivals; the window ends at the last one sent.
        lastArrivalMs = Math.max(0, ...streams.map((s, si) => ((next[si] - 1) / s.rate) * 1000));
        return resolve(undefined);
      }
      let nextDue = Infinity;
      let remaining = false;
      streams.forEach((s, si) => {
        while (next[si] < s.durations.length && (next[si] / s.rate) * 1000 <= now) {
          fire(s, si, next[si]);
          next[si]++;
        }
        if (next[si] < s.durations.length) {
          remaining = true;
          nextDue = Math.min(nextDue, (next[si] / s.rate) * 1000);
        }
      });
      if (!remaining) return resolve(undefined);
      setTimeout(tick, Math.max(0, Math.min(5, nextDue - now)));
    };
    tick();
  });
  // Arrivals are over: snapshot the backends at the scheduled end of the window.
  const windowEnd = lastArrivalMs + 1000 / Math.max(...streams.map((s) => s.rate));
  const wait = windowEnd - (performance.now() - t0);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  infoEnd = await readInfos();
  infoEndAt = performance.now() - t0;
  emit({ type: 'arrivals-done', sent, inFlight });
  const drainDeadline = performance.now() + drainMs;
  while (inFlight > 0 && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 20));
  const drainedAtMs = performance.now() - t0;
  const unfinished = inFlight;
  if (inFlight > 0) abort.abort();
  clearInterval(sampler);
  clearInterval(progress);
  await new Promise((r) => setTimeout(r, 100));
  return {
    tool: 'node-open-loop',
    wallStart: wall0,
    streams: streams.map((s) => ({ name: s.name, urls: s.urls, rate: s.rate, count: s.durations.length })),
    columns: ['stream', 'i', 'target', 'scheduledMs', 'latencyMs', 'status', 'backendId', 'queueWaitMs', 'durationMs', 'endMs', 'error'],
    records,
    sent,
    errors,
    errorKinds,
    unfinished,
    stoppedEarly: stopRequested,
    drainedAtMs,
    infoStart,
    infoStartAt,
    infoEnd,
    infoEndAt,
    samples,
  };
}

const result = spec.mode === 'closed' ? await closed() : await open();
writeFileSync(resultPath, JSON.stringify(result));
emit({ type: 'done' });
await Promise.all([...pools.values()].map((p) => p.destroy().catch(() => undefined)));
process.exit(0);
