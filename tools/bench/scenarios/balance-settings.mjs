// The workload of scenarios 2 (balance) and 3 (bypass), shared by the bench and by the ideal-balancer
// simulation (tools/bench/ideal-balance.mjs). No imports with side effects: the simulation loads
// this without ioredis, undici or /proc.

/** Heavy-tailed request durations (ms, before the backend's slowdown). */
export const MIX = [
  { p: 0.9, min: 10, max: 30 },
  { p: 0.09, min: 100, max: 300 },
  { p: 0.01, min: 1000, max: 3000 },
];
/** BACKEND_SLOTS of every backend: requests served at once, the rest queue. */
export const SLOTS = 4;
export const BACKENDS = [
  { id: 'bal-1', slowdown: 1 },
  { id: 'bal-2', slowdown: 1 },
  { id: 'bal-3', slowdown: 1 },
  { id: 'bal-4-slow', slowdown: 3 },
];
/** Balanced arrivals as a fraction of total capacity. */
export const LOAD = 0.7;
/** The bypass client's rate as a fraction of the bypassed backend's (BACKENDS[0]) own capacity. */
export const BYPASS_LOAD = 0.3;
/** Balancer instances in the "several" runs. */
export const INSTANCES = 3;
export const SEED = 20_240_601;
export const BYPASS_SEED = 77_001;
