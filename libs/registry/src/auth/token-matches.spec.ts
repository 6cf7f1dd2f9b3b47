import { bearerToken, tokenMatches } from './token-matches';

describe('tokenMatches', () => {
  it.each([
    ['0123456789abcdef0123', '0123456789abcdef0123', true],
    ['0123456789abcdef0124', '0123456789abcdef0123', false],
    ['0123456789abcdef', '0123456789abcdef0123', false],
    ['', '0123456789abcdef0123', false],
  ])('%p against %p -> %p', (presented, expected, result) => {
    expect(tokenMatches(presented, expected)).toBe(result);
  });
});

describe('bearerToken', () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['Bearer  abc ', 'abc'],
    ['Basic abc', undefined],
    ['Bearer', undefined],
    ['Bearer a b', undefined],
    [undefined, undefined],
  ])('%p -> %p', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });
});
