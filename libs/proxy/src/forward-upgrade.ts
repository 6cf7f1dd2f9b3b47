import { request, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { downstreamResponseHeaders } from './hop-by-hop';

export interface UpgradeTarget {
  /** Backend origin, e.g. http://10.0.0.5:8101 */
  readonly origin: string;
  readonly path: string;
  readonly method: string;
  /** Flat [name, value, ...] list, already cleaned; Connection/Upgrade are added here. */
  readonly headers: string[];
  readonly upgrade: string;
  readonly connectTimeoutMs: number;
  /** A session with no bytes either way for this long is closed (0: never). */
  readonly idleTimeoutMs: number;
}

export type UpgradeOutcome =
  | { readonly kind: 'upgraded' }
  | { readonly kind: 'refused'; readonly status: number }
  | { readonly kind: 'failed'; readonly error: Error };

/**
 * Proxies an HTTP/1.1 Upgrade (WebSocket) to one backend, then splices the two sockets: frames of
 * every kind (text, binary, ping/pong, close with its code and reason) pass through as bytes, and
 * `pipe` gives backpressure both ways. Whichever side closes or fails, both are closed.
 *
 * `onOutcome` runs once: the backend agreed (101, the sockets are spliced), refused (any other
 * status, relayed to the client as is, then the client is closed), or could not be reached
 * (`failed`: nothing was written to the client, which stays open so the caller can try another
 * backend or answer it).
 */
export function forwardUpgrade(client: Duplex, clientHead: Buffer, target: UpgradeTarget, onOutcome: (outcome: UpgradeOutcome) => void): void {
  const url = new URL(target.origin);
  let settled = false;
  const settle = (outcome: UpgradeOutcome) => {
    if (settled) return;
    settled = true;
    onOutcome(outcome);
  };

  const upstreamRequest = request({
    host: url.hostname,
    port: url.port,
    path: target.path,
    method: target.method,
    headers: [...target.headers, 'connection', 'Upgrade', 'upgrade', target.upgrade],
    agent: false,
    timeout: target.connectTimeoutMs,
  });
  upstreamRequest.once('timeout', () => upstreamRequest.destroy(Object.assign(new Error('upgrade timed out'), { code: 'UND_ERR_CONNECT_TIMEOUT' })));

  upstreamRequest.once('upgrade', (res: IncomingMessage, upstream: Duplex, upstreamHead: Buffer) => {
    upstreamRequest.setTimeout(0);
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    client.write(statusLine(101, res.statusMessage) + rawHeaderLines(res.rawHeaders) + '\r\n');
    if (upstreamHead.length > 0) client.write(upstreamHead);
    if (clientHead.length > 0) upstream.write(clientHead);
    splice(client, upstream, target.idleTimeoutMs);
    settle({ kind: 'upgraded' });
  });

  upstreamRequest.once('response', (res: IncomingMessage) => {
    // The backend answered without upgrading (auth failure, wrong path...): relay its answer.
    upstreamRequest.setTimeout(0);
    const headers = downstreamResponseHeaders(res.headers);
    delete headers['content-length'];
    const lines: string[] = [];
    for (const [name, value] of Object.entries(headers)) {
      for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}\r\n`);
    }
    client.write(statusLine(res.statusCode ?? 502, res.statusMessage) + lines.join('') + 'connection: close\r\n\r\n');
    client.once('finish', () => client.destroy()); // the answer is out: do not wait for the client to hang up
    res.pipe(client); // close-delimited body: ends the client when the backend is done
    settle({ kind: 'refused', status: res.statusCode ?? 502 });
  });

  upstreamRequest.once('error', (error) => settle({ kind: 'failed', error }));
  const dropUpstream = () => upstreamRequest.destroy();
  client.once('close', dropUpstream);
  upstreamRequest.once('close', () => client.off('close', dropUpstream));
  upstreamRequest.end();
}

function splice(client: Duplex, upstream: Duplex, idleTimeoutMs: number): void {
  const destroyBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  for (const socket of [client, upstream] as const) {
    (socket as Duplex & { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
    socket.on('error', destroyBoth);
    socket.once('close', destroyBoth);
  }
  if (idleTimeoutMs > 0) {
    // Traffic in either direction passes through the client socket, so its timer sees both.
    (client as Duplex & { setTimeout: (ms: number, cb: () => void) => void }).setTimeout(idleTimeoutMs, destroyBoth);
  }
  upstream.pipe(client);
  client.pipe(upstream);
}

function statusLine(status: number, message: string | undefined): string {
  return `HTTP/1.1 ${status} ${(message ?? '').replace(/[\r\n]/g, '')}\r\n`;
}

function rawHeaderLines(raw: readonly string[]): string {
  let out = '';
  for (let i = 0; i < raw.length; i += 2) out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return out;
}
