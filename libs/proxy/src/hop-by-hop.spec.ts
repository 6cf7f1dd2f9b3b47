import { downstreamResponseHeaders, upstreamRequestHeaders } from './hop-by-hop';

const fwd = { clientIp: '::ffff:10.1.2.3', proto: 'http', requestId: 'rid-1' };

describe('upstreamRequestHeaders', () => {
  it('drops hop-by-hop headers and those named in Connection, keeping the rest in order and case', () => {
    const raw = ['Host', 'app.example', 'Connection', 'keep-alive, X-Secret-Hop', 'X-Secret-Hop', '1', 'Keep-Alive', 'timeout=5',
      'Transfer-Encoding', 'chunked', 'TE', 'trailers', 'Upgrade', 'h2c', 'Expect', '100-continue', 'Accept', 'text/plain', 'Set-Thing', 'a', 'Set-Thing', 'b'];
    expect(upstreamRequestHeaders(raw, 'keep-alive, X-Secret-Hop', fwd)).toEqual([
      'Host', 'app.example', 'Accept', 'text/plain', 'Set-Thing', 'a', 'Set-Thing', 'b',
      'x-forwarded-for', '10.1.2.3', 'x-forwarded-proto', 'http', 'x-forwarded-host', 'app.example', 'x-request-id', 'rid-1',
    ]);
  });

  it('appends the client to an existing X-Forwarded-For and replaces what the client claimed for proto, host and id', () => {
    const raw = ['host', 'h', 'X-Forwarded-For', '1.1.1.1', 'x-forwarded-for', '2.2.2.2', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'evil', 'X-Request-Id', 'forged'];
    expect(upstreamRequestHeaders(raw, undefined, fwd)).toEqual([
      'host', 'h', 'x-forwarded-for', '1.1.1.1, 2.2.2.2, 10.1.2.3', 'x-forwarded-proto', 'http', 'x-forwarded-host', 'h', 'x-request-id', 'rid-1',
    ]);
  });
});

describe('downstreamResponseHeaders', () => {
  it('keeps end-to-end headers, including repeated ones, drops hop-by-hop ones and stamps the request id', () => {
    expect(
      downstreamResponseHeaders({ 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], connection: 'close, x-hop', 'x-hop': '1', 'transfer-encoding': 'chunked', 'keep-alive': 'timeout=5' }, 'r-1'),
    ).toEqual({ 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], 'x-request-id': 'r-1' });
  });

  it.each([
    ['keep-alive', { 'x-hop': '1' }],
    ['close', { 'x-hop': '1' }],
    ['Keep-Alive, X-Hop', {}],
  ])('drops Connection: %p and only what it names', (connection, kept) => {
    expect(downstreamResponseHeaders({ connection, 'x-hop': '1', etag: '"1"' }, 'r-1')).toEqual({ ...kept, etag: '"1"', 'x-request-id': 'r-1' });
  });
});
