/** Exchanges served, per pool and backend id. */
export type ServedCounts = Readonly<Record<string, Readonly<Record<string, number>>>>;

/** One read of a gateway's `served` counters (they count from the gateway's start). */
export interface ServedSample {
  /** Epoch ms of the read. */
  readonly at: number;
  /** The gateway's start: a different one means it restarted and counts from zero again. */
  readonly startedAt: number;
  readonly served: ServedCounts;
}

/**
 * What one gateway served within the last `windowMs` before `now`, from the difference between its
 * newest sample and a baseline: the last sample taken at or before the window's start, or, when
 * the samples do not reach that far back, zero if the gateway started inside the window (all it
 * served is recent), else its oldest sample. A restart drops the samples taken before it; a counter
 * that went down (the gateway forgot a backend that left, then it came back) counts from zero.
 */
export function servedInWindow(samples: readonly ServedSample[], now: number, windowMs: number): ServedCounts {
  const newest = samples[samples.length - 1];
  if (!newest) return {};
  const start = now - windowMs;
  const run = samples.filter((s) => s.startedAt === newest.startedAt);
  const before = run.filter((s) => s.at <= start);
  const baseline = before.length > 0 ? before[before.length - 1].served : newest.startedAt >= start ? {} : run[0].served;
  const out: Record<string, Record<string, number>> = {};
  for (const [pool, counts] of Object.entries(newest.served)) {
    const base = baseline[pool] ?? {};
    out[pool] = Object.fromEntries(Object.entries(counts).map(([id, n]) => [id, n >= (base[id] ?? 0) ? n - (base[id] ?? 0) : n]));
  }
  return out;
}

/** The samples a window still needs: those inside it and the last one before it. */
export function trimSamples(samples: readonly ServedSample[], now: number, windowMs: number): ServedSample[] {
  const start = now - windowMs;
  let first = 0;
  for (let i = 0; i < samples.length; i++) if (samples[i].at <= start) first = i;
  return samples.slice(first);
}

/** Adds counts up, pool by pool and backend by backend. */
export function sumServed(parts: readonly ServedCounts[]): ServedCounts {
  const out: Record<string, Record<string, number>> = {};
  for (const part of parts) {
    for (const [pool, counts] of Object.entries(part)) {
      const into = (out[pool] ??= {});
      for (const [id, n] of Object.entries(counts)) into[id] = (into[id] ?? 0) + n;
    }
  }
  return out;
}

/**
 * The served samples of every gateway the dashboard reads, kept only as far back as the window
 * needs. A gateway that missed a round keeps its samples (its next answer still makes a true
 * difference); one no longer announced is forgotten.
 */
export class ServedHistory {
  private readonly byGateway = new Map<string, ServedSample[]>();

  constructor(readonly windowMs: number) {}

  /**
   * Records this round's samples (gateway id -> sample) of the gateways announced now (`present`,
   * those that did not answer included) and returns the window's counts, summed over them.
   */
  record(present: readonly string[], samples: ReadonlyMap<string, ServedSample>, now: number): ServedCounts {
    for (const id of this.byGateway.keys()) if (!present.includes(id)) this.byGateway.delete(id);
    const parts: ServedCounts[] = [];
    for (const id of present) {
      const sample = samples.get(id);
      const kept = trimSamples([...(this.byGateway.get(id) ?? []), ...(sample ? [sample] : [])], now, this.windowMs);
      if (kept.length === 0) continue;
      this.byGateway.set(id, kept);
      parts.push(servedInWindow(kept, now, this.windowMs));
    }
    return sumServed(parts);
  }

  clear(): void {
    this.byGateway.clear();
  }
}
