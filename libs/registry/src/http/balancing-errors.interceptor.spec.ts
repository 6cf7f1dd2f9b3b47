import { BalancingError } from '@lb/balancing';
import { ProblemError } from '@lb/runtime';
import { toProblemError } from './balancing-errors.interceptor';

describe('toProblemError', () => {
  it.each([
    ['LB_STORE_UNAVAILABLE', 503],
    ['LB_UNKNOWN_BACKEND', 404],
    ['LB_INVALID_INPUT', 400],
  ] as const)('gives %s the status %p', (code, status) => {
    const mapped = toProblemError(new BalancingError(code, 'x'));
    expect(mapped).toBeInstanceOf(ProblemError);
    expect((mapped as ProblemError).problem).toMatchObject({ status, code, detail: 'x' });
  });

  it('leaves other errors to the filter', () => {
    const err = new TypeError('bug');
    expect(toProblemError(err)).toBe(err);
  });
});
