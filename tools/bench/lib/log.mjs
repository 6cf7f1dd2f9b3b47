// Progress lines on stderr with the elapsed time, so a long run shows where it is.
const t0 = Date.now();

/** Elapsed time since the bench started, as m:ss. */
export function elapsed() {
  const s = Math.floor((Date.now() - t0) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** @param {...unknown} parts */
export function log(...parts) {
  process.stderr.write(`[${elapsed()}] ${parts.join(' ')}\n`);
}

/** @param {string} title */
export function heading(title) {
  process.stderr.write(`\n[${elapsed()}] ==== ${title} ====\n`);
}
