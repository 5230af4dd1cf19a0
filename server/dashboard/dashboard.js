// ratelimitd dashboard: renders the snapshots GET /v1/events streams
// (Server-Sent Events, one a second) without reloading the page.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const SVG = 'http://www.w3.org/2000/svg';
  const number = new Intl.NumberFormat('en-US');
  const LIVE_POINTS = 120;  // two minutes of per-second rates

  let range = new URLSearchParams(location.search).get('range') || '1h';
  let source = null;
  let previous = null;  // the last snapshot, for per-second rates
  const live = [];      // {allowed, blocked} decisions per second
  let snapshots = 0;

  // Sets an element's text and its exact value (data-value, for scripts).
  function show(id, value, text) {
    const el = $(id);
    el.dataset.value = String(value);
    el.textContent = text === undefined ? number.format(value) : text;
  }
  const percent = (rate) => (rate * 100).toFixed(1) + '%';

  function connect() {
    if (source) source.close();
    previous = null;
    live.length = 0;
    for (const b of document.querySelectorAll('#ranges button'))
      b.classList.toggle('active', b.dataset.range === range);
    source = new EventSource('/v1/events?range=' + encodeURIComponent(range));
    source.addEventListener('snapshot', (e) => render(JSON.parse(e.data)));
    source.onopen = () => setConnection(true);
    source.onerror = () => setConnection(false);  // EventSource reconnects by itself
  }

  function setConnection(on) {
    const badge = $('connection');
    badge.textContent = on ? 'live' : 'reconnecting…';
    badge.className = 'badge ' + (on ? 'on' : 'off');
  }

  function render(snap) {
    const s = snap.stats;
    show('total', s.total);
    show('allowed', s.allowed);
    show('blocked', s.blocked);
    show('block-rate', s.block_rate, percent(s.block_rate));
    show('p99', s.latency.p99_ms === null ? '' : s.latency.p99_ms,
         s.latency.p99_ms === null ? '–' : '≤ ' + s.latency.p99_ms + ' ms');
    if (previous) {
      const seconds = (snap.at - previous.at) / 1e6;
      if (seconds > 0) {
        live.push({
          allowed: Math.max(0, s.lifetime.allowed - previous.stats.lifetime.allowed) / seconds,
          blocked: Math.max(0, s.lifetime.blocked - previous.stats.lifetime.blocked) / seconds,
        });
        if (live.length > LIVE_POINTS) live.shift();
      }
    }
    previous = snap;
    const now = live.length ? live[live.length - 1] : { allowed: 0, blocked: 0 };
    show('rate-now', now.allowed + now.blocked, (now.allowed + now.blocked).toFixed(1));
    show('rate-allowed', now.allowed, now.allowed.toFixed(1));
    show('rate-blocked', now.blocked, now.blocked.toFixed(1));
    drawLive();
    drawSeries(s.series);
    fillCounts('by-scope', s.by_scope);
    fillCounts('by-tier', s.by_tier);
    fillCounts('by-endpoint', s.by_endpoint);
    fillTop(s.top_limited);
    fillAlerts(snap.alerts);
    fillStatus(snap.ready);
    $('series-step').textContent = s.series.step_seconds === 60 ? 'minute'
        : s.series.step_seconds === 3600 ? 'hour' : (s.series.step_seconds / 60) + ' minutes';
    $('updated').textContent = 'updated ' + new Date(snap.at / 1000).toLocaleTimeString();
    document.body.dataset.snapshots = String(++snapshots);
  }

  function element(name, attributes, text) {
    const el = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
  }

  // Two lines (allowed, blocked) over the last LIVE_POINTS seconds.
  function drawLive() {
    const svg = $('live-chart');
    svg.replaceChildren();
    const w = 800, h = 200, top = 14;
    const max = Math.max(1, ...live.map((p) => Math.max(p.allowed, p.blocked)));
    const x = (i) => w - (live.length - 1 - i) * (w / (LIVE_POINTS - 1));
    const y = (v) => h - 2 - (v / max) * (h - top - 4);
    for (const [key, color] of [['allowed', 'var(--ok)'], ['blocked', 'var(--bad)']]) {
      const points = live.map((p, i) => x(i).toFixed(1) + ',' + y(p[key]).toFixed(1)).join(' ');
      svg.append(element('polyline', { points, fill: 'none', stroke: color, 'stroke-width': 2 }));
    }
    svg.append(element('text', { x: 4, y: 12, 'font-size': 11, fill: '#6b7580' },
                       max.toFixed(1) + '/s'));
  }

  // Stacked bars (allowed below, blocked on top) per series point.
  function drawSeries(series) {
    const svg = $('series-chart');
    svg.replaceChildren();
    const w = 800, h = 160, top = 14;
    const points = series.points;
    const max = Math.max(1, ...points.map((p) => p.allowed + p.blocked));
    const bar = w / Math.max(1, points.length);
    points.forEach((p, i) => {
      const ha = (p.allowed / max) * (h - top), hb = (p.blocked / max) * (h - top);
      const x = (i * bar).toFixed(1), width = Math.max(1, bar - 1).toFixed(1);
      if (p.allowed) svg.append(element('rect', { x, y: h - ha, width, height: ha, fill: 'var(--ok)' }));
      if (p.blocked) svg.append(element('rect', { x, y: h - ha - hb, width, height: hb, fill: 'var(--bad)' }));
    });
    svg.append(element('text', { x: 4, y: 12, 'font-size': 11, fill: '#6b7580' }, number.format(max)));
  }

  function row(cells) {
    const tr = document.createElement('tr');
    for (const c of cells) {
      const td = document.createElement('td');
      td.textContent = c;
      tr.append(td);
    }
    return tr;
  }

  function fillCounts(id, counts) {
    const body = $(id).tBodies[0];
    const rows = Object.entries(counts).sort((a, b) =>
        b[1].blocked - a[1].blocked || (b[1].allowed + b[1].blocked) - (a[1].allowed + a[1].blocked));
    body.replaceChildren(...rows.map(([name, c]) => {
      const tr = row([name === '' ? '(none)' : name, number.format(c.allowed), number.format(c.blocked),
                      percent(c.blocked / Math.max(1, c.allowed + c.blocked))]);
      tr.dataset.name = name;
      tr.dataset.allowed = c.allowed;
      tr.dataset.blocked = c.blocked;
      return tr;
    }));
  }

  function fillTop(top) {
    const body = $('top-limited').tBodies[0];
    body.replaceChildren(...top.map((t) => {
      const tr = row([t.identifier, number.format(t.blocked), number.format(t.error)]);
      tr.dataset.name = t.identifier;
      tr.dataset.blocked = t.blocked;
      return tr;
    }));
  }

  function fillAlerts(alerts) {
    const list = $('alerts');
    if (!alerts.length) {
      const li = document.createElement('li');
      li.className = 'muted';
      li.textContent = 'none';
      list.replaceChildren(li);
      return;
    }
    list.replaceChildren(...alerts.map((a) => {
      const li = document.createElement('li');
      li.className = a.severity;
      li.dataset.name = a.name;
      li.textContent = a.severity.toUpperCase() + ' ' + a.name + ': ' + a.message +
          ' (since ' + new Date(a.since_us / 1000).toLocaleTimeString() + ')';
      return li;
    }));
  }

  function fillStatus(ready) {
    const body = $('status').tBodies[0];
    body.replaceChildren(...Object.entries(ready).map(([k, v]) => {
      const tr = row([k, String(v)]);
      tr.lastChild.className = 'state-' + v;
      tr.dataset.name = k;
      return tr;
    }));
  }

  for (const b of document.querySelectorAll('#ranges button')) {
    b.addEventListener('click', () => {
      range = b.dataset.range;
      history.replaceState(null, '', '?range=' + range);
      connect();
    });
  }
  connect();
})();
