import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { eventually } from '@lb/balancing/testing';
import { sseFrame, SseViewer } from './sse-viewer';

const KIB = 1024;

/**
 * One dashboard stream over a real socket to a client that stopped reading (a phone that went to
 * sleep, a tab in the background on a bad link) or vanished: the server's memory for it stays
 * bounded and the stream is closed, never left to grow.
 */
describe('SseViewer against a client that does not read', () => {
  let server: Server;
  let client: Socket;
  let viewer: SseViewer;
  let res: ServerResponse;
  let gone: number;

  const start = async (limits: { maxBufferedBytes: number; maxSkippedSnapshots: number }) => {
    gone = 0;
    const attached = new Promise<void>((resolve) => {
      server = createServer((_req, response) => {
        res = response;
        viewer = new SseViewer(response, limits, () => gone++);
        viewer.open(2_000);
        resolve();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    client.write('GET /dashboard/events HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\n\r\n');
    client.pause(); // reads nothing from here on
    await attached;
  };

  /** Sends `frames` one per turn of the event loop until the viewer closes; the largest send buffer seen. */
  const flood = async (send: () => void, frames: number) => {
    let largest = 0;
    for (let i = 0; i < frames && !viewer.closed; i++) {
      send();
      largest = Math.max(largest, res.writableLength);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return largest;
  };

  afterEach(async () => {
    client.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('skips snapshots while the last one waits, then closes the stream: at most one snapshot is ever buffered', async () => {
    await start({ maxBufferedBytes: 64 * 1024 * KIB, maxSkippedSnapshots: 3 });
    const snapshot = sseFrame('snapshot', 'x'.repeat(512 * KIB));
    const largest = await flood(() => viewer.sendSnapshot(snapshot), 500);
    expect(viewer.closed).toBe(true);
    expect(largest).toBeLessThanOrEqual(snapshot.length + res.writableHighWaterMark);
    await eventually(() => gone === 1, 5_000, 'the hub told once');
  });

  it('closes the stream rather than buffer events past the limit', async () => {
    await start({ maxBufferedBytes: 1024 * KIB, maxSkippedSnapshots: 1_000 });
    const event = sseFrame('membership', 'y'.repeat(100 * KIB));
    const largest = await flood(() => viewer.sendEvent(event), 5_000);
    expect(viewer.closed).toBe(true);
    expect(largest).toBeLessThanOrEqual(1024 * KIB);
    await eventually(() => gone === 1, 5_000, 'the hub told once');
  });

  it('notices a client that went away', async () => {
    await start({ maxBufferedBytes: 1024 * KIB, maxSkippedSnapshots: 3 });
    client.destroy();
    await eventually(() => viewer.closed && gone === 1, 5_000, 'viewer closed');
    viewer.sendEvent(sseFrame('membership', '{}')); // a late event for a closed stream is dropped quietly
    expect(gone).toBe(1);
  });
});
