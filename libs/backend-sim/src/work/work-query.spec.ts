import { scaledDuration, workQuery } from './work-query';

describe('workQuery', () => {
  const schema = workQuery(1_000);

  it.each([
    [{}, 0],
    [{ ms: '0' }, 0],
    [{ ms: '250' }, 250],
    [{ ms: '1000' }, 1_000],
    [{ ms: '5', other: 'x' }, 5],
  ])('%p -> %p ms', (query, expected) => {
    expect(schema.parse(query).ms).toBe(expected);
  });

  it.each([[{ ms: '-1' }], [{ ms: '1.5' }], [{ ms: 'abc' }], [{ ms: '' }], [{ ms: '1001' }], [{ ms: '9'.repeat(40) }], [{ ms: ['1', '2'] }]])(
    'refuses %p naming ms and what it accepts',
    (query) => {
      const result = schema.safeParse(query);
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]).toMatchObject({ path: ['ms'], message: 'expected a whole number of milliseconds 0-1000 (BACKEND_MAX_WORK_MS)' });
    },
  );
});

describe('scaledDuration', () => {
  it.each([
    [100, 1, 100],
    [100, 2.5, 250],
    [3, 0.5, 2],
    [600_000, 1e6, 2 ** 31 - 1],
  ])('%p ms at slowdown %p -> %p ms', (ms, slowdown, expected) => {
    expect(scaledDuration(ms, slowdown)).toBe(expected);
  });
});
