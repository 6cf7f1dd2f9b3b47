/**
 * The dashboard page (GET /dashboard). Shipped as a string so the production bundle carries it with
 * no asset step; its stylesheet and script are served beside it (relative URLs, so the page also
 * works behind a proxy that mounts the registry under a prefix). Everything shown is filled in by
 * the script from /dashboard/events.
 */
export const DASHBOARD_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Load balancer dashboard</title>
<link rel="stylesheet" href="dashboard/app.css">
<script src="dashboard/app.js" defer></script>
</head>
<body>
<header class="top">
  <h1>Load balancer</h1>
  <p id="connection" class="connection" data-state="connecting" role="status" aria-live="polite">connecting&hellip;</p>
</header>
<main>
  <section class="panel" aria-labelledby="actions-title">
    <h2 id="actions-title">Actions</h2>
    <div class="token-row">
      <label for="token">Registry token</label>
      <input id="token" type="password" autocomplete="off" autocapitalize="off" spellcheck="false" placeholder="needed to drain or activate">
      <button type="button" id="forget-token">Forget</button>
    </div>
    <p class="hint">Kept in this browser tab only, and sent only to this registry as a bearer token when you press Drain or Activate.</p>
    <p id="action-result" class="action-result" role="status" aria-live="polite"></p>
  </section>

  <section aria-labelledby="pools-title">
    <h2 id="pools-title">Pools</h2>
    <p class="legend">
      <span class="key"><span class="swatch seg-slots"></span>gateway slots</span>
      <span class="key"><span class="swatch seg-reported"></span>own count beyond the slots</span>
      <span class="key"><span class="swatch seg-pending"></span>pending redirects</span>
    </p>
    <p class="hint">A bar is the load a pick compares (longest = busiest backend). Share: part of the requests each backend served in the last <span id="window">10 s</span>, against its fair share (the tick: its weight over the weight of the pool's active, healthy backends).</p>
    <div id="pools"><p class="muted">waiting for the first snapshot&hellip;</p></div>
  </section>

  <section aria-labelledby="gateways-title">
    <h2 id="gateways-title">Gateways</h2>
    <ul id="gateways" class="cards"></ul>
  </section>

  <section aria-labelledby="events-title">
    <h2 id="events-title">Events <span class="muted">(newest first)</span></h2>
    <ol id="events" class="events"></ol>
  </section>
</main>
</body>
</html>
`;
