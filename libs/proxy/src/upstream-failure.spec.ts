import { failedBeforeSending, statusForUpstreamFailure } from './upstream-failure';

const err = (code: string, cause?: string) => Object.assign(new Error(code), { code, cause: cause ? { code: cause } : undefined });

describe('upstream failures', () => {
  it.each([
    [err('ECONNREFUSED'), 502, true],
    [err('UND_ERR_SOCKET', 'ECONNREFUSED'), 502, true],
    [err('UND_ERR_CONNECT_TIMEOUT'), 504, true],
    [err('UND_ERR_HEADERS_TIMEOUT'), 504, false],
    [err('UND_ERR_SOCKET', 'ECONNRESET'), 502, false],
    [err('UND_ERR_SOCKET'), 502, false],
    [new Error('no code'), 502, false],
  ])('%p -> %p, retryable elsewhere: %p', (e, status, notSent) => {
    expect(statusForUpstreamFailure(e)).toBe(status);
    expect(failedBeforeSending(e)).toBe(notSent);
  });
});
