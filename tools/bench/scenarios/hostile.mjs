// Scenario 8, hostile (issue 10, point 4): what a chunked request body sent in 1-byte chunks costs,
// against the same bytes in 64 KiB chunks, as CPU per MiB of request body (from /proc) in:
//   - the gateway and the backend-sim behind it (POST /echo through the gateway: the body goes up,
//     the echo comes back the same way),
//   - the backend-sim alone (the same upload sent to it directly: what a backend pays unprotected),
//   - a bare node:http server that only reads bodies (Node's own HTTP parser, the floor under any
//     Node proxy: it delivers each chunk of a chunked body as its own `data` event).
// A raw TCP client writes the chunked framing itself (prebuilt, in 64 KiB socket writes), so the
// client is never the bottleneck. While the 1-byte uploads run through the gateway, another client
// sends GET /info through the same gateway every 20 ms: the latency others see meanwhile.
import { connect } from 'node:net';
import { join } from 'node:path';
import { cpuSeconds, machineShare, snapshot } from '../lib/cpu.mjs';
import { heading, log } from '../lib/log.mjs';
import { freePort, httpJson, sleep } from '../lib/net.mjs';
import { startChild } from '../lib/procs.mjs';
import { summary } from '../lib/stats.mjs';
import { sharedCore, startBackend, startGateway, waitHttpOk, waitRegistered, waitRoutable } from '../lib/stack.mjs';
import { median, withCleanup } from '../lib/util.mjs';

const POOL = 'hostile';
const MiB = 1024 * 1024;
export const CHUNK_SIZES = [1, 64 * 1024];
/** The goal of issue 10: 1-byte chunks cost at most this many times the CPU of 64 KiB chunks, in the gateway. */
export const GOAL_RATIO = 5;

/** A bare node:http server that reads every body and answers 200: the cost of Node's parser alone. */
const SINK = `require('node:http').createServer((req, res) => { req.on('data', () => {}); req.on('end', () => res.end('ok')); }).listen(Number(process.env.SINK_PORT), '127.0.0.1');`;

/**
 * `bytes` of body as chunks of `chunkBytes` bytes, chunked framing included.
 * @param {number} bytes
 * @param {number} chunkBytes
 */
function chunked(bytes, chunkBytes) {
  const data = Buffer.alloc(chunkBytes, 0x61);
  const frame = Buffer.concat([Buffer.from(`${chunkBytes.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
  return Buffer.concat([...Array(Math.ceil(bytes / chunkBytes)).fill(frame), Buffer.from('0\r\n\r\n')]);
}

/**
 * POSTs one prebuilt chunked body on its own connection and reads the answer until the server
 * closes; resolves with the status.
 * @param {number} port
 * @param {string} path
 * @param {Buffer} body
 * @returns {Promise<number>}
 */
function upload(port, path, body) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let head = '';
    socket.once('connect', () => {
      socket.write(`POST ${path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`);
      let at = 0;
      const pump = () => {
        while (at < body.length) {
          const ok = socket.write(body.subarray(at, at + 64 * 1024));
          at += 64 * 1024;
          if (!ok) return void socket.once('drain', pump);
        }
      };
      pump();
    });
    socket.on('data', (d) => {
      if (head.length < 16) head += d.toString('latin1', 0, 16);
    });
    socket.once('error', reject);
    socket.once('close', () => resolve(Number(head.split(' ')[1]) || 0));
  });
}

/**
 * Sends GET `url` every `everyMs` until stopped; returns the latencies (ms) and failures.
 * @param {string} url
 * @param {number} everyMs
 */
function probe(url, everyMs) {
  /** @type {number[]} */
  const latencies = [];
  let failures = 0;
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const t = performance.now();
      const r = await httpJson(url, { timeoutMs: 30_000 }).catch(() => ({ status: 0 }));
      if (r.status === 200) latencies.push(performance.now() - t);
      else failures++;
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      return { ...summary(latencies), failures };
    },
  };
}

/** @param {import('../lib/stack.mjs').BenchContext} ctx */
export async function runHostile(ctx) {
  /** MiB per measurement: enough CPU to read from /proc (10 ms ticks), short enough for a smoke run. */
  const mib = { 1: ctx.quick ? 1 : 2, [64 * 1024]: ctx.quick ? 64 : 128 };
  const rounds = ctx.quick ? 1 : 3;
  heading('scenario 8: hostile input: CPU per MiB of request body in 1-byte vs 64 KiB chunks');
  return withCleanup(async (stops) => {
    const { redis, registry, token, prefix } = await sharedCore(ctx);
    const backend = await startBackend(ctx, { id: 'hostile-1', pool: POOL, registryUrl: registry.url, token, redisUrl: redis.url, prefix });
    stops.push(backend.stop);
    await waitRegistered(registry.url, POOL, [backend.id]);
    const gateway = await startGateway(ctx, { name: 'hostile-gw', redisUrl: redis.url, prefix, pool: POOL });
    stops.push(gateway.stop);
    await waitRoutable(gateway.url);
    const sinkPort = await freePort();
    const sink = startChild('hostile-sink', process.execPath, ['-e', SINK], { env: { PATH: process.env.PATH ?? '', SINK_PORT: String(sinkPort) }, logFile: join(ctx.logs, 'hostile-sink.log') });
    stops.push(() => sink.stop());
    await waitHttpOk(sink, `http://127.0.0.1:${sinkPort}/`, 10_000);

    const targets = [
      { name: 'gateway', port: gateway.port, path: '/echo', pids: { gateway: gateway.child.pid, backend: backend.child.pid } },
      { name: 'backend', port: backend.port, path: '/echo', pids: { backend: backend.child.pid } },
      { name: 'node-floor', port: sinkPort, path: '/', pids: { node: sink.pid } },
    ];
    const bodies = Object.fromEntries(CHUNK_SIZES.map((chunk) => [chunk, chunked(MiB, chunk)]));
    for (const t of targets) for (const chunk of CHUNK_SIZES) await upload(t.port, t.path, chunked(64 * 1024, chunk)); // warm-up (JIT, connections)
    /** @type {any[]} */
    const runs = [];
    for (let round = 1; round <= rounds; round++) {
      for (const t of targets) {
        for (const chunk of CHUNK_SIZES) {
          const watcher = t.name === 'gateway' && chunk === 1 ? probe(`${gateway.url}/info`, 20) : undefined;
          const cpu0 = snapshot();
          const t0 = performance.now();
          const statuses = new Set();
          for (let i = 0; i < mib[chunk]; i++) statuses.add(await upload(t.port, t.path, bodies[chunk]));
          const seconds = (performance.now() - t0) / 1000;
          const cpu1 = snapshot();
          const others = await watcher?.stop();
          /** @type {Record<string, number>} */
          const cpuMsPerMiB = {};
          for (const [who, pid] of Object.entries(t.pids)) cpuMsPerMiB[who] = (cpuSeconds(cpu0, cpu1, [pid]) * 1000) / mib[chunk];
          const run = { round, target: t.name, chunkBytes: chunk, mib: mib[chunk], seconds, statuses: [...statuses], cpuMsPerMiB, othersLatencyMs: others, foreignCores: machineShare(cpu0, cpu1).foreignCores };
          runs.push(run);
          log(
            `  round ${round} ${t.name.padEnd(10)} ${String(chunk).padStart(5)}-byte chunks: ${Object.entries(cpuMsPerMiB).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(', ')} CPU per MiB; ${mib[chunk]} MiB in ${seconds.toFixed(1)} s, status ${run.statuses.join('/')}` +
              (others ? `; others' GET /info: p50 ${others.p50.toFixed(1)} ms, max ${others.max.toFixed(1)} ms, ${others.failures} failed` : ''),
          );
        }
      }
    }
    // Median over rounds, per target, chunk size and process.
    const medians = targets.flatMap((t) =>
      CHUNK_SIZES.map((chunk) => {
        const rs = runs.filter((r) => r.target === t.name && r.chunkBytes === chunk);
        const latencies = rs.map((r) => r.othersLatencyMs).filter(Boolean);
        return {
          target: t.name,
          chunkBytes: chunk,
          cpuMsPerMiB: Object.fromEntries(Object.keys(t.pids).map((who) => [who, median(rs.map((r) => r.cpuMsPerMiB[who]))])),
          mibPerSecond: median(rs.map((r) => r.mib / r.seconds)),
          othersLatencyMs: latencies.length ? { p50: median(latencies.map((l) => l.p50)), max: Math.max(...latencies.map((l) => l.max)), failures: latencies.reduce((n, l) => n + l.failures, 0) } : undefined,
          statuses: [...new Set(rs.flatMap((r) => r.statuses))],
          foreignCores: Math.max(...rs.map((r) => r.foreignCores)),
        };
      }),
    );
    const cpu = (/** @type {string} */ target, /** @type {number} */ chunk, /** @type {string} */ who) => medians.find((r) => r.target === target && r.chunkBytes === chunk)?.cpuMsPerMiB[who] ?? NaN;
    const ratio = cpu('gateway', 1, 'gateway') / cpu('gateway', 64 * 1024, 'gateway');
    const floorShare = cpu('node-floor', 1, 'node') / cpu('gateway', 1, 'gateway');
    log(`  gateway CPU per MiB, 1-byte / 64 KiB chunks = ${ratio.toFixed(1)}x (goal <= ${GOAL_RATIO}x); Node's parser alone is ${(floorShare * 100).toFixed(0)} % of the gateway's 1-byte figure`);
    return {
      scenario: 'hostile',
      settings: { chunkSizes: CHUNK_SIZES, mib, rounds, path: '/echo', client: 'raw TCP, prebuilt chunked framing written in 64 KiB socket writes, one connection per MiB, sequential', probe: 'GET /info through the gateway every 20 ms during the 1-byte uploads' },
      runs,
      summary: medians,
      ratio,
      floorShare,
    };
  });
}
