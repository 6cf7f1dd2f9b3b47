/**
 * What the gateway does when the store answers again, before it counts as up: LeaseSync writes
 * the lease tables, MembershipView takes a fresh snapshot, and whoever listens hears that the
 * store may have forgotten things (the Picker then lets the local view fill in for a while).
 * Each registers itself here; the StoreGuard's recover() runs them all (a late-bound list, as the
 * guard is made before them).
 */
export class StoreRecovery {
  private readonly steps: (() => Promise<void>)[] = [];
  private readonly forgetListeners: (() => void)[] = [];

  add(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  /** Called when the store may have lost data: after it came back, or when it did not know this gateway. */
  onForgotten(listener: () => void): void {
    this.forgetListeners.push(listener);
  }

  forgotten(): void {
    for (const listener of this.forgetListeners) listener();
  }

  async run(): Promise<void> {
    this.forgotten();
    await Promise.all(this.steps.map((step) => step()));
  }
}
