import { PassThrough } from 'node:stream';
import { answerClientError, httpServerTimeouts } from './listener-timeouts';

describe('httpServerTimeouts', () => {
  it.each([
    [{ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 }, { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 }],
    [{ headersTimeoutMs: 30_000, requestTimeoutMs: 0 }, { headersTimeout: 30_000, requestTimeout: 0, connectionsCheckingInterval: 1_000 }],
    [{ headersTimeoutMs: 60_000, requestTimeoutMs: 5_000 }, { headersTimeout: 5_000, requestTimeout: 5_000, connectionsCheckingInterval: 1_000 }],
    [{ headersTimeoutMs: 400, requestTimeoutMs: 2_000 }, { headersTimeout: 400, requestTimeout: 2_000, connectionsCheckingInterval: 100 }],
    [{ headersTimeoutMs: 1, requestTimeoutMs: 0 }, { headersTimeout: 1, requestTimeout: 0, connectionsCheckingInterval: 10 }],
  ])('%p -> %p', (timeouts, options) => {
    expect(httpServerTimeouts(timeouts)).toEqual(options);
  });
});

describe('answerClientError', () => {
  const answer = (code: string, maxHeaderBytes?: number) => {
    const socket = new PassThrough();
    answerClientError(Object.assign(new Error(code), { code }), socket, maxHeaderBytes);
    return String(socket.read() ?? '');
  };

  it.each([
    ['ERR_HTTP_REQUEST_TIMEOUT', 'HTTP/1.1 408 Request Timeout', 'request-timeout'],
    ['HPE_HEADER_OVERFLOW', 'HTTP/1.1 431 Request Header Fields Too Large', 'headers-too-large'],
    ['HPE_INVALID_METHOD', 'HTTP/1.1 400 Bad Request', 'malformed-request'],
  ])('answers %s with problem+json and closes', (code, statusLine, slug) => {
    const raw = answer(code);
    expect(raw.startsWith(`${statusLine}\r\n`)).toBe(true);
    expect(raw).toContain('content-type: application/problem+json');
    expect(raw).toContain('connection: close');
    expect(raw).toContain(`"type":"urn:lb:problem:${slug}"`);
  });

  it('names the header limit when it knows it', () => {
    expect(answer('HPE_HEADER_OVERFLOW', 16_384)).toContain('limited to 16384 bytes');
  });

  it('only closes a reset connection, or one whose answer has begun', () => {
    const reset = new PassThrough();
    answerClientError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), reset);
    expect(reset.destroyed).toBe(true);
    const answering = Object.assign(new PassThrough(), { _httpMessage: { headersSent: true } });
    answerClientError(Object.assign(new Error('late'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), answering);
    expect(answering.destroyed).toBe(true);
    expect(answering.read()).toBeNull();
  });
});
