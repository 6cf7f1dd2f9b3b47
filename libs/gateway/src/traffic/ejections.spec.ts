import { Ejections } from './ejections';

describe('Ejections', () => {
  it('skips an ejected backend until its time is up', () => {
    let now = 1_000;
    const ejections = new Ejections(500, () => now);
    expect(ejections.current()).toEqual([]);
    expect(ejections.eject('a')).toBe(true);
    now = 1_400;
    expect(ejections.current()).toEqual(['a']);
    expect(ejections.eject('a')).toBe(false); // still skipped: not news (the registry heard of it)
    now = 1_850;
    expect(ejections.current()).toEqual(['a']); // the second failure extended the skip
    now = 1_901;
    expect(ejections.current()).toEqual([]);
    expect(ejections.eject('a')).toBe(true);
  });

  it('does nothing when ejection is turned off', () => {
    const ejections = new Ejections(0);
    expect(ejections.eject('a')).toBe(false);
    expect(ejections.current()).toEqual([]);
  });
});
