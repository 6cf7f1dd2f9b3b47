#!/usr/bin/env node
// Long-lived sessions client, run as its own process (with a raised file limit):
// `node tools/bench/sessions-client.mjs <spec.json> <result.json>`.
//
// Opens `count` sessions at a steady rate (session i is attempted at i / ratePerSec seconds), round
// robin over `urls`, holds them, and closes them all when told ("close" on stdin) or after
// `closeAfterMs`. Kinds:
// - "ws": a WebSocket to /ws (the 101 answer's x-backend-id says where it landed; with `echo`, one
//   text frame must come back);
// - "session" / "work": an HTTP long poll (/session?holdMs=H or /work?ms=H) on its own connection,
//   for backends without /ws (where it landed is only known from the backends' own counts).
// Emits JSON lines on stdout: progress, "mark" (when session `markAt` is attempted), "all-open",
// "closed"; writes per-session records to <result.json>.
import { request as httpRequest } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';

const [specPath, resultPath] = process.argv.slice(2);
/** @type {any} */
const spec = JSON.parse(readFileSync(specPath, 'utf8'));
const hard = setTimeout(() => {
  emit({ type: 'error', message: 'hard deadline reached' });
  process.exit(3);
}, spec.hardDeadlineMs ?? 300_000);
hard.unref();

/** @param {Record<string, unknown>} o */
function emit(o) {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

/**
 * @typedef {object} Session
 * @property {number} i
 * @property {number} attemptAt   wall ms
 * @property {number} [openAt]    wall ms
 * @property {string|null} backendId
 * @property {string|null} error
 * @property {boolean} echoed
 * @property {boolean} closedByUs
 * @property {string|null} lostAt  set when the session ended before we closed it
 * @property {() => void} close
 * @property {Promise<void>} closed
 */

/** @type {Session[]} */
const sessions = [];
let open = 0;
let failed = 0;
let settled = 0;
let lost = 0;
/** @type {Record<string, number>} */
const errorKinds = {};

/** @param {Session} s @param {string} kind */
function fail(s, kind) {
  if (s.error) return;
  s.error = kind;
  errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  failed++;
}

/** @param {number} i @param {string} origin @returns {Session} */
function openWs(i, origin) {
  /** @type {Session} */
  const s = { i, attemptAt: Date.now(), backendId: null, error: null, echoed: false, closedByUs: false, lostAt: null, close: () => undefined, closed: Promise.resolve() };
  const url = `${origin.replace(/^http/, 'ws')}${spec.path ?? '/ws'}`;
  const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: spec.setupTimeoutMs ?? 15_000 });
  let wasOpen = false;
  let isSettled = false;
  const settle = () => {
    if (!isSettled) {
      isSettled = true;
      settled++;
    }
  };
  s.closed = new Promise((resolve) => {
    ws.on('upgrade', (res) => {
      const id = res.headers['x-backend-id'];
      s.backendId = Array.isArray(id) ? id[0] : (id ?? null);
    });
    ws.on('open', () => {
      wasOpen = true;
      s.openAt = Date.now();
      open++;
      if (spec.echo) ws.send(`hello ${i}`);
      else settle();
    });
    ws.on('message', () => {
      if (!s.echoed) {
        s.echoed = true;
        settle();
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      fail(s, `http ${res.statusCode}`);
      res.resume();
      settle();
      ws.terminate();
    });
    ws.on('error', (/** @type {any} */ err) => {
      if (!wasOpen) fail(s, err.code ?? err.message?.slice(0, 60) ?? 'error');
      settle();
    });
    ws.on('close', (code) => {
      if (wasOpen) {
        open--;
        if (!s.closedByUs) {
          s.lostAt = `close ${code}`;
          lost++;
        }
      }
      settle();
      resolve();
    });
  });
  if (spec.echo) {
    setTimeout(() => {
      if (wasOpen && !s.echoed && !s.closedByUs) {
        fail(s, 'no echo within 10 s');
        settle();
      }
    }, 10_000 + (spec.setupTimeoutMs ?? 15_000)).unref();
  }
  s.close = () => {
    s.closedByUs = true;
    if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'bench done');
    else ws.terminate();
    setTimeout(() => ws.terminate(), 5_000).unref();
  };
  return s;
}

/** @param {number} i @param {string} origin @returns {Session} */
function openHttp(i, origin) {
  /** @type {Session} */
  const s = { i, attemptAt: Date.now(), backendId: null, error: null, echoed: false, closedByUs: false, lostAt: null, close: () => undefined, closed: Promise.resolve() };
  const u = new URL(origin);
  const path = spec.kind === 'session' ? `/session?holdMs=${spec.holdMs}` : `/work?ms=${spec.holdMs}`;
  const req = httpRequest({ host: u.hostname, port: u.port, path, agent: false, headers: { connection: 'close' } });
  let isSettled = false;
  const settle = () => {
    if (!isSettled) {
      isSettled = true;
      settled++;
    }
  };
  s.closed = new Promise((resolve) => {
    req.on('socket', (sock) => {
      sock.on('connect', () => {
        // The request is written once connected; the backend counts it from here on.
        s.openAt = Date.now();
        open++;
        settle();
      });
      sock.on('close', () => {
        if (s.openAt) open--;
        resolve();
      });
    });
    req.on('response', (res) => {
      const id = res.headers['x-backend-id'];
      s.backendId = Array.isArray(id) ? id[0] : (id ?? null);
      if (res.statusCode !== 200) fail(s, `http ${res.statusCode}`);
      else if (!s.closedByUs) {
        s.lostAt = 'answered before close';
        lost++;
      }
      res.resume();
    });
    req.on('error', (/** @type {any} */ err) => {
      if (!s.closedByUs) fail(s, err.code ?? 'error');
      settle();
      resolve();
    });
  });
  req.end();
  s.close = () => {
    s.closedByUs = true;
    req.destroy();
  };
  return s;
}

const t0 = Date.now() + 100;
emit({ type: 'started', wall: t0 });
const progress = setInterval(() => emit({ type: 'progress', attempted: sessions.length, open, failed, lost }), spec.progressEveryMs ?? 2_000);

await new Promise((resolve) => {
  let next = 0;
  const tick = () => {
    const now = Date.now() - t0;
    while (next < spec.count && (next / spec.ratePerSec) * 1000 <= now) {
      const origin = spec.urls[next % spec.urls.length];
      if (next === spec.markAt) emit({ type: 'mark', index: next, wall: Date.now() });
      sessions.push(spec.kind === 'ws' ? openWs(next, origin) : openHttp(next, origin));
      next++;
    }
    if (next >= spec.count) return resolve(undefined);
    setTimeout(tick, Math.max(0, Math.min(5, (next / spec.ratePerSec) * 1000 - now)));
  };
  tick();
});
const lastAttempt = Date.now();
// Every session is open (or failed) — bounded by the setup timeout.
const settleDeadline = Date.now() + (spec.setupTimeoutMs ?? 15_000) + (spec.echo ? 10_000 : 0) + 2_000;
while (settled < sessions.length && Date.now() < settleDeadline) await new Promise((r) => setTimeout(r, 20));
const allOpenAt = Date.now();
emit({ type: 'all-open', open, failed, wall: allOpenAt });

await new Promise((resolve) => {
  if (spec.closeAfterMs !== undefined) setTimeout(resolve, spec.closeAfterMs);
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() === 'close') resolve(undefined);
  });
  rl.on('close', () => resolve(undefined));
});
const openBeforeClose = open;
const closeStart = Date.now();
for (const s of sessions) s.close();
await Promise.race([Promise.all(sessions.map((s) => s.closed)), new Promise((r) => setTimeout(r, 10_000))]);
const closeEnd = Date.now();
clearInterval(progress);
emit({ type: 'closed', wall: closeEnd, openAfter: open });

const opened = sessions.filter((s) => s.openAt);
writeFileSync(
  resultPath,
  JSON.stringify({
    kind: spec.kind,
    count: spec.count,
    ratePerSec: spec.ratePerSec,
    t0,
    lastAttempt,
    allOpenAt,
    firstOpenAt: Math.min(...opened.map((s) => /** @type {number} */ (s.openAt))),
    lastOpenAt: Math.max(...opened.map((s) => /** @type {number} */ (s.openAt))),
    openBeforeClose,
    opened: opened.length,
    failed,
    lost,
    errorKinds,
    echoed: sessions.filter((s) => s.echoed).length,
    closeStart,
    closeEnd,
    stillOpenAfterClose: open,
    columns: ['i', 'attemptAt', 'setupMs', 'backendId', 'error', 'lostAt'],
    sessions: sessions.map((s) => [s.i, s.attemptAt, s.openAt ? s.openAt - s.attemptAt : null, s.backendId, s.error, s.lostAt]),
  }),
);
emit({ type: 'done' });
process.exit(0);
