import { Ejections } from './ejections';

describe('Ejections', () => {
  it('skips an ejected backend until its time is up', () => {
    let now = 1_000;
    const ejections = new Ejections(500, () => now);
    expect(ejections.current()).toEqual([]);
    ejections.eject('a');
    now = 1_400;
    expect(ejections.current()).toEqual(['a']);
    now = 1_501;
    expect(ejections.current()).toEqual([]);
  });

  it('does nothing when ejection is turned off', () => {
    const ejections = new Ejections(0);
    ejections.eject('a');
    expect(ejections.current()).toEqual([]);
  });
});
