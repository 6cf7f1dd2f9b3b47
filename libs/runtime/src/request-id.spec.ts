import { FASTIFY_REQUEST_ID_OPTIONS, requestIdFrom } from './request-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('requestIdFrom', () => {
  it('keeps a well-formed client id', () => {
    expect(requestIdFrom('abc-123.4:5')).toBe('abc-123.4:5');
    expect(FASTIFY_REQUEST_ID_OPTIONS.genReqId({ headers: { 'x-request-id': 'abc' } })).toBe('abc');
  });

  it.each([[undefined], [''], ['has space'], ['x'.repeat(129)], [['a', 'b']], ['line\nbreak']])('makes a UUID instead of %p', (header) => {
    expect(requestIdFrom(header)).toMatch(UUID);
  });
});
