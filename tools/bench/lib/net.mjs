// Loopback helpers: free ports, small JSON calls, polling until ready.
import { createServer } from 'node:net';
import { request } from 'undici';

/** Ports handed out in this run, so two concurrent callers never get the same one. */
const handedOut = new Set();

/**
 * A free TCP port on 127.0.0.1 (listen on 0, read the port, close).
 * @returns {Promise<number>}
 */
export async function freePort() {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = /** @type {import('node:net').AddressInfo} */ (srv.address()).port;
        srv.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return /** @type {number} */ (port);
    }
  }
  throw new Error('no free port found');
}

/**
 * GET (or other method) returning {status, headers, body (parsed JSON when possible)}.
 * @param {string} url
 * @param {{method?: import('undici').Dispatcher.HttpMethod, headers?: Record<string,string>, body?: string, timeoutMs?: number}} [opts]
 */
export async function httpJson(url, opts = {}) {
  const res = await request(url, {
    method: opts.method ?? 'GET',
    headers: opts.headers,
    body: opts.body,
    headersTimeout: opts.timeoutMs ?? 5_000,
    bodyTimeout: opts.timeoutMs ?? 5_000,
  });
  const text = await res.body.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.statusCode, headers: res.headers, body };
}

/**
 * Polls `check` until it returns a truthy value or `timeoutMs` passes.
 * @template T
 * @param {string} what
 * @param {() => Promise<T>} check
 * @param {number} timeoutMs
 * @param {number} [everyMs]
 * @returns {Promise<T>}
 */
export async function waitUntil(what, check, timeoutMs, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let lastErr = '';
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      lastErr = err instanceof Error ? err.message : String(err);
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${lastErr})` : ''}`);
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
