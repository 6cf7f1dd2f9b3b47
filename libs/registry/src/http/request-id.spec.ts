import { requestId } from './request-id';

const req = (headers: Record<string, string | string[]>) => ({ headers });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('requestId', () => {
  it('keeps a well-formed client id', () => {
    expect(requestId(req({ 'x-request-id': 'abc-123.4:5' }))).toBe('abc-123.4:5');
  });

  it.each([[{}], [{ 'x-request-id': '' }], [{ 'x-request-id': 'has space' }], [{ 'x-request-id': 'x'.repeat(129) }], [{ 'x-request-id': ['a', 'b'] }]])(
    'makes a UUID for %p',
    (headers) => {
      expect(requestId(req(headers))).toMatch(UUID);
    },
  );
});
