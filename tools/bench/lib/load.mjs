// Runs the load generators: wrk for closed-loop keep-alive load (falls back to the Node generator
// in loadgen.mjs when wrk is missing), and loadgen.mjs / sessions-client.mjs as child processes.
import { writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { log } from './log.mjs';
import { startChild } from './procs.mjs';

const here = dirname(fileURLToPath(import.meta.url));
let seq = 0;

/**
 * @typedef {object} ClosedResult
 * @property {string} tool
 * @property {number} requests
 * @property {number} rps
 * @property {number} p50   ms
 * @property {number} p99   ms
 * @property {number} [mean]
 * @property {number} errors  socket errors + non-2xx/3xx answers
 * @property {string} [raw]
 */

/**
 * Closed-loop keep-alive load: `wrk -t1 -c<connections> -d<seconds>s --latency <url>` (one wrk
 * thread keeps the generator to about one core), or the Node fallback with the same shape.
 * @param {import('./stack.mjs').BenchContext} ctx
 * @param {{url: string, connections: number, seconds: number, label: string}} o
 * @returns {Promise<ClosedResult>}
 */
export async function closedLoop(ctx, o) {
  if (ctx.tools.wrk) {
    const child = startChild(`wrk-${o.label}`, 'wrk', ['-t1', `-c${o.connections}`, `-d${o.seconds}s`, '--timeout', '10s', '--latency', o.url], {
      logFile: join(ctx.logs, `wrk-${++seq}-${o.label}.log`),
    });
    let out = '';
    child.proc.stdout?.on('data', (c) => (out += c));
    const { code } = await child.exited;
    if (code !== 0) throw new Error(`wrk exited ${code}: ${child.tail.slice(-400)}`);
    return parseWrk(out);
  }
  const res = await runChildJson(ctx, `loadgen-closed-${o.label}`, join(here, '..', 'loadgen.mjs'), {
    mode: 'closed',
    url: o.url,
    connections: o.connections,
    durationMs: o.seconds * 1000,
    hardDeadlineMs: o.seconds * 1000 + 30_000,
  });
  return res;
}

/**
 * @param {string} text  wrk's stdout with --latency
 * @returns {ClosedResult}
 */
export function parseWrk(text) {
  const toMs = (/** @type {string} */ v, /** @type {string} */ unit) => Number(v) * ({ us: 0.001, ms: 1, s: 1000, m: 60000 }[unit] ?? 1);
  const lat = (/** @type {string} */ p) => {
    const m = text.match(new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm'));
    return m ? toMs(m[1], m[2]) : NaN;
  };
  const avg = text.match(/Latency\s+([\d.]+)(us|ms|s)/);
  const reqs = Number(text.match(/(\d+) requests in/)?.[1] ?? NaN);
  const rps = Number(text.match(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? NaN);
  const sock = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const non2xx = Number(text.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  const socketErrors = sock ? sock.slice(1).reduce((s, x) => s + Number(x), 0) : 0;
  return {
    tool: 'wrk',
    requests: reqs,
    rps,
    p50: lat('50'),
    p99: lat('99'),
    mean: avg ? toMs(avg[1], avg[2]) : NaN,
    errors: socketErrors + non2xx,
    raw: text,
  };
}

/**
 * Runs a bench child (loadgen.mjs or sessions-client.mjs) with a JSON spec file; forwards its
 * progress lines; resolves with the JSON it wrote. `onMessage` sees every JSON line; `control`
 * gets a function that writes a line to the child's stdin.
 * @param {import('./stack.mjs').BenchContext} ctx
 * @param {string} label
 * @param {string} script
 * @param {Record<string, any>} spec
 * @param {{nofile?: number, onMessage?: (m: any) => void, control?: (send: (line: string) => void) => void, quietProgress?: boolean}} [opts]
 */
export async function runChildJson(ctx, label, script, spec, opts = {}) {
  const dir = join(ctx.scratch, 'tmp');
  mkdirSync(dir, { recursive: true });
  const n = ++seq;
  const specPath = join(dir, `${n}-${label}.spec.json`);
  const resultPath = join(dir, `${n}-${label}.result.json`);
  writeFileSync(specPath, JSON.stringify(spec));
  const child = startChild(label, process.execPath, [script, specPath, resultPath], {
    logFile: join(ctx.logs, `${label}.log`),
    nofile: opts.nofile,
    stdin: true,
  });
  opts.control?.((line) => child.proc.stdin?.write(`${line}\n`));
  let buf = '';
  child.proc.stdout?.on('data', (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      if (msg.type === 'progress' && !opts.quietProgress) {
        const { type, ...rest } = msg;
        log(`  ${label}:`, Object.entries(rest).map(([k, v]) => `${k}=${v}`).join(' '));
      } else if (msg.type === 'error') log(`  ${label}: ${msg.message}`);
      opts.onMessage?.(msg);
    }
  });
  const { code } = await child.exited;
  if (code !== 0) throw new Error(`${label} exited ${code}: ${child.tail.slice(-600)}`);
  return JSON.parse(readFileSync(resultPath, 'utf8'));
}
