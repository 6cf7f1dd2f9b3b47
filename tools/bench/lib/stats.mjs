// Small statistics helpers and the seeded PRNG that makes every target see the same requests.

/**
 * mulberry32: a tiny, fast, seedable PRNG (uniform in [0, 1)).
 * @param {number} seed
 * @returns {() => number}
 */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * @typedef {{p: number, min: number, max: number}} MixBand  probability p, uniform in [min, max] ms
 */

/**
 * Draws `n` durations (whole ms) from a banded heavy-tailed mix with a seeded PRNG.
 * @param {MixBand[]} mix
 * @param {number} n
 * @param {number} seed
 * @returns {number[]}
 */
export function drawDurations(mix, n, seed) {
  const rnd = prng(seed);
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    let u = rnd();
    let band = mix[mix.length - 1];
    for (const b of mix) {
      if (u < b.p) {
        band = b;
        break;
      }
      u -= b.p;
    }
    out[i] = Math.round(band.min + rnd() * (band.max - band.min));
  }
  return out;
}

/** Expected value of a banded mix (ms). @param {MixBand[]} mix */
export function mixMean(mix) {
  return mix.reduce((s, b) => s + b.p * (b.min + b.max) / 2, 0);
}

/**
 * Percentile (nearest rank) of an ascending-sorted array.
 * @param {number[]} sorted
 * @param {number} p  0..100
 */
export function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** @param {number[]} xs */
export function mean(xs) {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * mean, p50, p99, p99.9, max of a list of numbers.
 * @param {number[]} xs
 */
export function summary(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, mean: mean(s), p50: pct(s, 50), p99: pct(s, 99), p999: pct(s, 99.9), max: s.length ? s[s.length - 1] : NaN };
}

/** max/mean of a list (1 = perfectly even). @param {number[]} xs */
export function maxOverMean(xs) {
  const m = mean(xs);
  return m > 0 ? Math.max(...xs) / m : NaN;
}

/** @param {number} x @param {number} [digits] */
export function fmt(x, digits = 1) {
  if (x === undefined || x === null || Number.isNaN(x)) return 'n/a';
  if (!Number.isFinite(x)) return String(x);
  return x.toFixed(digits);
}

/** Formats an integer with thin thousands separators. @param {number} x */
export function fmtInt(x) {
  if (x === undefined || x === null || Number.isNaN(x)) return 'n/a';
  return Math.round(x).toLocaleString('en-US');
}
