export type ActiveListener = (active: number) => void;

/**
 * The backend's exact count of requests in progress. open() counts one and returns the function
 * that counts it off; that function works once, so a request that finishes, is aborted and errors
 * (all three can be signalled for one request) is still counted off exactly once.
 */
export class ActiveConnections {
  private activeCount = 0;
  private servedCount = 0;
  private readonly listeners = new Set<ActiveListener>();

  get active(): number {
    return this.activeCount;
  }

  /** Requests that completed with a full response. */
  get served(): number {
    return this.servedCount;
  }

  open(): (completed: boolean) => void {
    this.change(1);
    let open = true;
    return (completed) => {
      if (!open) return;
      open = false;
      if (completed) this.servedCount++;
      this.change(-1);
    };
  }

  /** Told every change of the count; returns the unsubscribe function. */
  onChange(listener: ActiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private change(delta: number): void {
    this.activeCount += delta;
    for (const listener of this.listeners) listener(this.activeCount);
  }
}
