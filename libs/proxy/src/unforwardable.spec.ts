import { unforwardableReason } from './unforwardable';

const base = ['Host', 'app.example', 'Accept', '*/*'];

describe('unforwardableReason', () => {
  it.each([
    ['a plain request', base, undefined],
    ['obs-text and tabs in a value', [...base, 'X-Name', 'caf\u00e9\tau lait'], undefined],
    ['an empty value', [...base, 'X-Empty', ''], undefined],
    ['one Content-Length', [...base, 'Content-Length', '12'], undefined],
    ['chunked, in any case', [...base, 'Transfer-Encoding', 'Chunked'], undefined],
    ['no Host (HTTP/1.0)', ['Accept', '*/*'], undefined],
  ])('forwards %s', (_what, raw, expected) => {
    expect(unforwardableReason(raw, '/path?q=1', { parserChecked: false })).toEqual(expected);
    expect(unforwardableReason(raw, '/path?q=1', { parserChecked: true })).toEqual(expected);
  });

  it.each([
    ['two Host headers', [...base, 'host', 'other.example'], 'host', 400],
    ['two Host headers with the same value', [...base, 'HOST', 'app.example'], 'host', 400],
    ['two Content-Length headers', [...base, 'Content-Length', '1', 'content-length', '1'], 'content-length', 400],
    ['a Content-Length that is not a number', [...base, 'Content-Length', '+1'], 'content-length', 400],
    ['a NUL in a value', [...base, 'X-A', 'a\u0000b'], 'x-a', 400],
    ['a bare CR in a value', [...base, 'X-A', 'a\rb'], 'x-a', 400],
    ['DEL in a value', [...base, 'X-A', 'a\u007fb'], 'x-a', 400],
    ['a character beyond latin1 in a value', [...base, 'X-A', '\u2603'], 'x-a', 400],
    ['a space in a name', [...base, 'X A', 'b'], 'x a', 400],
    ['parentheses in a name', [...base, 'X(A)', 'b'], 'x(a)', 400],
    ['an empty name', [...base, '', 'b'], '', 400],
    ['a coding on top of chunked', [...base, 'Transfer-Encoding', 'gzip, chunked'], 'transfer-encoding', 501],
    ['a coding on a Transfer-Encoding line of its own', [...base, 'Transfer-Encoding', 'gzip', 'Transfer-Encoding', 'chunked'], 'transfer-encoding', 501],
  ])('refuses %s behind a lenient parser', (_what, raw, field, status) => {
    expect(unforwardableReason(raw, '/', { parserChecked: false })).toEqual({ field, status, detail: expect.any(String), allowed: expect.any(String) });
  });

  it.each([
    ['two Host headers', [...base, 'host', 'other.example'], 'host', 400],
    ['a coding on top of chunked', [...base, 'Transfer-Encoding', 'gzip, chunked'], 'transfer-encoding', 501],
  ])('refuses %s even when the strict parser checked the syntax (Node lets it through)', (_what, raw, field, status) => {
    expect(unforwardableReason(raw, '/', { parserChecked: true })).toEqual({ field, status, detail: expect.any(String), allowed: expect.any(String) });
  });

  it.each([['/a b'], ['/a\u0000'], ['/\u2603']])('refuses the request target %p', (target) => {
    expect(unforwardableReason(base, target)).toMatchObject({ field: 'request-target', status: 400 });
  });
});
