import type { Lease } from '../core/types';
import type { LoadStore } from './load-store';

/**
 * Wraps a lease so that however a request ends (finish, client abort, upstream error, all three)
 * the slot is counted off exactly once, and the release never blocks the response path.
 */
export class LeaseHandle {
  private released = false;

  constructor(
    readonly lease: Lease,
    private readonly store: LoadStore,
    private readonly onReleaseError: (err: unknown, lease: Lease) => void,
  ) {}

  get isReleased(): boolean {
    return this.released;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.store.release(this.lease).catch((err: unknown) => this.onReleaseError(err, this.lease));
  }
}
