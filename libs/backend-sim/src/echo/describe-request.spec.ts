import { describeRequest, hasBody, headerSafeJson } from './describe-request';

describe('describeRequest', () => {
  it('keeps the raw target and splits path and query, repeated keys as arrays', () => {
    expect(describeRequest('POST', '/echo?a=1&b=x%20y&a=2', { host: 'h' }, '127.0.0.1')).toEqual({
      method: 'POST',
      url: '/echo?a=1&b=x%20y&a=2',
      path: '/echo',
      query: { a: ['1', '2'], b: 'x y' },
      headers: { host: 'h' },
      remoteAddress: '127.0.0.1',
    });
  });
});

describe('headerSafeJson', () => {
  it('escapes what a header value cannot carry and stays valid JSON', () => {
    const value = { q: 'caf\u00e9 \u2603\n' };
    const json = headerSafeJson(value);
    expect(json).toMatch(/^[\x20-\x7e]*$/);
    expect(JSON.parse(json)).toEqual(value);
  });
});

describe('hasBody', () => {
  it.each([
    [{}, false],
    [{ 'content-length': '0' }, false],
    [{ 'content-length': '12' }, true],
    [{ 'transfer-encoding': 'chunked' }, true],
  ])('%p -> %p', (headers, expected) => {
    expect(hasBody(headers)).toBe(expected);
  });
});
