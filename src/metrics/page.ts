// The dashboard page: one self-contained HTML document that follows /events (server-sent events) and draws
// the session table, an RTT chart per session (uPlot, served at /uplot.js) and the log of deaths.
// The browser script avoids template literals so that this file can hold it in one.

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lifeline</title>
<link rel="stylesheet" href="/uplot.css">
<style>
  :root {
    --bg: #0f1419; --panel: #161d26; --line: #243040; --text: #d8e0ea; --dim: #7d8b9c;
    --ok: #3fb950; --warn: #d29922; --bad: #f85149; --info: #58a6ff;
  }
  * { box-sizing: border-box; }
  body { margin: 0; background: var(--bg); color: var(--text);
    font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  header { display: flex; align-items: center; gap: 16px; padding: 14px 24px;
    border-bottom: 1px solid var(--line); background: var(--panel); }
  header h1 { margin: 0; font-size: 20px; letter-spacing: .5px; display: flex; align-items: center; gap: 8px; }
  header .server { color: var(--dim); font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
  header .grow { flex: 1; }
  .pill { padding: 3px 10px; border-radius: 999px; font-size: 12px; font-weight: 600; }
  .pill.live { background: rgba(63,185,80,.15); color: var(--ok); }
  .pill.down { background: rgba(248,81,73,.15); color: var(--bad); }
  main { padding: 20px 24px; display: grid; gap: 20px; grid-template-columns: minmax(0, 1fr); max-width: 1400px; margin: 0 auto; }
  .cards { grid-column: 1 / -1; display: grid; grid-template-columns: repeat(4, 1fr); gap: 16px; }
  .card, section { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; }
  .card { padding: 12px 16px; }
  .card .label { color: var(--dim); font-size: 12px; text-transform: uppercase; letter-spacing: .6px; }
  .card .value { font-size: 26px; font-weight: 600; margin-top: 2px; font-variant-numeric: tabular-nums; }
  section { padding: 14px 16px; min-width: 0; }
  section.wide { grid-column: 1 / -1; }
  section h2 { margin: 0 0 10px; font-size: 13px; text-transform: uppercase; letter-spacing: .8px; color: var(--dim); }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th { text-align: left; font-weight: 500; color: var(--dim); font-size: 12px; padding: 6px 8px;
    border-bottom: 1px solid var(--line); white-space: nowrap; }
  td { padding: 7px 8px; border-bottom: 1px solid rgba(36,48,64,.6); white-space: nowrap; }
  td.num, th.num { text-align: right; }
  .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
  .dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 8px; vertical-align: -1px; }
  .badge { display: inline-block; padding: 1px 8px; border-radius: 6px; font-size: 12px; font-weight: 600; }
  .badge.open { background: rgba(63,185,80,.15); color: var(--ok); }
  .badge.detached { background: rgba(210,153,34,.15); color: var(--warn); }
  .badge.bad { background: rgba(248,81,73,.15); color: var(--bad); }
  .badge.calm { background: rgba(88,166,255,.13); color: var(--info); }
  .badge.rejected { background: rgba(125,139,156,.18); color: var(--dim); }
  .meter { display: inline-block; width: 70px; height: 6px; background: var(--line); border-radius: 3px;
    vertical-align: middle; margin-right: 8px; overflow: hidden; }
  .meter > span { display: block; height: 100%; background: var(--ok); }
  .empty { color: var(--dim); padding: 12px 8px; }
  .detail { color: var(--dim); white-space: normal; font-size: 12px; }
  #deaths-wrap { max-height: 360px; overflow: auto; }
  #deaths td.detail { max-width: 520px; }
  #chart { min-height: 260px; }
  .uplot, .u-legend { color: var(--text); font-family: inherit; }
  .u-legend .u-series th { color: var(--text); }
</style>
</head>
<body>
<header>
  <h1><svg width="26" height="18" viewBox="0 0 26 18" aria-hidden="true"><polyline points="0,10 6,10 9,3 13,16 16,7 18,10 26,10"
    fill="none" stroke="#3fb950" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/></svg>lifeline</h1>
  <span class="server" id="server"></span>
  <span class="grow"></span>
  <span class="pill down" id="status">connecting</span>
</header>
<main>
  <div class="cards">
    <div class="card"><div class="label">Open sessions</div><div class="value" id="c-open">0</div></div>
    <div class="card"><div class="label">Waiting to resume</div><div class="value" id="c-detached">0</div></div>
    <div class="card"><div class="label">Deaths</div><div class="value" id="c-deaths">0</div></div>
    <div class="card"><div class="label">Median RTT</div><div class="value" id="c-rtt">-</div></div>
  </div>
  <section class="wide">
    <h2>Sessions</h2>
    <table id="sessions">
      <thead><tr><th>Session</th><th>Remote</th><th>State</th><th class="num">RTT</th><th class="num">Last heard</th>
        <th>Detector</th><th class="num">Msgs in</th><th class="num">Msgs out</th><th class="num">Age</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section class="wide">
    <h2>Round-trip time (ms), measured by the server</h2>
    <div id="chart"></div>
  </section>
  <section class="wide">
    <h2>Deaths</h2>
    <div id="deaths-wrap">
      <table id="deaths">
        <thead><tr><th>Time</th><th>Session</th><th>Remote</th><th>Cause</th><th>Diagnosis</th><th class="num">Silent for</th><th>Detail</th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
  </section>
</main>
<script src="/uplot.js"></script>
<script>
(function () {
  'use strict';
  var HISTORY_S = 300;
  var state = { sessions: [], deaths: [], samples: [], baseT: 0, baseWall: 0 };
  var chart = null, chartIds = '';

  function $(id) { return document.getElementById(id); }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]; }); }
  // Distinct colours handed out in order of appearance, so that two sessions never look alike.
  var PALETTE = ['#58a6ff', '#3fb950', '#f0883e', '#d2a8ff', '#ff7b72', '#39c5cf', '#e3b341', '#ff9bce', '#a5d6ff', '#7ee787'];
  var colors = {}, nextColor = 0;
  function color(id) {
    if (!(id in colors)) colors[id] = PALETTE[nextColor++ % PALETTE.length];
    return colors[id];
  }
  function dur(ms) {
    if (ms == null) return '-';
    if (ms < 1) return ms.toFixed(2) + ' ms';
    if (ms < 100) return ms.toFixed(1) + ' ms';
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
    if (ms < 3600000) return Math.floor(ms / 60000) + ' min ' + Math.round((ms % 60000) / 1000) + ' s';
    return Math.floor(ms / 3600000) + ' h ' + Math.round((ms % 3600000) / 60000) + ' min';
  }
  function wall(t) { return state.baseWall + (t - state.baseT) / 1000; }
  function clock(t) { return new Date(wall(t) * 1000).toLocaleTimeString(); }
  var MEANING = {
    'peer-unresponsive': 'its kernel still ACKs, its program does not answer (hung, stopped, long pause)',
    network: 'our segments go unacknowledged (partition, dead host, pulled cable)',
    unknown: 'no kernel view of the connection on this platform'
  };
  function causeClass(cause) {
    if (cause === 'heartbeat-timeout' || cause === 'keepalive-timeout' || cause === 'reset' || cause === 'protocol-error' || cause === 'handshake-timeout') return 'bad';
    return 'calm';
  }

  function detector(s) {
    var d = s.detector;
    if (!d) return '<span class="detail">-</span>';
    var frac = Math.max(0, Math.min(1, d.leftMs / s.timeout));
    var hue = frac > 0.5 ? 'var(--ok)' : frac > 0.2 ? 'var(--warn)' : 'var(--bad)';
    var text = d.kind === 'phi' ? '\\u03c6 ' + d.phi.toFixed(2) + ' \\u00b7 ' + dur(d.leftMs) + ' left' : dur(d.leftMs) + ' left';
    return '<span class="meter"><span style="width:' + (frac * 100).toFixed(0) + '%;background:' + hue + '"></span></span>' + text;
  }

  function renderSessions() {
    var rows = state.sessions.map(function (s) {
      return '<tr data-id="' + esc(s.id) + '" data-state="' + esc(s.state) + '">' +
        '<td class="mono"><span class="dot" style="background:' + color(s.id) + '"></span>' + esc(s.id) + '</td>' +
        '<td class="mono">' + esc(s.remote) + '</td>' +
        '<td><span class="badge ' + esc(s.state) + '">' + (s.state === 'detached' ? 'waiting to resume' : esc(s.state)) + '</span></td>' +
        '<td class="num">' + dur(s.rttMs) + '</td>' +
        '<td class="num">' + (s.state === 'open' ? dur(s.silentMs) + ' ago' : '-') + '</td>' +
        '<td>' + detector(s) + '</td>' +
        '<td class="num">' + s.messagesIn + '</td><td class="num">' + s.messagesOut + '</td>' +
        '<td class="num">' + dur(s.ageMs) + '</td></tr>';
    });
    $('sessions').tBodies[0].innerHTML = rows.length ? rows.join('') :
      '<tr><td colspan="9" class="empty">No sessions yet: connect a client, e.g. <span class="mono">lifeline connect HOST:PORT</span></td></tr>';
    var open = state.sessions.filter(function (s) { return s.state === 'open'; });
    $('c-open').textContent = open.length;
    $('c-detached').textContent = state.sessions.length - open.length;
    var rtts = open.map(function (s) { return s.rttMs; }).filter(function (v) { return v != null; }).sort(function (a, b) { return a - b; });
    $('c-rtt').textContent = rtts.length ? dur(rtts[Math.floor(rtts.length / 2)]) : '-';
  }

  function renderDeaths() {
    // A GOAWAY normal is a goodbye, logged but not counted as a death.
    var deaths = state.deaths.filter(function (d) { return d.kind === 'dead' && d.goaway !== 'normal'; });
    $('c-deaths').textContent = deaths.length;
    var rows = state.deaths.slice().reverse().map(function (d) {
      var who = d.id ? '<span class="dot" style="background:' + color(d.id) + '"></span>' + esc(d.id) : '<span class="badge rejected">rejected</span>';
      return '<tr data-id="' + esc(d.id || '') + '" data-cause="' + esc(d.cause) + '" data-diagnosis="' + esc(d.diagnosis || '') + '">' +
        '<td>' + clock(d.t) + '</td>' +
        '<td class="mono">' + who + '</td>' +
        '<td class="mono">' + esc(d.remote) + '</td>' +
        '<td><span class="badge ' + causeClass(d.cause) + '">' + esc(d.cause) + '</span></td>' +
        '<td>' + (d.diagnosis ? '<span class="badge ' + (d.diagnosis === 'network' ? 'bad' : 'detached') + '" title="' +
          esc(MEANING[d.diagnosis] || '') + '">' + esc(d.diagnosis) + '</span>' : '-') + '</td>' +
        '<td class="num">' + dur(d.silentMs) + '</td>' +
        '<td class="detail">' + esc(d.detail || '') + '</td></tr>';
    });
    $('deaths').tBodies[0].innerHTML = rows.length ? rows.join('') : '<tr><td colspan="7" class="empty">No deaths yet.</td></tr>';
  }

  function renderChart() {
    var el = $('chart');
    if (typeof uPlot === 'undefined') { el.innerHTML = '<div class="empty">chart library not available</div>'; return; }
    var ids = [];
    state.samples.forEach(function (s) { Object.keys(s.rtt).forEach(function (id) { if (ids.indexOf(id) < 0) ids.push(id); }); });
    var data = [state.samples.map(function (s) { return wall(s.t); })];
    ids.forEach(function (id) { data.push(state.samples.map(function (s) { return id in s.rtt ? s.rtt[id] : null; })); });
    var key = ids.join(',');
    var width = Math.max(300, el.clientWidth);
    if (state.samples.length === 0) return;
    if (chart && key === chartIds) { chart.setData(data); return; }
    if (chart) chart.destroy();
    chartIds = key;
    var axis = { stroke: '#7d8b9c', grid: { stroke: '#243040', width: 1 }, ticks: { stroke: '#243040', width: 1 } };
    chart = new uPlot({
      width: width, height: 260,
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max * 1.2)]; } } },
      axes: [axis, Object.assign({}, axis, { size: 55, values: function (u, v) { return v.map(function (x) { return x + ' ms'; }); } })],
      legend: { show: true, live: false },
      series: [{}].concat(ids.map(function (id) {
        return { label: id, stroke: color(id), width: 2, spanGaps: true, points: { show: false },
          value: function (u, v) { return v == null ? '-' : v.toFixed(2) + ' ms'; } };
      })),
    }, data, el);
  }

  window.addEventListener('resize', function () { if (chart) chart.setSize({ width: Math.max(300, $('chart').clientWidth), height: 260 }); });

  function connect() {
    var es = new EventSource('/events');
    es.addEventListener('hello', function (e) {
      var h = JSON.parse(e.data);
      state.baseT = h.t; state.baseWall = Date.now() / 1000;
      state.sessions = h.sessions; state.deaths = h.deaths; state.samples = h.history;
      var parts = [];
      if (h.address) parts.push(h.address);
      if (h.interval) parts.push('interval ' + dur(h.interval));
      if (h.timeout) parts.push('timeout ' + dur(h.timeout));
      if (h.detector) parts.push(h.detector + ' detector');
      $('server').textContent = parts.join(' \\u00b7 ');
      $('status').textContent = 'live'; $('status').className = 'pill live';
      renderSessions(); renderDeaths(); renderChart();
    });
    es.addEventListener('state', function (e) { state.sessions = JSON.parse(e.data).sessions; renderSessions(); });
    es.addEventListener('death', function (e) { state.deaths.push(JSON.parse(e.data)); renderDeaths(); });
    es.addEventListener('sample', function (e) {
      var s = JSON.parse(e.data);
      state.samples.push(s);
      while (state.samples.length && wall(state.samples[0].t) < wall(s.t) - HISTORY_S) state.samples.shift();
      renderChart();
    });
    es.onerror = function () { $('status').textContent = 'reconnecting'; $('status').className = 'pill down'; };
  }
  connect();
})();
</script>
</body>
</html>
`;
