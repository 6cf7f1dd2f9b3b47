import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface PlainBackend {
  readonly id: string;
  readonly url: string;
  readonly port: number;
  /** Requests being served right now. */
  active(): number;
  /** Requests completed. */
  served(): number;
  /** Highest number of requests served at once. */
  peak(): number;
  close(): Promise<void>;
}

/**
 * A backend that runs no agent: a bare node:http server, as a service in any language would be.
 * GET /work?ms=N answers after N ms; any method on /echo streams the body back and reports the
 * request line and headers it saw in `x-echo-request`. A WebSocket on any path echoes every frame;
 * a text frame `close:<code>:<reason>` makes the backend close with that code. Every answer,
 * including the 101, carries `x-backend-id`. Open WebSockets count as active.
 */
export interface PlainBackendOptions {
  /** Runs before the handler (e.g. tokenGuardMiddleware); may rewrite req.url or answer itself. */
  readonly middleware?: (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;
  /** Told the active count on every change, as an agent would report it. */
  readonly report?: (active: number) => void;
}

export async function startPlainBackend(id: string, options: PlainBackendOptions = {}): Promise<PlainBackend> {
  let active = 0;
  let served = 0;
  let peak = 0;
  const changed = (delta: number) => {
    active += delta;
    peak = Math.max(peak, active);
    options.report?.(active);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('x-backend-id', id);
    if (req.url === '/health') {
      res.end('ok'); // the registry's health checks: not traffic, not counted
      return;
    }
    // Counted from arrival, reported once the guard admits it: the guard's claim carries this count,
    // so a redirected client is never counted twice nor missed while it moves from pending to here.
    active++;
    peak = Math.max(peak, active);
    let done = false;
    res.once('close', () => {
      if (done) return;
      done = true;
      changed(-1);
      if (res.writableFinished) served++;
    });
    const admitted = () => {
      options.report?.(active);
      handle(req, res);
    };
    if (options.middleware) options.middleware(req, res, (err) => (err ? res.destroy() : admitted()));
    else admitted();
  });
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://backend');
    if (url.pathname === '/echo') {
      res.setHeader(
        'x-echo-request',
        JSON.stringify({ method: req.method, url: req.url, headers: req.headers }),
      );
      res.setHeader('content-type', req.headers['content-type'] ?? 'application/octet-stream');
      req.pipe(res);
      return;
    }
    const ms = Number(url.searchParams.get('ms') ?? 0);
    const timer = setTimeout(() => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id, ms }));
    }, ms);
    res.once('close', () => clearTimeout(timer));
    req.resume();
  };
  const wss = new WebSocketServer({ noServer: true });
  wss.on('headers', (headers) => headers.push(`x-backend-id: ${id}`));
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      changed(1);
      ws.once('close', () => {
        changed(-1);
        served++;
      });
      ws.on('message', (data, isBinary) => {
        const text = isBinary ? '' : data.toString();
        const match = /^close:(\d+):(.*)$/.exec(text);
        if (match) ws.close(Number(match[1]), match[2]);
        else ws.send(data, { binary: isBinary });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    id,
    url: `http://127.0.0.1:${port}`,
    port,
    active: () => active,
    served: () => served,
    peak: () => peak,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
