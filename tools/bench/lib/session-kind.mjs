// Which kind of long-lived session the backend-sim build offers: a WebSocket on /ws when it has
// one, else a long poll on /session?holdMs=, else /work?ms= (the oldest builds).
import { WebSocket } from 'ws';
import { httpJson } from './net.mjs';

/**
 * @param {string} backendUrl
 * @returns {Promise<'ws'|'session'|'work'>}
 */
export async function detectSessionKind(backendUrl) {
  const ws = await new Promise((resolve) => {
    const sock = new WebSocket(`${backendUrl.replace(/^http/, 'ws')}/ws`, { handshakeTimeout: 3_000 });
    sock.once('open', () => {
      sock.close(1000);
      resolve(true);
    });
    sock.once('error', () => resolve(false));
    sock.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(false);
      sock.terminate();
    });
  });
  if (ws) return 'ws';
  const r = await httpJson(`${backendUrl}/session?holdMs=1`).catch(() => ({ status: 0 }));
  return r.status === 200 ? 'session' : 'work';
}

/** @param {'ws'|'session'|'work'} kind */
export function describeKind(kind) {
  return kind === 'ws' ? 'WebSocket (/ws)' : kind === 'session' ? 'HTTP long poll (/session?holdMs=)' : 'HTTP long poll (/work?ms=, no /ws or /session in this backend-sim build)';
}
