// V8 CPU profiles (`node --cpu-prof`, .cpuprofile JSON) as a self-contained SVG icicle graph (root
// on top, callees below; width = sample time) and as top-N tables by self and inclusive time.
// Frames are merged by function + script URL (anonymous functions also by line: a webpack bundle
// is one script); `(idle)` samples are left out of every total. Written by hand: no dependency.

/**
 * @typedef {{functionName: string, url: string, lineNumber: number}} CallFrame
 * @typedef {{id: number, callFrame: CallFrame, children?: number[]}} ProfileNode
 * @typedef {{nodes: ProfileNode[], startTime: number, endTime: number, samples: number[], timeDeltas: number[]}} CpuProfile  times in µs (CLOCK_MONOTONIC on Linux)
 * @typedef {{key: string, name: string, file: string, self: number, total: number, children: Map<string, Frame>}} Frame  self/total in µs
 * @typedef {{root: Frame, totalUs: number, idleUs: number, samples: number, functions: Map<string, {name: string, file: string, self: number, total: number}>}} Merged
 */

/**
 * Merges the samples between `fromUs` and `toUs` (profile clock; default: all) into one call tree.
 * @param {CpuProfile} profile
 * @param {{fromUs?: number, toUs?: number, root?: string}} [o]  root: strip this prefix from file URLs
 * @returns {Merged}
 */
export function mergeProfile(profile, o = {}) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  /** @type {Map<number, number>} */
  const parentOf = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  /** @type {Map<string, {name: string, file: string, self: number, total: number}>} */
  const functions = new Map();
  /** @type {Map<number, CallFrame[]>} */
  const stacks = new Map();
  /** Call frames from the root's child down to node `id` (the root itself left out). @param {number} id @returns {CallFrame[]} */
  const stackOf = (id) => {
    let s = stacks.get(id);
    if (!s) {
      const parent = parentOf.get(id);
      s = parent === undefined ? [] : [...stackOf(parent), /** @type {ProfileNode} */ (byId.get(id)).callFrame];
      stacks.set(id, s);
    }
    return s;
  };
  const root = frame('(all)', '(all)', '');
  let idleUs = 0;
  let samples = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i];
    const next = i + 1 < profile.samples.length ? at + profile.timeDeltas[i + 1] : profile.endTime;
    const weight = Math.max(0, next - at); // a sample stands for the time until the next one
    if (at < (o.fromUs ?? -Infinity) || at > (o.toUs ?? Infinity)) continue;
    const stack = stackOf(profile.samples[i]);
    if (stack.at(-1)?.functionName === '(idle)') {
      idleUs += weight;
      continue;
    }
    samples++;
    root.total += weight;
    let cur = root;
    const seen = new Set();
    for (const cf of stack) {
      const name = cf.functionName || `(anonymous):${cf.lineNumber + 1}`;
      const file = cf.url.replace(/^file:\/\//, '').replace(o.root ?? '\0', '').replace(/^\//, '');
      const key = `${name} ${cf.url}`;
      let child = cur.children.get(key);
      if (!child) cur.children.set(key, (child = frame(key, name, file ? `${file}:${cf.lineNumber + 1}` : '')));
      child.total += weight;
      cur = child;
      const fn = functions.get(key) ?? { name, file: child.file, self: 0, total: 0 };
      functions.set(key, fn);
      if (!seen.has(key)) fn.total += weight; // recursion counts once
      seen.add(key);
    }
    cur.self += weight;
    const leaf = functions.get(cur.key);
    if (leaf) leaf.self += weight;
  }
  return { root, totalUs: root.total, idleUs, samples, functions };
}

/** @param {string} key @param {string} name @param {string} file @returns {Frame} */
const frame = (key, name, file) => ({ key, name, file, self: 0, total: 0, children: new Map() });

const ROW = 17;
const CHAR = 6.6; // width of one character of 11 px monospace
const esc = (/** @type {string} */ s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Hue by where the code lives: ours (dist/), dependencies, Node's own, V8/native. @param {Frame} f */
function color(f) {
  let h = 0;
  for (const c of f.name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  const light = 62 + (h % 16);
  if (f.file.includes('dist/')) return `hsl(${20 + (h % 25)},85%,${light}%)`;
  if (f.file.includes('node_modules/')) return `hsl(${195 + (h % 25)},60%,${light}%)`;
  if (f.file.startsWith('node:')) return `hsl(${95 + (h % 30)},45%,${light}%)`;
  return `hsl(0,0%,${light + 8}%)`;
}

/**
 * The merged tree as an SVG icicle graph; frames under `minFraction` of the total are dropped.
 * @param {Merged} m
 * @param {{title: string, subtitle?: string, width?: number, minFraction?: number}} o
 */
export function flameGraphSvg(m, o) {
  const width = o.width ?? 1200;
  const pad = 10;
  const scale = (width - 2 * pad) / Math.max(1, m.totalUs);
  const min = (o.minFraction ?? 0.002) * m.totalUs;
  const top = o.subtitle ? 58 : 40;
  /** @type {string[]} */
  const cells = [];
  let depth = 0;
  /** @param {Frame} f @param {number} x @param {number} d */
  const draw = (f, x, d) => {
    depth = Math.max(depth, d);
    const w = f.total * scale;
    const pctText = `${((f.total / m.totalUs) * 100).toFixed(2)} %`;
    const tip = `${f.name}${f.file ? ` (${f.file})` : ''}: ${pctText}, ${(f.total / 1000).toFixed(1)} ms; self ${((f.self / m.totalUs) * 100).toFixed(2)} %`;
    const chars = Math.floor((w - 6) / CHAR);
    const label = chars < 3 ? '' : f.name.length <= chars ? f.name : `${f.name.slice(0, chars - 1)}…`;
    const y = top + d * ROW;
    cells.push(
      `<g><title>${esc(tip)}</title><rect x="${x.toFixed(2)}" y="${y}" width="${w.toFixed(2)}" height="${ROW - 1}" rx="2" fill="${color(f)}"/>` +
        (label ? `<text x="${(x + 3).toFixed(2)}" y="${y + 12}">${esc(label)}</text>` : '') +
        '</g>',
    );
    let cx = x;
    for (const c of [...f.children.values()].sort((a, b) => b.total - a.total)) {
      if (c.total >= min) draw(c, cx, d + 1);
      cx += c.total * scale;
    }
  };
  draw(m.root, pad, 0);
  const height = top + (depth + 1) * ROW + pad;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="ui-monospace, Menlo, Consolas, monospace" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${pad}" y="22" font-size="15" font-weight="bold">${esc(o.title)}</text>`,
    o.subtitle ? `<text x="${pad}" y="42" fill="#555">${esc(o.subtitle)}</text>` : '',
    ...cells,
    '</svg>',
    '',
  ].join('\n');
}

/**
 * Markdown tables: the top `n` functions by self time and by inclusive time.
 * @param {Merged} m
 * @param {number} [n]
 */
export function topFunctionsMarkdown(m, n = 25) {
  const fns = [...m.functions.values()];
  const p = (/** @type {number} */ us) => `${((us / m.totalUs) * 100).toFixed(1)} %`;
  const cell = (/** @type {string} */ s) => s.replace(/\|/g, '\\|');
  const code = (/** @type {string} */ s) => (s.includes('`') ? `\`\` ${cell(s)} \`\`` : `\`${cell(s)}\``);
  /** @param {'self'|'inclusive'} by */
  const table = (by) => {
    /** @type {['self'|'total', 'self'|'total']} */
    const [mine, other] = by === 'self' ? ['self', 'total'] : ['total', 'self'];
    return [
      `## Top ${n} by ${by} time`,
      '',
      `| # | function | file:line | ${by} ms | ${by} % | ${by === 'self' ? 'inclusive' : 'self'} % |`,
      '|---:|---|---|---:|---:|---:|',
      ...fns
        .sort((a, b) => b[mine] - a[mine])
        .slice(0, n)
        .map((f, i) => `| ${i + 1} | ${code(f.name)} | ${cell(f.file) || '-'} | ${(f[mine] / 1000).toFixed(1)} | ${p(f[mine])} | ${p(f[other])} |`),
      '',
    ];
  };
  return [...table('self'), ...table('inclusive')].join('\n');
}
