import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { BodyLimit, BodyTooLargeError } from './body-limit';
import { ChunkCoalescer, coalescedBody } from './chunk-coalescer';

const options = { flushBytes: 8, maxDelayMs: 2 };

/** Writes chunks of the given sizes, ends, and returns the sizes of what came out. */
async function sizesOut(sizes: readonly number[]): Promise<number[]> {
  const coalescer = new ChunkCoalescer(options);
  const out: number[] = [];
  coalescer.on('data', (chunk: Buffer) => out.push(chunk.length));
  const ended = new Promise((resolve) => coalescer.once('end', resolve));
  for (const size of sizes) coalescer.write(Buffer.alloc(size, 1));
  coalescer.end();
  await ended;
  return out;
}

describe('ChunkCoalescer', () => {
  it.each([
    [[1, 1, 1], [3]],
    [Array(20).fill(1), [8, 8, 4]],
    [[4, 4], [8]],
    [[5, 5], [5, 5]],
    [[8], [8]],
    [[3, 10, 1], [3, 10, 1]],
    [[100], [100]],
    [[], []],
  ])('batches chunks of %p into %p (flush at 8 bytes, large chunks alone and first)', async (sizes, expected) => {
    expect(await sizesOut(sizes)).toEqual(expected);
  });

  it('keeps every byte in order, whatever the chunk sizes', async () => {
    const data = randomBytes(100_000);
    const coalescer = new ChunkCoalescer({ flushBytes: 4096, maxDelayMs: 2 });
    const parts: Buffer[] = [];
    coalescer.on('data', (chunk: Buffer) => parts.push(chunk));
    const ended = new Promise((resolve) => coalescer.once('end', resolve));
    for (let at = 0, n = 0; at < data.length; n++) {
      const size = [1, 7, 300, 5000, 2][n % 5];
      coalescer.write(data.subarray(at, at + size));
      at += size;
    }
    coalescer.end();
    await ended;
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });

  it('passes a large chunk on as the same buffer, uncopied', async () => {
    const coalescer = new ChunkCoalescer(options);
    const big = Buffer.alloc(64, 2);
    const first = new Promise<Buffer>((resolve) => coalescer.once('data', resolve));
    coalescer.write(big);
    expect(await first).toBe(big);
  });

  describe('with a clock', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('sends a waiting batch once maxDelayMs has passed since its first byte, without an end', () => {
      const coalescer = new ChunkCoalescer(options);
      const out: string[] = [];
      coalescer.on('data', (chunk: Buffer) => out.push(chunk.toString()));
      coalescer.write('a');
      jest.advanceTimersByTime(1);
      coalescer.write('b');
      expect(out).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(out).toEqual(['ab']);
      coalescer.write('c');
      jest.advanceTimersByTime(2);
      expect(out).toEqual(['ab', 'c']);
      coalescer.destroy();
    });
  });

  it('holds back the writer while its reader does not read (backpressure), holding a bounded amount', () => {
    const coalescer = new ChunkCoalescer({ flushBytes: 1024, maxDelayMs: 2 });
    let accepted = 0;
    while (coalescer.write(Buffer.alloc(1)) && accepted < 1_000_000) accepted++;
    expect(accepted).toBeLessThan(1_000_000);
    expect(coalescer.readableLength + coalescer.writableLength).toBeLessThan(64 * 1024);
    coalescer.destroy();
  });
});

describe('coalescedBody', () => {
  it('fails with the error of its source, e.g. the body limit, so the upstream sees BodyTooLargeError', async () => {
    const source = new PassThrough();
    const body = coalescedBody(source.pipe(new BodyLimit(10)), options);
    body.resume();
    const failed = new Promise<Error>((resolve) => body.once('error', resolve));
    source.write(Buffer.alloc(6));
    source.write(Buffer.alloc(6));
    expect(await failed).toBeInstanceOf(BodyTooLargeError);
  });

  it('fails when its source closes before its end (a client that went away)', async () => {
    const source = new PassThrough();
    const body = coalescedBody(source, options);
    body.resume();
    const failed = new Promise<NodeJS.ErrnoException>((resolve) => body.once('error', resolve));
    source.write('partial');
    source.destroy();
    expect((await failed).code).toBe('ERR_STREAM_PREMATURE_CLOSE');
  });

  it('ends with its source, carrying every byte', async () => {
    const body = coalescedBody(Readable.from([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')]), options);
    const parts: Buffer[] = [];
    for await (const chunk of body) parts.push(chunk as Buffer);
    expect(Buffer.concat(parts).toString()).toBe('abc');
  });

  it('never destroys its source when the upstream stops reading, and drains the rest of it', async () => {
    const source = new PassThrough();
    const body = coalescedBody(source, options);
    source.write('x');
    body.destroy(new Error('upstream failed'));
    body.on('error', () => undefined);
    await new Promise((resolve) => body.once('close', resolve));
    expect(source.destroyed).toBe(false);
    expect(source.readableFlowing).toBe(true);
    source.end('rest');
    await new Promise((resolve) => source.once('end', resolve));
  });
});
