import { type ServedCounts, ServedHistory, servedInWindow, type ServedSample, sumServed, trimSamples } from './served-window';

const WINDOW = 10_000;
const s = (at: number, a: number, b = 0, startedAt = 0): ServedSample => ({ at, startedAt, served: { default: { a, b } } });

describe('servedInWindow: one gateway, the difference across the last 10 s', () => {
  it.each<[string, ServedSample[], number, Record<string, number>]>([
    ['no sample', [], 20_000, {}],
    ['one sample of a gateway that started long ago: nothing known yet', [s(20_000, 500, 200)], 20_000, { a: 0, b: 0 }],
    ['baseline is the last sample at or before the window start', [s(5_000, 100), s(10_000, 150), s(15_000, 180), s(20_000, 230)], 20_000, { a: 80, b: 0 }],
    ['samples that do not reach back that far: the oldest is the baseline', [s(15_000, 100, 10), s(17_000, 140, 10), s(20_000, 160, 40)], 20_000, { a: 60, b: 30 }],
    ['a gateway started inside the window: all it served is recent', [s(15_000, 40, 2, 12_000), s(20_000, 90, 5, 12_000)], 20_000, { a: 90, b: 5 }],
    ['a restart: samples of the previous run are ignored', [s(5_000, 900, 900, 0), s(10_000, 950, 950, 0), s(20_000, 30, 20, 15_000)], 20_000, { a: 30, b: 20 }],
    ['a counter that went down (a backend forgotten, then back) counts from zero', [s(5_000, 100, 50), s(20_000, 7, 60)], 20_000, { a: 7, b: 10 }],
    ['a backend new since the baseline counts whole', [{ at: 5_000, startedAt: 0, served: { default: { a: 10 } } }, s(20_000, 15, 4)], 20_000, { a: 5, b: 4 }],
    ['a stale newest sample (the gateway stopped answering) adds nothing', [s(2_000, 10), s(8_000, 50)], 20_000, { a: 0, b: 0 }],
  ])('%s', (_, samples, now, expected) => {
    expect(servedInWindow(samples, now, WINDOW).default ?? {}).toEqual(expected);
  });
});

describe('trimSamples keeps what the window needs', () => {
  it.each([
    [[1_000, 5_000, 9_000, 12_000, 19_000], 20_000, [9_000, 12_000, 19_000]],
    [[10_000, 15_000], 20_000, [10_000, 15_000]],
    [[12_000, 15_000], 20_000, [12_000, 15_000]],
    [[], 20_000, []],
  ])('%p at %p -> %p', (ats, now, kept) => {
    expect(trimSamples(ats.map((at) => s(at, 0)), now, WINDOW).map((x) => x.at)).toEqual(kept);
  });
});

describe('sumServed adds gateways up', () => {
  it.each<[ServedCounts[], ServedCounts]>([
    [[], {}],
    [[{ p: { a: 1 } }], { p: { a: 1 } }],
    [[{ p: { a: 1, b: 2 } }, { p: { a: 3 }, q: { c: 4 } }], { p: { a: 4, b: 2 }, q: { c: 4 } }],
  ])('%j -> %j', (parts, sum) => {
    expect(sumServed(parts)).toEqual(sum);
  });
});

describe('ServedHistory: every gateway over rounds', () => {
  const sample = (at: number, a: number) => ({ at, startedAt: 0, served: { default: { a } } });

  it.each<[string, [string[], Record<string, number>][], number]>([
    ['two gateways add up', [[['g1', 'g2'], { g1: 100, g2: 50 }], [['g1', 'g2'], { g1: 110, g2: 70 }]], 30],
    ['a gateway that missed a round still counts its difference later', [[['g1'], { g1: 100 }], [['g1'], {}], [['g1'], { g1: 125 }]], 25],
    ['a gateway no longer announced is forgotten, and starts over when it is back', [[['g1'], { g1: 100 }], [[], {}], [['g1'], { g1: 140 }]], 0],
  ])('%s', (_, rounds, expected) => {
    const history = new ServedHistory(WINDOW);
    let result = {};
    rounds.forEach(([present, values], i) => {
      const at = 100_000 + i * 1_000;
      result = history.record(present, new Map(Object.entries(values).map(([id, a]) => [id, sample(at, a)])), at);
    });
    expect(result).toEqual(expected === 0 ? { default: { a: 0 } } : { default: { a: expected } });
  });

  it('forgets everything on clear, so the next viewer does not measure across the pause', () => {
    const history = new ServedHistory(WINDOW);
    history.record(['g1'], new Map([['g1', sample(100_000, 100)]]), 100_000);
    history.clear();
    expect(history.record(['g1'], new Map([['g1', sample(400_000, 900)]]), 400_000)).toEqual({ default: { a: 0 } });
  });
});
