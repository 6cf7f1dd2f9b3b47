/**
 * The dashboard's stylesheet (GET /dashboard/app.css): one column on a phone, a grid of backends on
 * wider screens, nothing wider than the viewport. Colour is never the only signal: states and
 * health are written out, and the bar's three parts differ in pattern as well as hue.
 */
export const DASHBOARD_CSS = String.raw`
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --card: #ffffff; --text: #1b1f24; --muted: #57606a; --line: #d0d7de;
  --slots: #1f6feb; --reported: #bc4c00; --pending: #8250df;
  --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --track: #eaeef2;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --card: #161b22; --text: #e6edf3; --muted: #9198a1; --line: #30363d;
    --slots: #4493f8; --reported: #f0883e; --pending: #ab7df8;
    --ok: #3fb950; --warn: #d29922; --bad: #f85149; --track: #21262d;
  }
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
main, .top { max-width: 78rem; margin: 0 auto; padding: 0 0.75rem; }
.top { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 0.25rem 1rem; padding-top: 0.75rem; }
h1 { font-size: 1.3rem; margin: 0; }
h2 { font-size: 1.1rem; margin: 1.25rem 0 0.5rem; }
h3 { font-size: 1rem; margin: 0; }
.muted, .hint { color: var(--muted); }
.hint { font-size: 0.85rem; margin: 0.25rem 0; }
.connection { margin: 0; font-size: 0.9rem; }
.connection::before { content: "\25CF\00A0"; }
.connection[data-state="live"]::before { color: var(--ok); }
.connection[data-state="connecting"]::before, .connection[data-state="trouble"]::before { color: var(--warn); }
.connection[data-state="closed"]::before { color: var(--bad); }
.panel h2 { margin-top: 0; }
.panel, .pool, .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 0.75rem; }
.token-row { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; }
.token-row input { flex: 1 1 12rem; min-width: 0; }
input, button { font: inherit; color: inherit; }
input { padding: 0.4rem 0.5rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); }
button {
  padding: 0.35rem 0.8rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg);
  cursor: pointer; min-height: 2.25rem;
}
button:hover { border-color: var(--muted); }
button:focus-visible, input:focus-visible { outline: 3px solid var(--slots); outline-offset: 1px; }
button[disabled] { opacity: 0.6; cursor: progress; }
.action-result { margin: 0.4rem 0 0; min-height: 1.4em; overflow-wrap: anywhere; }
.action-result[data-kind="error"] { color: var(--bad); }
.action-result[data-kind="error"]::before { content: "\26A0\00A0"; }
.action-result[data-kind="ok"]::before { content: "\2713\00A0"; color: var(--ok); }
.legend { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; margin: 0; font-size: 0.85rem; }
.key { display: inline-flex; align-items: center; gap: 0.35rem; }
.swatch { display: inline-block; width: 1.5rem; height: 0.8rem; border-radius: 2px; }
.pool { margin-bottom: 0.75rem; }
.pool-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.25rem 1rem; margin-bottom: 0.5rem; }
.backends { list-style: none; margin: 0; padding: 0; display: grid; gap: 0.6rem; grid-template-columns: repeat(auto-fill, minmax(min(100%, 19rem), 1fr)); }
.backend { border: 1px solid var(--line); border-radius: 6px; padding: 0.6rem; min-width: 0; }
.backend[data-state="draining"], .backend[data-health="down"] { border-style: dashed; }
.backend-head { display: flex; flex-wrap: wrap; align-items: center; gap: 0.3rem 0.5rem; }
.backend-id, .url, .card-id { overflow-wrap: anywhere; }
.url { font-size: 0.8rem; color: var(--muted); margin: 0.15rem 0 0.4rem; }
.badge { font-size: 0.8rem; border: 1px solid currentColor; border-radius: 999px; padding: 0 0.5rem; white-space: nowrap; }
.badge[data-value="active"], .badge[data-value="up"] { color: var(--ok); }
.badge[data-value="draining"], .badge[data-value="degraded"] { color: var(--warn); border-style: dashed; }
.badge[data-value="down"], .badge[data-value="unreachable"] { color: var(--bad); border-style: dotted; border-width: 2px; }
.bar { display: flex; height: 1.1rem; background: var(--track); border-radius: 3px; overflow: hidden; }
.seg { display: block; height: 100%; width: 0; transition: width 0.3s ease; }
.seg-slots { background: var(--slots); }
.seg-reported { background: repeating-linear-gradient(45deg, var(--reported) 0 4px, transparent 4px 7px), color-mix(in srgb, var(--reported) 35%, transparent); }
.seg-pending { background: radial-gradient(circle, var(--pending) 1.5px, transparent 2px) 0 0 / 5px 5px, color-mix(in srgb, var(--pending) 30%, transparent); }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(5.5rem, 1fr)); gap: 0.2rem 0.5rem; margin: 0.5rem 0; }
.figures div { min-width: 0; }
.figures dt { font-size: 0.75rem; color: var(--muted); }
.figures dd { margin: 0; font-variant-numeric: tabular-nums; font-weight: 600; }
.share { display: grid; grid-template-columns: 4.5rem 1fr; align-items: center; gap: 0.2rem 0.5rem; font-size: 0.8rem; margin-bottom: 0.5rem; }
.share-track { position: relative; height: 0.5rem; background: var(--track); border-radius: 3px; }
.share-fill { position: absolute; inset: 0 auto 0 0; background: var(--muted); border-radius: 3px; width: 0; }
.share-fair { position: absolute; top: -0.2rem; bottom: -0.2rem; width: 2px; background: var(--text); }
.cards { list-style: none; margin: 0; padding: 0; display: grid; gap: 0.6rem; grid-template-columns: repeat(auto-fill, minmax(min(100%, 19rem), 1fr)); }
.card-head { display: flex; flex-wrap: wrap; align-items: center; gap: 0.3rem 0.5rem; }
.leases { margin: 0.4rem 0 0; font-size: 0.85rem; overflow-wrap: anywhere; }
.events { list-style: none; margin: 0; padding: 0; font-size: 0.9rem; }
.events li { padding: 0.3rem 0; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
.events time { color: var(--muted); font-variant-numeric: tabular-nums; margin-right: 0.5rem; }
.event-type { font-weight: 600; }
`;
