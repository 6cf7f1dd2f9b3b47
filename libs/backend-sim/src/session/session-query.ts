import { z } from '@lb/runtime';
import { wholeNumber } from '../work/work-query';

/** Most events one /sse stream may ask for (0 asks for a stream that lasts until the client leaves). */
export const MAX_SSE_EVENTS = 1_000_000;

/** Periods (SSE interval, WebSocket tick) are at least 1 ms: a 0 ms period would be a busy loop. */
const period = (maxMs: number) => {
  const max = Math.max(1, maxMs);
  return wholeNumber(1, max, `expected a whole number of milliseconds 1-${max} (BACKEND_MAX_WORK_MS)`);
};

/** `GET /sse?events=N&intervalMs=M`: N events (default 0: until the client leaves), one every M ms (default 1000). */
export function sseQuery(maxMs: number) {
  return z.object({
    events: wholeNumber(0, MAX_SSE_EVENTS, `expected a whole number of events 0-${MAX_SSE_EVENTS} (0: until the client leaves)`).default(0),
    intervalMs: period(maxMs).default(1_000),
  });
}

/** `GET /session?holdMs=N`: a long poll answered after N ms (default 0). */
export function sessionQuery(maxMs: number) {
  return z.object({ holdMs: wholeNumber(0, maxMs, `expected a whole number of milliseconds 0-${maxMs} (BACKEND_MAX_WORK_MS)`).default(0) });
}

/** `GET /ws?tickMs=N`: also send `tick <n>` every N ms (absent: no ticks). */
export function webSocketQuery(maxMs: number) {
  return z.object({ tickMs: period(maxMs).optional() });
}

/** A query string as Fastify parses it: a repeated key becomes an array (which the schemas refuse). */
export function queryOf(url: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URL(url, 'http://backend.invalid').searchParams) {
    const previous = query[key];
    query[key] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  return query;
}
