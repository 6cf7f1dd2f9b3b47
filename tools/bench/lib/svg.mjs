// Hand-written SVG charts (no chart dependency): horizontal bar charts and simple line charts.

const FONT = 'font-family="Helvetica, Arial, sans-serif"';
export const COLORS = { ours: '#2b6cb0', nginx: '#2f855a', haproxy: '#c05621', direct: '#718096', other: '#805ad5' };
/** Distinct colours for charts with many series (e.g. one per fault). */
export const PALETTE = ['#2b6cb0', '#c05621', '#2f855a', '#805ad5', '#b7791f', '#c53030', '#319795', '#4a5568'];

/** @param {string} s */
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Picks a colour from a label (ours / nginx / haproxy / direct). @param {string} label */
export function colorFor(label) {
  const l = label.toLowerCase();
  if (l.includes('ours')) return COLORS.ours;
  if (l.includes('nginx')) return COLORS.nginx;
  if (l.includes('haproxy')) return COLORS.haproxy;
  if (l.includes('direct')) return COLORS.direct;
  return COLORS.other;
}

/** A "nice" axis maximum. @param {number} v */
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * Horizontal bars, one row per item, grouped under optional group titles.
 * @param {{title: string, subtitle?: string, unit?: string, digits?: number, ref?: {value: number, label: string}, groups: {title?: string, bars: {label: string, value: number, color?: string}[]}[]}} o
 */
export function barChart(o) {
  const rowH = 22;
  const labelW = 190;
  const chartW = 420;
  const valueW = 90;
  const width = labelW + chartW + valueW + 20;
  const values = o.groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v) => Number.isFinite(v));
  const max = niceMax(Math.max(...values, o.ref?.value ?? 0) * 1.05);
  let y = o.subtitle ? 52 : 40;
  const parts = [];
  for (const g of o.groups) {
    if (g.title) {
      parts.push(`<text x="10" y="${y + 14}" ${FONT} font-size="12" font-weight="bold" fill="#222">${esc(g.title)}</text>`);
      y += rowH;
    }
    for (const b of g.bars) {
      const w = Number.isFinite(b.value) ? Math.max(1, (b.value / max) * chartW) : 0;
      parts.push(`<text x="${labelW - 8}" y="${y + 15}" ${FONT} font-size="12" text-anchor="end" fill="#333">${esc(b.label)}</text>`);
      parts.push(`<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 7}" fill="${b.color ?? colorFor(b.label)}" rx="2"/>`);
      const txt = Number.isFinite(b.value) ? `${b.value.toFixed(o.digits ?? 2)}${o.unit ? ` ${o.unit}` : ''}` : 'n/a';
      parts.push(`<text x="${labelW + w + 6}" y="${y + 15}" ${FONT} font-size="11" fill="#333">${esc(txt)}</text>`);
      y += rowH;
    }
  }
  const top = o.subtitle ? 52 : 40;
  const axisY = y + 4;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const x = labelW + f * chartW;
    return `<line x1="${x}" y1="${top}" x2="${x}" y2="${axisY}" stroke="#e2e2e2"/><text x="${x}" y="${axisY + 14}" ${FONT} font-size="10" text-anchor="middle" fill="#666">${+(f * max).toPrecision(3)}</text>`;
  });
  let ref = '';
  if (o.ref && Number.isFinite(o.ref.value)) {
    const x = labelW + (o.ref.value / max) * chartW;
    ref = `<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${axisY}" stroke="#c53030" stroke-dasharray="4 3"/><text x="${x + 4}" y="${top - 6}" ${FONT} font-size="10" fill="#c53030">${esc(o.ref.label)}</text>`;
  }
  const height = axisY + 26;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="22" ${FONT} font-size="15" font-weight="bold" fill="#111">${esc(o.title)}</text>
${o.subtitle ? `<text x="10" y="40" ${FONT} font-size="11" fill="#555">${esc(o.subtitle)}</text>` : ''}
${ticks.join('\n')}
${parts.join('\n')}
${ref}
</svg>
`;
}

/**
 * Line chart of several series over a shared x axis.
 * `xMarks`: dashed vertical lines (e.g. when a fault began); `yMin` may be negative, `yMax` fixes the
 * top (values beyond the y range are drawn at its edge); `gaps`: a non-finite value breaks the line instead of being skipped.
 * @param {{title: string, subtitle?: string, xLabel: string, yLabel: string, series: {label: string, points: [number, number][], color?: string}[], refY?: {value: number, label: string}, yMin?: number, yMax?: number, xMarks?: {x: number, label: string}[], gaps?: boolean}} o
 */
export function lineChart(o) {
  const W = 720;
  const H = 320;
  const m = { l: 60, r: 150, t: o.subtitle ? 56 : 44, b: 44 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const xs = o.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = o.series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => Number.isFinite(v));
  const xMax = niceMax(Math.max(...xs, 1));
  const yMin = o.yMin ?? 0;
  const yMax = o.yMax ?? niceMax(Math.max(...ys, o.refY?.value ?? 0) * 1.05 - yMin) + yMin;
  const X = (/** @type {number} */ x) => m.l + (x / xMax) * pw;
  const Y = (/** @type {number} */ y) => m.t + ph - ((Math.max(yMin, Math.min(y, yMax)) - yMin) / (yMax - yMin)) * ph;
  const grid = [];
  for (let k = 0; k <= 4; k++) {
    const yv = yMin + ((yMax - yMin) * k) / 4;
    grid.push(`<line x1="${m.l}" y1="${Y(yv)}" x2="${m.l + pw}" y2="${Y(yv)}" stroke="#e2e2e2"/><text x="${m.l - 6}" y="${Y(yv) + 4}" ${FONT} font-size="10" text-anchor="end" fill="#666">${+yv.toPrecision(3)}</text>`);
    const xv = (xMax * k) / 4;
    grid.push(`<text x="${X(xv)}" y="${m.t + ph + 16}" ${FONT} font-size="10" text-anchor="middle" fill="#666">${+xv.toPrecision(3)}</text>`);
  }
  const lines = o.series.map((s, i) => {
    const color = s.color ?? colorFor(s.label);
    // With `gaps`, a point whose value is not finite ends the line (missing data), else it is skipped.
    /** @type {string[][]} */
    const runs = [[]];
    for (const p of s.points) {
      if (Number.isFinite(p[1])) runs[runs.length - 1].push(`${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`);
      else if (o.gaps && runs[runs.length - 1].length) runs.push([]);
    }
    const polys = runs.filter((r) => r.length).map((r) => `<polyline fill="none" stroke="${color}" stroke-width="2" points="${r.join(' ')}"/>`);
    return `${polys.join('\n')}
<rect x="${m.l + pw + 14}" y="${m.t + i * 20}" width="12" height="12" fill="${color}"/><text x="${m.l + pw + 32}" y="${m.t + i * 20 + 10}" ${FONT} font-size="12" fill="#333">${esc(s.label)}</text>`;
  });
  const marks = (o.xMarks ?? []).map(
    (mk) => `<line x1="${X(mk.x)}" y1="${m.t}" x2="${X(mk.x)}" y2="${m.t + ph}" stroke="#c53030" stroke-dasharray="4 3"/><text x="${X(mk.x) + 4}" y="${m.t + 10}" ${FONT} font-size="10" fill="#c53030">${esc(mk.label)}</text>`,
  );
  let ref = '';
  if (o.refY) ref = `<line x1="${m.l}" y1="${Y(o.refY.value)}" x2="${m.l + pw}" y2="${Y(o.refY.value)}" stroke="#c53030" stroke-dasharray="4 3"/><text x="${m.l + pw - 4}" y="${Y(o.refY.value) - 4}" ${FONT} font-size="10" text-anchor="end" fill="#c53030">${esc(o.refY.label)}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="22" ${FONT} font-size="15" font-weight="bold" fill="#111">${esc(o.title)}</text>
${o.subtitle ? `<text x="10" y="40" ${FONT} font-size="11" fill="#555">${esc(o.subtitle)}</text>` : ''}
${grid.join('\n')}
<line x1="${m.l}" y1="${m.t + ph}" x2="${m.l + pw}" y2="${m.t + ph}" stroke="#999"/>
<text x="${m.l + pw / 2}" y="${H - 8}" ${FONT} font-size="11" text-anchor="middle" fill="#444">${esc(o.xLabel)}</text>
<text x="14" y="${m.t + ph / 2}" ${FONT} font-size="11" text-anchor="middle" fill="#444" transform="rotate(-90 14 ${m.t + ph / 2})">${esc(o.yLabel)}</text>
${ref}
${marks.join('\n')}
${lines.join('\n')}
</svg>
`;
}
