import type { Lease } from '@lb/balancing';
import { LeaseBook, guardedReleaser, type LeaseReleaser } from './lease-book';

const lease = (backendId: string, pool = 'p'): Lease => ({ pool, backendId, url: `http://b/${backendId}`, publicUrl: '', holder: 'gw' });

describe('LeaseBook', () => {
  let up: boolean;
  let failNext: boolean;
  let released: string[];
  let dirtied: string[];
  let book: LeaseBook;

  beforeEach(() => {
    up = true;
    failNext = false;
    released = [];
    dirtied = [];
    const releaser: LeaseReleaser = {
      storeUp: () => up,
      releaseInStore: async (l) => {
        if (failNext) throw new Error('timeout');
        released.push(l.backendId);
      },
    };
    book = new LeaseBook(releaser);
    book.onDirty = (pool) => dirtied.push(pool);
  });

  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('holds store picks and releases them in the store, exactly once', async () => {
    const a = book.hold(lease('a'), true);
    book.hold(lease('a'), true);
    expect(book.own('p', 'a')).toBe(2);
    a.release();
    a.release();
    await settle();
    expect(released).toEqual(['a']);
    expect(book.own('p', 'a')).toBe(1);
    expect(dirtied).toEqual([]);
  });

  it('marks the pool dirty for a local pick, and releases it locally until a reconcile lands', async () => {
    const local = book.hold(lease('a'), false);
    expect(dirtied).toEqual(['p']);
    expect(book.isDirty('p')).toBe(true);
    const snap = book.snapshot('p');
    expect([...snap.held]).toEqual([['a', 1]]);
    expect(book.isDirty('p')).toBe(false);
    const after = book.hold(lease('b'), false); // taken after the snapshot: not in it
    snap.landed();
    local.release(); // in the store now: released there
    after.release(); // not in the store: only marks dirty
    await settle();
    expect(released).toEqual(['a']);
    expect(book.isDirty('p')).toBe(true);
    expect(book.total('p')).toBe(0);
  });

  it('never sends a release while the store is degraded, and marks the pool instead', async () => {
    const a = book.hold(lease('a'), true);
    up = false;
    a.release();
    await settle();
    expect(released).toEqual([]);
    expect(book.isDirty('p')).toBe(true);
    expect(book.own('p', 'a')).toBe(0);
  });

  it('marks the pool dirty when the store did not take a release', async () => {
    const a = book.hold(lease('a'), true);
    failNext = true;
    a.release();
    await settle();
    expect(book.isDirty('p')).toBe(true);
    expect(dirtied).toEqual(['p']);
  });

  it('keeps a failed reconcile dirty', () => {
    book.hold(lease('a'), false);
    const snap = book.snapshot('p');
    snap.failed();
    expect(book.isDirty('p')).toBe(true);
  });
});

describe('guardedReleaser', () => {
  it('puts one store call of a turn under the guard once, however many releases share it, and fails them all with it', async () => {
    let batch: { promise: Promise<void>; fail: (err: Error) => void } | undefined;
    const store = {
      release: () => {
        if (!batch) {
          let fail!: (err: Error) => void;
          const promise = new Promise<void>((_resolve, reject) => (fail = reject));
          batch = { promise, fail };
        }
        return batch.promise;
      },
    };
    const watched: Promise<unknown>[] = [];
    const guard = { isUp: true, call: <T>(fn: () => Promise<T>) => { const p = fn(); watched.push(p); return p; } };
    const releaser = guardedReleaser(store, guard);
    const outcomes = [lease('a'), lease('b'), lease('a')].map((l) => Promise.resolve(releaser.releaseInStore(l)).then(() => 'taken', () => 'refused'));
    expect(watched).toHaveLength(1);
    batch?.fail(new Error('no answer in time'));
    expect(await Promise.all(outcomes)).toEqual(['refused', 'refused', 'refused']);
    batch = undefined;
    void Promise.resolve(releaser.releaseInStore(lease('c'))).catch(() => undefined);
    expect(watched).toHaveLength(2); // the next turn's call is watched on its own
  });
});
