import type { ServerResponse } from 'node:http';

/** One server-sent event: a name and one line of data (JSON never holds a raw line break). */
export function sseFrame(event: string, data: string): string {
  return `event: ${event}\ndata: ${data.replace(/[\r\n]+/g, ' ')}\n\n`;
}

export interface ViewerLimits {
  /** Bytes a viewer may have waiting in its send buffer; an event that would pass it closes the stream. */
  readonly maxBufferedBytes: number;
  /** Snapshots skipped in a row while the client does not read; one more closes the stream. */
  readonly maxSkippedSnapshots: number;
}

/**
 * One dashboard stream (a hijacked response), bounded against a client that reads slowly or not at
 * all: a snapshot is the whole picture, so while the client has not taken the previous one, the new
 * one is skipped (the next supersedes it); an event must arrive, so one that would pile up past
 * `maxBufferedBytes` closes the stream instead, as do too many skipped snapshots. The browser's
 * EventSource reconnects and starts again from a fresh snapshot. A write error closes it too.
 */
export class SseViewer {
  private skipped = 0;
  private done = false;
  private left = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly limits: ViewerLimits,
    private readonly onGone: () => void,
  ) {
    res.on('close', () => this.gone());
    res.on('error', () => this.drop());
  }

  get closed(): boolean {
    return this.done;
  }

  open(retryMs: number): void {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // The stream ends only when the server ends it; its connection is not reused afterwards.
      connection: 'close',
      // A buffering proxy in front (nginx) would hold the events back.
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    this.res.write(`retry: ${retryMs}\n\n`);
  }

  /** The whole picture: skipped while the client has not taken the previous one. */
  sendSnapshot(frame: string): void {
    if (this.done) return;
    if (this.res.writableNeedDrain) {
      if (++this.skipped > this.limits.maxSkippedSnapshots) this.drop();
      return;
    }
    this.skipped = 0;
    this.write(frame);
  }

  /** Something that happened: sent, unless the client is so far behind that the stream is closed. */
  sendEvent(frame: string): void {
    if (this.done) return;
    if (this.res.writableLength + Buffer.byteLength(frame) > this.limits.maxBufferedBytes) {
      this.drop();
      return;
    }
    this.write(frame);
  }

  /** Ends the stream cleanly (shutdown); the connection closes with it. */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.res.end();
  }

  private write(frame: string): void {
    try {
      this.res.write(frame);
    } catch {
      this.drop();
    }
  }

  /** Closes the connection at once, whatever is still buffered. */
  private drop(): void {
    this.done = true;
    this.res.destroy();
    this.gone();
  }

  private gone(): void {
    this.done = true;
    if (this.left) return;
    this.left = true;
    this.onGone();
  }
}
