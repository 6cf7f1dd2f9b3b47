import { connect } from 'node:net';

/**
 * Whether anything accepts a TCP connection at a backend's address: the confirmation the sweep
 * asks for before it evicts more than its share of a pool. A process that is gone leaves nothing
 * listening (refused) or nothing answering (timeout); a backend that is up but could not beat does.
 */
export function isListening(url: string, timeoutMs: number): Promise<boolean> {
  const target = new URL(url);
  const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
  const host = target.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (listening: boolean) => {
      socket.destroy();
      resolve(listening);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
