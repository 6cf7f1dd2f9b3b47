// Closed-loop latency at low load: a few keep-alive node:http connections, each sending its next
// GET as soon as the previous answer has ended, every request timed with performance.now()
// (sub-microsecond; wrk's percentiles are too coarse for the tens of microseconds a proxy adds).
// `latencyLoop` runs it as a child process of its own (this file), so that the orchestrator's
// timers (registry beats, /proc polling) never delay a sample.
import http from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runChildJson } from './load.mjs';
import { pct } from './stats.mjs';

/**
 * @typedef {object} LatencyResult
 * @property {string} tool
 * @property {number} requests   answered with 2xx/3xx in the window
 * @property {number} errors     socket errors + answers >= 400
 * @property {number} rps
 * @property {number} mean  ms
 * @property {number} min   ms
 * @property {number} p50   ms
 * @property {number} p90   ms
 * @property {number} p99   ms
 * @property {number} p999  ms
 * @property {number} max   ms
 */

/**
 * Runs the loop in this process: `connections` workers for `seconds`, each timing one request at
 * a time from before `http.get` until the end of the response body.
 * @param {{url: string, connections: number, seconds: number}} o
 * @returns {Promise<LatencyResult>}
 */
export async function measureLatency(o) {
  const u = new URL(o.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
  const options = { agent, host: u.hostname, port: u.port, path: `${u.pathname}${u.search}` };
  /** @returns {Promise<{ms: number, ok: boolean}>} */
  const timedGet = () =>
    new Promise((resolve) => {
      const t = performance.now();
      http
        .get(options, (res) => {
          res.on('end', () => resolve({ ms: performance.now() - t, ok: (res.statusCode ?? 0) < 400 }));
          res.resume();
        })
        .on('error', () => resolve({ ms: performance.now() - t, ok: false }));
    });
  /** @type {number[]} */
  const ms = [];
  let errors = 0;
  const end = performance.now() + o.seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const r = await timedGet();
      if (r.ok) ms.push(r.ms);
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: o.connections }, worker));
  agent.destroy();
  ms.sort((a, b) => a - b);
  return {
    tool: `node:http keep-alive closed loop, ${o.connections} connections, performance.now() per request`,
    requests: ms.length,
    errors,
    rps: ms.length / o.seconds,
    mean: ms.reduce((a, b) => a + b, 0) / (ms.length || 1),
    min: ms[0] ?? NaN,
    p50: pct(ms, 50),
    p90: pct(ms, 90),
    p99: pct(ms, 99),
    p999: pct(ms, 99.9),
    max: ms[ms.length - 1] ?? NaN,
  };
}

/**
 * The loop in a child process (this file), results as JSON.
 * @param {import('./stack.mjs').BenchContext} ctx
 * @param {{url: string, connections: number, seconds: number, label: string}} o
 * @returns {Promise<LatencyResult>}
 */
export function latencyLoop(ctx, o) {
  const spec = { url: o.url, connections: o.connections, seconds: o.seconds, hardDeadlineMs: o.seconds * 1000 + 30_000 };
  return runChildJson(ctx, o.label, fileURLToPath(import.meta.url), spec, { quietProgress: true });
}

// As a child: `node latency-loop.mjs <spec.json> <result.json>`.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [specPath, resultPath] = process.argv.slice(2);
  const spec = JSON.parse(readFileSync(specPath, 'utf8'));
  setTimeout(() => process.exit(3), spec.hardDeadlineMs).unref();
  writeFileSync(resultPath, JSON.stringify(await measureLatency(spec)));
  process.exit(0);
}
