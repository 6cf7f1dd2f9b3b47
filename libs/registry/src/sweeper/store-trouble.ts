/**
 * When the registry last saw the store fail or stall. Liveness is judged only on beats the
 * registry could record: until the store has answered without trouble for a whole liveness TTL,
 * the sweep evicts nobody (see planEviction). A fresh registry counts its start as trouble, as it
 * cannot know what it missed while it was away.
 */
export class StoreTrouble {
  private lastAt: number;

  constructor(private readonly now: () => number = Date.now) {
    this.lastAt = now();
  }

  mark(): void {
    this.lastAt = this.now();
  }

  /** How long the store has answered without trouble. */
  healthyForMs(): number {
    return this.now() - this.lastAt;
  }
}
