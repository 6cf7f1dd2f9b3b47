import WebSocket from 'ws';

export interface OpenedWebSocket {
  readonly ws: WebSocket;
  /** The x-backend-id of the 101: which backend holds the session. */
  readonly backendId: string;
}

/** Opens a WebSocket (tests only); rejects on an error or a non-101 answer. */
export function openWebSocket(url: string): Promise<OpenedWebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let backendId = '';
    ws.once('upgrade', (res) => (backendId = String(res.headers['x-backend-id'])));
    ws.once('open', () => resolve({ ws, backendId }));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected ${res.statusCode}`)));
  });
}

export function whenClosed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

export function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })));
}
