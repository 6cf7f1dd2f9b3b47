/**
 * What makes a redirect token single-use: the backend it names remembers every token id it has
 * admitted until the token expires, and admits each id once. A token names one backend, so the
 * one process that can accept it is the one that remembers it; this holds whatever the store is
 * doing (the store's claim only moves the client's slot from pending to the backend's own count).
 * A backend that restarts within a token's lifetime forgets the ids it saw.
 */
export class SeenTokens {
  /** token id -> expiry (epoch ms), in arrival order (expiries arrive nearly in order: one TTL). */
  private readonly seen = new Map<string, number>();

  /** True the first time an unexpired id is offered; false for a replay. */
  remember(tokenId: string, expiresAt: number, now: number): boolean {
    this.forgetExpired(now);
    if (this.seen.has(tokenId)) return false;
    this.seen.set(tokenId, expiresAt);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  private forgetExpired(now: number): void {
    for (const [id, expiresAt] of this.seen) {
      if (expiresAt >= now) break; // later arrivals expire later (same TTL); stragglers go next time
      this.seen.delete(id);
    }
  }
}
