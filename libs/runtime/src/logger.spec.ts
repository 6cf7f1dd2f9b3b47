import { redactQuery } from './logger';

describe('redactQuery', () => {
  it.each([
    ['/v1/backends', '/v1/backends'],
    ['/v1/backends?', '/v1/backends?'],
    ['/v1/backends?token=s3cret', '/v1/backends?[redacted]'],
    ['/work?ms=5&lb_token=abc.def', '/work?[redacted]'],
    ['/reset?3f9a0c1d2e', '/reset?[redacted]'],
    ['/a?b=c?d', '/a?[redacted]'],
    ['/', '/'],
    [undefined, undefined],
  ])('%p -> %p', (url, logged) => {
    expect(redactQuery(url)).toBe(logged);
  });
});
