/**
 * Passive health, local to one gateway: a backend that refused a connection is skipped for a while,
 * so a dead backend that answers fastest (with errors) cannot attract every pick before the registry
 * evicts it. Like nginx's max_fails=1 fail_timeout.
 */
export class Ejections {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly durationMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Skips `backendId` for a while; true when it was not skipped already (a new failure to report). */
  eject(backendId: string): boolean {
    if (this.durationMs <= 0) return false;
    const now = this.now();
    const fresh = (this.until.get(backendId) ?? 0) <= now;
    this.until.set(backendId, now + this.durationMs);
    return fresh;
  }

  /** Backend ids currently skipped; the empty array (no allocation) in the common case. */
  current(): readonly string[] {
    if (this.until.size === 0) return EMPTY;
    const now = this.now();
    const ids: string[] = [];
    for (const [id, until] of this.until) {
      if (until > now) ids.push(id);
      else this.until.delete(id);
    }
    return ids;
  }
}

const EMPTY: readonly string[] = Object.freeze([]);
