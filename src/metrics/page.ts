// The dashboard page's markup and style, its favicon, and the page shown without a token. The behaviour is
// browser/dashboard.ts. Every link here is relative, so that the page works under any path or proxy.

export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#161d26"/><polyline points="3,18 10,18 13,9 18,25 21,14 23,18 29,18" fill="none" stroke="#3fb950" stroke-width="2.6" stroke-linejoin="round" stroke-linecap="round"/></svg>`;

const STYLE = `
  :root {
    --bg: #0f1419; --panel: #161d26; --line: #243040; --text: #d8e0ea; --dim: #8b98a9;
    --ok: #3fb950; --warn: #d29922; --bad: #f85149; --info: #58a6ff;
  }
  * { box-sizing: border-box; }
  body { margin: 0; background: var(--bg); color: var(--text);
    font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  header { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 16px; padding: 12px 20px;
    border-bottom: 1px solid var(--line); background: var(--panel); }
  header h1 { margin: 0; font-size: 20px; display: flex; align-items: center; gap: 8px; }
  header .server { color: var(--dim); font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; }
  header .grow { flex: 1; }
  .pill { padding: 3px 10px; border-radius: 999px; font-size: 12px; font-weight: 600; }
  .pill.live { background: rgba(63,185,80,.15); color: var(--ok); }
  .pill.down { background: rgba(248,81,73,.15); color: var(--bad); }
  main { padding: 16px 20px; display: grid; gap: 16px; grid-template-columns: minmax(0, 1fr); max-width: 1400px; margin: 0 auto; }
  .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: 12px; }
  .card, section { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; min-width: 0; }
  .card { padding: 10px 14px; }
  .card .label { color: var(--dim); font-size: 12px; text-transform: uppercase; letter-spacing: .5px; }
  .card .value { font-size: 24px; font-weight: 600; margin-top: 2px; font-variant-numeric: tabular-nums; }
  .card.warn .value { color: var(--warn); } .card.bad .value { color: var(--bad); }
  section { padding: 12px 14px; }
  section h2 { margin: 0; font-size: 13px; text-transform: uppercase; letter-spacing: .8px; color: var(--dim); }
  .bar { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 12px; margin-bottom: 10px; }
  .bar .grow { flex: 1; }
  .note { color: var(--dim); font-size: 12px; }
  input[type=search] { background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 6px;
    padding: 5px 9px; font: inherit; width: 220px; max-width: 100%; }
  button { background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 6px;
    padding: 4px 10px; font: inherit; cursor: pointer; }
  button:disabled { color: var(--dim); cursor: default; opacity: .5; }
  .pager { display: flex; align-items: center; gap: 8px; font-variant-numeric: tabular-nums; white-space: nowrap; }
  .scroll { overflow-x: auto; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th { text-align: left; font-weight: 500; color: var(--dim); font-size: 12px; padding: 6px 8px;
    border-bottom: 1px solid var(--line); white-space: nowrap; }
  td { padding: 6px 8px; border-bottom: 1px solid rgba(36,48,64,.6); white-space: nowrap; }
  td.num, th.num { text-align: right; }
  #sessions tbody tr { cursor: pointer; }
  #sessions tbody tr:hover { background: rgba(88,166,255,.06); }
  #sessions tbody tr[aria-selected=true] { background: rgba(88,166,255,.12); }
  .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
  .dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 7px; vertical-align: -1px;
    border: 1px solid var(--line); }
  .badge { display: inline-block; padding: 1px 8px; border-radius: 6px; font-size: 12px; font-weight: 600; }
  .badge.open { background: rgba(63,185,80,.15); color: var(--ok); }
  .badge.late, .badge.detached { background: rgba(210,153,34,.15); color: var(--warn); }
  .badge.bad { background: rgba(248,81,73,.15); color: var(--bad); }
  .badge.calm, .badge.closing { background: rgba(88,166,255,.13); color: var(--info); }
  .badge.rejected { background: rgba(125,139,156,.18); color: var(--dim); }
  .meter { display: inline-block; width: 60px; height: 6px; background: var(--line); border-radius: 3px;
    vertical-align: middle; margin-right: 8px; overflow: hidden; }
  .meter > span { display: block; height: 100%; }
  .empty { color: var(--dim); padding: 12px 8px; white-space: normal; }
  .detail { color: var(--dim); white-space: normal; font-size: 12px; min-width: 220px; }
  #deaths-wrap { max-height: 360px; overflow: auto; }
  #chart { min-height: 240px; }
  .uplot, .u-legend { color: var(--text); font-family: inherit; }
  .u-legend { font-size: 12px; }
  @media (max-width: 700px) {
    header, main { padding-left: 10px; padding-right: 10px; }
    .opt { display: none; }
    .card .value { font-size: 20px; }
    input[type=search] { width: 100%; }
    .detail { min-width: 0; }
  }
`;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lifeline</title>
<link rel="icon" href="favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="uplot.css">
<style>${STYLE}</style>
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
    <div class="card"><div class="label">Sessions</div><div class="value" id="c-sessions">-</div></div>
    <div class="card"><div class="label">Open</div><div class="value" id="c-open">-</div></div>
    <div class="card" id="card-late"><div class="label">Heartbeat late</div><div class="value" id="c-late">-</div></div>
    <div class="card" id="card-detached"><div class="label">Waiting to resume</div><div class="value" id="c-detached">-</div></div>
    <div class="card" id="card-deaths"><div class="label">Deaths</div><div class="value" id="c-deaths">-</div></div>
    <div class="card"><div class="label">Median RTT</div><div class="value" id="c-rtt">-</div></div>
  </div>
  <section>
    <div class="bar">
      <h2>Sessions</h2><span class="note">in trouble first · click a row to chart it</span>
      <span class="grow"></span>
      <input type="search" id="search" placeholder="Search id or address" aria-label="Search sessions by id or address">
      <span class="pager"><button id="prev" aria-label="Previous page">&lsaquo;</button><span id="range">-</span><button id="next" aria-label="Next page">&rsaquo;</button></span>
    </div>
    <div class="scroll">
      <table id="sessions">
        <thead><tr><th>Session</th><th class="opt">Remote</th><th>State</th><th class="num">RTT</th><th class="num">Last heard</th>
          <th class="opt">Detector</th><th class="num opt">Msgs in</th><th class="num opt">Msgs out</th><th class="num opt">Age</th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
  </section>
  <section>
    <div class="bar"><h2>Round-trip time</h2><span class="note" id="chart-note"></span></div>
    <div id="chart"></div>
  </section>
  <section>
    <div class="bar"><h2>Deaths</h2><span class="note" id="deaths-note"></span></div>
    <div id="deaths-wrap">
      <table id="deaths">
        <thead><tr><th>Time</th><th>Session</th><th class="opt">Remote</th><th>Cause</th><th>Diagnosis</th><th class="num">Silent for</th><th class="opt">Detail</th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
  </section>
</main>
<script src="uplot.js"></script>
<script src="dashboard.js"></script>
</body>
</html>
`;

/** The page for a request without the token (or with a wrong one). */
export function unauthorizedPage(wrong: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>lifeline: token needed</title><link rel="icon" href="favicon.svg" type="image/svg+xml">
<style>body { margin: 0; padding: 40px 20px; background: #0f1419; color: #d8e0ea; font: 15px/1.5 system-ui, sans-serif; }
main { max-width: 560px; margin: 0 auto; } code { color: #58a6ff; }</style></head>
<body><main><h1>This dashboard needs its token</h1>
<p>${wrong ? 'The token given is not this server’s.' : 'No token was given.'} Open the address that
<code>lifeline serve --http</code> printed, which ends in <code>?token=…</code> (or the one your application
got from <code>url()</code>). The token is made anew each time the server starts, unless it was given one
(<code>--http-token</code>).</p></main></body></html>
`;
}
