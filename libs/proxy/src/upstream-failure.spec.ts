import { failedBeforeAnswer, failedBeforeSending, statusForUpstreamFailure } from './upstream-failure';

const err = (code: string, cause?: string) => Object.assign(new Error(code), { code, cause: cause ? { code: cause } : undefined });

describe('upstream failures', () => {
  it.each([
    [err('ECONNREFUSED'), 502, true, true],
    [err('UND_ERR_SOCKET', 'ECONNREFUSED'), 502, true, true],
    [err('UND_ERR_CONNECT_TIMEOUT'), 504, true, true],
    [err('UND_ERR_HEADERS_TIMEOUT'), 504, false, false],
    [err('UND_ERR_SOCKET', 'ECONNRESET'), 502, false, true],
    [err('UND_ERR_SOCKET'), 502, false, true],
    [err('EPIPE'), 502, false, true],
    [err('UND_ERR_BODY_TIMEOUT'), 504, false, false],
    [new Error('no code'), 502, false, false],
  ])('%p -> %p, never sent: %p, no answer at all: %p', (e, status, notSent, unanswered) => {
    expect(statusForUpstreamFailure(e)).toBe(status);
    expect(failedBeforeSending(e)).toBe(notSent);
    expect(failedBeforeAnswer(e)).toBe(unanswered);
  });
});
