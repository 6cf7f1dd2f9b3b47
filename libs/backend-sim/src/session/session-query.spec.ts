import type { z } from '@lb/runtime';
import { queryOf, sessionQuery, sseQuery, webSocketQuery } from './session-query';

describe('session queries', () => {
  it.each<[string, z.ZodType, Record<string, unknown>, Record<string, unknown>]>([
    ['sse defaults', sseQuery(1_000), {}, { events: 0, intervalMs: 1_000 }],
    ['sse', sseQuery(1_000), { events: '3', intervalMs: '50' }, { events: 3, intervalMs: 50 }],
    ['session default', sessionQuery(1_000), {}, { holdMs: 0 }],
    ['session', sessionQuery(1_000), { holdMs: '1000' }, { holdMs: 1_000 }],
    ['ws without ticks', webSocketQuery(1_000), {}, {}],
    ['ws ticks', webSocketQuery(1_000), { tickMs: '25' }, { tickMs: 25 }],
  ])('%s: %p', (_name, schema, query, expected) => {
    expect(schema.parse(query)).toEqual(expected);
  });

  it.each<[z.ZodType, Record<string, unknown>, string, string]>([
    [sseQuery(1_000), { events: '-1' }, 'events', 'expected a whole number of events 0-1000000 (0: until the client leaves)'],
    [sseQuery(1_000), { intervalMs: '0' }, 'intervalMs', 'expected a whole number of milliseconds 1-1000 (BACKEND_MAX_WORK_MS)'],
    [sseQuery(1_000), { intervalMs: '1001' }, 'intervalMs', 'expected a whole number of milliseconds 1-1000 (BACKEND_MAX_WORK_MS)'],
    [sessionQuery(1_000), { holdMs: 'soon' }, 'holdMs', 'expected a whole number of milliseconds 0-1000 (BACKEND_MAX_WORK_MS)'],
    [sessionQuery(1_000), { holdMs: ['1', '2'] }, 'holdMs', 'expected a whole number of milliseconds 0-1000 (BACKEND_MAX_WORK_MS)'],
    [webSocketQuery(1_000), { tickMs: '1.5' }, 'tickMs', 'expected a whole number of milliseconds 1-1000 (BACKEND_MAX_WORK_MS)'],
  ])('refuses %#: %p naming %p', (schema, query, field, message) => {
    const result = schema.safeParse(query);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ path: [field], message });
  });

  it('reads a query string as Fastify does, repeated keys as arrays', () => {
    expect(queryOf('/ws?tickMs=5&a=1&a=2&e=caf%C3%A9')).toEqual({ tickMs: '5', a: ['1', '2'], e: 'café' });
    expect(queryOf('/ws')).toEqual({});
  });
});
