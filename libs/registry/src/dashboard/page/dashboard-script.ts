/**
 * The dashboard's script (GET /dashboard/app.js): plain browser JavaScript, no framework, no build.
 * It listens to /dashboard/events and keeps the page in step with each snapshot (elements are
 * updated in place, so a focused button stays focused); it writes every value as text, never as
 * markup. The token lives in sessionStorage (this tab only) and leaves the page only in the
 * Authorization header of a drain or activate call to this registry.
 *
 * Kept free of backquotes and dollar-brace so it can live in this template string.
 */
export const DASHBOARD_SCRIPT = String.raw`'use strict';
(function () {
  var TOKEN_KEY = 'lb-registry-token';
  var MAX_EVENTS = 100;
  var tokenInput = document.getElementById('token');
  var connection = document.getElementById('connection');
  var result = document.getElementById('action-result');
  var poolsRoot = document.getElementById('pools');
  var gatewaysRoot = document.getElementById('gateways');
  var eventsRoot = document.getElementById('events');
  var windowLabel = document.getElementById('window');
  var pools = new Map();
  var source;

  // ---- the token: this tab only ----
  tokenInput.value = sessionStorage.getItem(TOKEN_KEY) || '';
  tokenInput.addEventListener('input', function () {
    var token = tokenInput.value.trim();
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  });
  document.getElementById('forget-token').addEventListener('click', function () {
    tokenInput.value = '';
    sessionStorage.removeItem(TOKEN_KEY);
    say('Token forgotten.', 'ok');
  });

  // ---- small helpers ----
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }
  function percent(x) {
    return x === null ? '\u2013' : (Math.round(x * 1000) / 10) + '%';
  }
  function number(x) {
    return String(Math.round(x * 100) / 100);
  }
  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }
  function say(text, kind) {
    result.textContent = text;
    result.dataset.kind = kind;
  }
  function setConnection(state, text) {
    connection.dataset.state = state;
    setText(connection, text);
  }

  // ---- one backend ----
  function makeBackend(id) {
    var item = el('li', 'backend');
    item.dataset.backend = id;
    var head = el('div', 'backend-head');
    var name = el('h3', 'backend-id', id);
    var state = el('span', 'badge');
    var health = el('span', 'badge');
    var weight = el('span', 'muted');
    head.append(name, state, health, weight);
    var url = el('div', 'url');
    var bar = el('div', 'bar');
    bar.setAttribute('role', 'img');
    var slots = el('span', 'seg seg-slots');
    var reported = el('span', 'seg seg-reported');
    var pending = el('span', 'seg seg-pending');
    bar.append(slots, reported, pending);
    var figures = el('dl', 'figures');
    var values = {};
    [['active', 'load'], ['slots', 'gateway slots'], ['reported', 'own count'], ['pending', 'pending'], ['share', 'share'], ['fair', 'fair share']].forEach(function (f) {
      var cell = el('div');
      var dd = el('dd', null, '0');
      dd.dataset.field = f[0];
      cell.append(el('dt', null, f[1]), dd);
      figures.append(cell);
      values[f[0]] = dd;
    });
    var share = el('div', 'share');
    var shareText = el('span');
    var track = el('div', 'share-track');
    var fill = el('div', 'share-fill');
    var fair = el('div', 'share-fair');
    track.append(fill, fair);
    track.setAttribute('aria-hidden', 'true');
    share.append(shareText, track);
    var button = el('button', 'action');
    button.type = 'button';
    button.dataset.id = id;
    item.append(head, url, bar, figures, share, button);
    return { item: item, state: state, health: health, weight: weight, url: url, bar: bar, slots: slots, reported: reported, pending: pending, values: values, shareText: shareText, fill: fill, fair: fair, button: button };
  }

  function updateBackend(view, b, busiest) {
    view.item.dataset.state = b.state;
    view.item.dataset.health = b.health;
    view.state.dataset.value = b.state;
    setText(view.state, b.state === 'active' ? '\u25B6 active' : '\u2016 draining');
    view.health.dataset.value = b.health;
    setText(view.health, b.health === 'up' ? '\u2713 up' : '\u2717 down');
    setText(view.weight, 'weight ' + number(b.weight));
    setText(view.url, b.url);
    view.slots.style.width = (100 * b.bar.slots / busiest) + '%';
    view.reported.style.width = (100 * b.bar.reportedExtra / busiest) + '%';
    view.pending.style.width = (100 * b.bar.pending / busiest) + '%';
    view.bar.setAttribute('aria-label', 'load ' + b.load.active + ': ' + b.bar.slots + ' gateway slots, ' + b.bar.reportedExtra + ' more counted by the backend, ' + b.bar.pending + ' pending redirects');
    setText(view.values.active, String(b.load.active));
    setText(view.values.slots, String(b.load.slots));
    setText(view.values.reported, String(b.load.reported));
    setText(view.values.pending, String(b.load.pending));
    setText(view.values.share, percent(b.share));
    setText(view.values.fair, percent(b.fairShare));
    setText(view.shareText, b.recent + ' req');
    view.fill.style.width = (100 * (b.share || 0)) + '%';
    view.fair.style.left = 'calc(' + (100 * b.fairShare) + '% - 1px)';
    var action = b.state === 'active' ? 'drain' : 'activate';
    if (view.button.dataset.action !== action) {
      view.button.dataset.action = action;
      view.button.textContent = action === 'drain' ? 'Drain' : 'Activate';
      view.button.setAttribute('aria-label', (action === 'drain' ? 'Drain ' : 'Activate ') + b.id);
    }
  }

  // ---- pools, keyed so elements survive between snapshots ----
  function renderPools(snapshot) {
    if (pools.size === 0) poolsRoot.textContent = '';
    if (snapshot.pools.length === 0) {
      poolsRoot.textContent = 'No pool yet: register a backend.';
      pools.clear();
      return;
    }
    var seen = new Set();
    snapshot.pools.forEach(function (p) {
      seen.add(p.pool);
      var pool = pools.get(p.pool);
      if (!pool) {
        var section = el('section', 'pool');
        section.dataset.pool = p.pool;
        var head = el('div', 'pool-head');
        var title = el('h3', null, 'pool ' + p.pool);
        var summary = el('span', 'muted');
        head.append(title, summary);
        var list = el('ul', 'backends');
        section.append(head, list);
        pool = { section: section, summary: summary, list: list, backends: new Map() };
        pools.set(p.pool, pool);
      }
      poolsRoot.append(pool.section); // keeps the snapshot's order
      var active = p.backends.filter(function (b) { return b.state === 'active' && b.health === 'up'; }).length;
      setText(pool.summary, p.backends.length + ' backends, ' + active + ' taking requests, ' + p.recent + ' requests in the window');
      var ids = new Set();
      p.backends.forEach(function (b) {
        ids.add(b.id);
        var view = pool.backends.get(b.id);
        if (!view) {
          view = makeBackend(b.id);
          pool.backends.set(b.id, view);
        }
        pool.list.append(view.item);
        updateBackend(view, b, snapshot.busiest);
      });
      pool.backends.forEach(function (view, id) {
        if (!ids.has(id)) {
          view.item.remove();
          pool.backends.delete(id);
        }
      });
    });
    pools.forEach(function (pool, name) {
      if (!seen.has(name)) {
        pool.section.remove();
        pools.delete(name);
      }
    });
  }

  function renderGateways(snapshot) {
    gatewaysRoot.textContent = '';
    if (snapshot.gateways.length === 0) gatewaysRoot.append(el('li', 'muted', 'No gateway has announced itself.'));
    snapshot.gateways.forEach(function (g) {
      var card = el('li', 'card');
      card.dataset.gateway = g.id;
      var head = el('div', 'card-head');
      var storeState = g.store ? g.store.state : 'unreachable';
      var badge = el('span', 'badge', g.store ? 'store ' + (storeState === 'up' ? '\u2713 up' : '\u26A0 degraded since ' + clock(g.store.since)) : '\u2717 no answer: ' + g.problem);
      badge.dataset.value = storeState;
      head.append(el('h3', 'card-id', g.id), badge);
      card.append(head, el('div', 'url', g.adminUrl));
      if (g.inFlight !== null) card.append(el('div', null, g.inFlight + ' in flight'));
      Object.keys(g.leases).sort().forEach(function (pool) {
        var parts = Object.keys(g.leases[pool]).sort().map(function (id) { return id + ' ' + g.leases[pool][id]; });
        card.append(el('p', 'leases', 'leases in ' + pool + ': ' + (parts.length ? parts.join(', ') : 'none')));
      });
      gatewaysRoot.append(card);
    });
  }

  function onSnapshot(snapshot) {
    setConnection('live', 'live, updated ' + clock(snapshot.at));
    setText(windowLabel, Math.round(snapshot.windowMs / 1000) + ' s');
    renderPools(snapshot);
    renderGateways(snapshot);
  }

  function onMembership(event) {
    var item = el('li');
    item.dataset.type = event.type;
    var time = el('time', null, clock(event.at));
    time.dateTime = new Date(event.at).toISOString();
    item.append(time, el('span', 'event-type', event.type), document.createTextNode(' ' + event.id + ' (pool ' + event.pool + ')'));
    eventsRoot.prepend(item);
    while (eventsRoot.children.length > MAX_EVENTS) eventsRoot.lastElementChild.remove();
  }

  // ---- the live feed ----
  function connect() {
    source = new EventSource('dashboard/events');
    source.addEventListener('open', function () { setConnection('live', 'live'); });
    source.addEventListener('snapshot', function (e) { onSnapshot(JSON.parse(e.data)); });
    source.addEventListener('membership', function (e) { onMembership(JSON.parse(e.data)); });
    source.addEventListener('trouble', function (e) { setConnection('trouble', JSON.parse(e.data).detail); });
    source.addEventListener('error', function () {
      if (source.readyState === EventSource.CLOSED) {
        // Refused (the registry is busy or restarting): EventSource gives up, so try again later.
        setConnection('closed', 'disconnected: retrying in 5 s');
        setTimeout(connect, 5000);
      } else {
        setConnection('connecting', 'reconnecting\u2026');
      }
    });
  }

  // ---- drain / activate ----
  poolsRoot.addEventListener('click', function (e) {
    var button = e.target.closest('button[data-action]');
    if (button) act(button);
  });

  function act(button) {
    var id = button.dataset.id;
    var action = button.dataset.action;
    var token = tokenInput.value.trim();
    if (!token) {
      say('Enter the registry token first.', 'error');
      tokenInput.focus();
      return;
    }
    button.disabled = true;
    fetch('v1/backends/' + encodeURIComponent(id) + '/' + action, {
      method: 'POST',
      headers: { authorization: 'Bearer ' + token },
      cache: 'no-store',
      credentials: 'omit',
    })
      .then(function (res) {
        if (res.ok) return say((action === 'drain' ? 'Draining ' : 'Activated ') + id + '.', 'ok');
        return res.json().then(
          function (p) { say(action + ' ' + id + ' refused (' + res.status + '): ' + (p.detail || p.title || 'no detail'), 'error'); },
          function () { say(action + ' ' + id + ' refused (' + res.status + ').', 'error'); },
        );
      })
      .catch(function () { say(action + ' ' + id + ': the registry did not answer.', 'error'); })
      .finally(function () { button.disabled = false; });
  }

  connect();
})();
`;
