import { nextHealth, type HealthTrack } from './health-state';

const run = (start: HealthTrack, results: string) =>
  [...results].reduce<HealthTrack[]>((seen, r) => [...seen, nextHealth(seen[seen.length - 1] ?? start, r === '+', { rise: 2, fall: 3 })], []).map((t) => t.health[0]).join('');

describe('nextHealth (rise 2, fall 3)', () => {
  it.each([
    ['an up backend stays up through two failures', { health: 'up', streak: 0 }, '--+--+', 'uuuuuu'],
    ['and goes down on the third in a row', { health: 'up', streak: 0 }, '---', 'uud'],
    ['a down backend needs two passes in a row to come back', { health: 'down', streak: 0 }, '+-++', 'dddu'],
    ['a flapping backend stays where it is', { health: 'down', streak: 0 }, '+-+-+-', 'dddddd'],
  ] as const)('%s', (_name, start, results, expected) => {
    expect(run(start, results)).toBe(expected);
  });
});
