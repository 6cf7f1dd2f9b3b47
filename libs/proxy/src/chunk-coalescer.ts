import { finished, Transform, type Readable, type TransformCallback } from 'node:stream';

export interface CoalesceOptions {
  /** A batch goes out once it holds this many bytes; a chunk at least this large passes on its own, at once. */
  readonly flushBytes: number;
  /** The longest a byte waits in a batch (a streaming client that sends a little and waits for an answer). */
  readonly maxDelayMs: number;
}

/**
 * 16 KiB is Node's stream high-water mark and far past the point where per-write costs matter
 * (a 1 MiB body is 64 writes); 2 ms is below what a person or a request/response protocol notices.
 */
export const REQUEST_BODY_COALESCING: CoalesceOptions = { flushBytes: 16 * 1024, maxDelayMs: 2 };

/**
 * Batches small chunks into larger ones. A chunked body sent in 1-byte chunks reaches the gateway
 * as one `data` event per byte; forwarded as it came, each byte would be its own chunked frame,
 * its own write(2) and its own parse on the backend (measured: 10.8 s of gateway and 9.1 s of
 * backend CPU per MiB, against a few ms in 64 KiB chunks; with this, 1.9 s and 0.025 s, most of
 * what is left being Node's own parser, see docs/benchmarks). Here a batch is sent when it reaches `flushBytes`, when `maxDelayMs` has passed
 * since its first byte, and at the end; a large chunk first sends what is waiting, then goes on
 * unchanged (never copied, never delayed). Backpressure is the Transform's: while the reader is
 * full, no further chunk is taken, so at most one batch is held.
 */
export class ChunkCoalescer extends Transform {
  private batch: Buffer | undefined;
  private filled = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: CoalesceOptions = REQUEST_BODY_COALESCING) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const { flushBytes, maxDelayMs } = this.options;
    if (chunk.length >= flushBytes) {
      this.flush();
      callback(null, chunk);
      return;
    }
    if (this.filled + chunk.length > flushBytes) this.flush();
    if (this.filled === 0) this.timer = setTimeout(() => this.flush(), maxDelayMs);
    this.batch ??= Buffer.allocUnsafe(flushBytes);
    chunk.copy(this.batch, this.filled);
    this.filled += chunk.length;
    if (this.filled === flushBytes) this.flush();
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.flush();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.timer);
    this.batch = undefined;
    this.filled = 0;
    callback(error);
  }

  private flush(): void {
    clearTimeout(this.timer);
    const batch = this.batch;
    if (!batch || this.filled === 0 || this.destroyed) return;
    const filled = this.filled;
    this.filled = 0;
    if (filled * 2 >= batch.length) {
      this.batch = undefined; // handed on whole: the reader owns it now
      this.push(filled === batch.length ? batch : batch.subarray(0, filled));
    } else {
      this.push(Buffer.from(batch.subarray(0, filled))); // a small batch is copied out, so the buffer is reused
    }
  }
}

/**
 * A request body as the upstream should read it: `source` (the client's stream, or a BodyLimit
 * over it) through a ChunkCoalescer. An error of the source (BodyTooLargeError, a client abort)
 * and a source that closes before its end fail the coalesced stream with that error, as if the
 * upstream read the source itself. The source is never destroyed from here: it may be the
 * client's request, whose socket still has to carry an answer. When the upstream stops reading
 * before the end (it failed, or the dispatch was refused), the rest of the source is read and
 * dropped, as Node does with a body nobody reads, so that answer is not stuck behind it (bounded
 * by the declared length or BodyLimit).
 */
export function coalescedBody(source: Readable, options: CoalesceOptions = REQUEST_BODY_COALESCING): Readable {
  const body = new ChunkCoalescer(options);
  const stopWatching = finished(source, { writable: false }, (err) => {
    if (err) body.destroy(err);
  });
  body.once('close', () => {
    stopWatching();
    source.unpipe(body);
    if (!source.readableEnded && !source.destroyed) source.resume();
  });
  source.pipe(body);
  return body;
}
