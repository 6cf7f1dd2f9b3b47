import { matchRoute, parseRoutes } from './route-table';

const defaults = { pool: 'default', mode: 'proxy' as const };

describe('route table', () => {
  const routes = parseRoutes('api.example.com/=api, /downloads/=files:redirect, /ws=sessions, /=default', defaults);

  it.each([
    ['api.example.com', '/anything', 'api', 'proxy'],
    ['API.example.com:8080', '/downloads/x', 'api', 'proxy'],
    ['other.example.com', '/downloads/big.iso', 'files', 'redirect'],
    [undefined, '/ws', 'sessions', 'proxy'],
    [undefined, '/ws?room=1', 'sessions', 'proxy'],
    [undefined, '/ws/chat', 'sessions', 'proxy'],
    [undefined, '/wsx', 'default', 'proxy'],
    ['x', '/', 'default', 'proxy'],
  ])('host %p, %p -> pool %p in %p mode', (host, url, pool, mode) => {
    expect(matchRoute(routes, host, url)).toMatchObject({ pool, mode });
  });

  it('sends everything to the default pool when unset', () => {
    expect(parseRoutes(undefined, defaults)).toEqual([{ prefix: '/', pool: 'default', mode: 'proxy' }]);
    expect(parseRoutes('', { pool: 'p', mode: 'redirect' })).toEqual([{ prefix: '/', pool: 'p', mode: 'redirect' }]);
  });

  it('has no route for a path outside every prefix', () => {
    expect(matchRoute(parseRoutes('/api=api', defaults), 'h', '/other')).toBeUndefined();
  });

  it.each([
    ['api', 'expected [host]/prefix=pool[:mode]'],
    ['host=api', 'the path prefix must start with "/"'],
    ['/a=bad pool', 'pool "bad pool"'],
    ['/a=api:teleport', 'mode "teleport": expected proxy or redirect'],
    ['/a=api, /a=other', '"/a" appears twice'],
    ['/a?x=api', 'a prefix is a path'],
  ])('refuses %p: %p', (value, message) => {
    expect(() => parseRoutes(value, defaults)).toThrow(message);
  });
});
