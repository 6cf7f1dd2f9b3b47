import { ActiveConnections } from './active-connections';

describe('ActiveConnections', () => {
  it('counts each request off exactly once, however many ways it ends', () => {
    const connections = new ActiveConnections();
    const seen: number[] = [];
    connections.onChange((n) => seen.push(n));
    const a = connections.open();
    const b = connections.open();
    a(true);
    a(false); // finish, then close: still one
    b(false);
    b(true);
    expect(connections.active).toBe(0);
    expect(connections.served).toBe(1);
    expect(seen).toEqual([1, 2, 1, 0]);
  });

  it('stops telling a listener that unsubscribed', () => {
    const connections = new ActiveConnections();
    const seen: number[] = [];
    const off = connections.onChange((n) => seen.push(n));
    connections.open();
    off();
    connections.open();
    expect(seen).toEqual([1]);
    expect(connections.active).toBe(2);
  });
});
