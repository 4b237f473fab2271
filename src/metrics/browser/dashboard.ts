// The dashboard page's behaviour: follows the event stream (./events) for one page of sessions, the totals,
// the deaths and an RTT chart of a few sessions, and changes only the rows and cells that changed. Reaches
// the server only through relative URLs. Never builds HTML from data (textContent only).

type Row = import('../wire.js').Row;
type Totals = import('../wire.js').Totals;
type Death = import('../wire.js').Death;
type Chart = import('../wire.js').Chart;
type Hello = import('../wire.js').Hello;
type Delta = import('../wire.js').Delta;
type UPlot = import('uplot');
type AlignedData = import('uplot').AlignedData;
// uPlot itself is the global that uplot.js (loaded before this script) defines, typed by its UMD
// declaration; the page checks that it is there before it draws.

(() => {
  /** Distinct colours; a session's is chosen by its id, so that it is the same after a reload. */
  const PALETTE = [
    '#58a6ff',
    '#3fb950',
    '#f0883e',
    '#d2a8ff',
    '#ff7b72',
    '#39c5cf',
    '#e3b341',
    '#ff9bce',
    '#e6edf3',
    '#7ee787',
    '#b4e051',
    '#bc8cff',
  ];
  const MEANING: Record<string, string> = {
    'peer-unresponsive': 'its kernel still ACKs, its program does not answer (hung, stopped, long pause)',
    network: 'our segments go unacknowledged (partition, dead host, pulled cable)',
    unknown: 'no kernel view of the connection on this platform',
  };
  const BAD_CAUSES = [
    'heartbeat-timeout',
    'keepalive-timeout',
    'reset',
    'protocol-error',
    'handshake-timeout',
  ];
  const DEATHS_SHOWN = 50;

  const view = { q: '', page: 0, size: 50, pinned: [] as string[] };
  const rows = new Map<string, Row>();
  const trs = new Map<string, HTMLTableRowElement>();
  let order: string[] = [];
  let matches = 0;
  let totals: Totals | undefined;
  let deaths: Death[] = [];
  let chart: Chart = { ids: [], times: [], series: [] };
  let colours = new Map<string, string>();
  let historyMs = 120_000;
  /** Server clock minus ours, ms: instants from the server are shown against it. */
  let skew = 0;
  let source: EventSource | undefined;
  let plot: UPlot | undefined;
  let plotIds = '';
  let rendered = false;

  const $ = (id: string): HTMLElement => {
    const el = document.getElementById(id);
    if (el === null) throw new Error(`the page has no #${id}`);
    return el;
  };
  const serverNow = (): number => Date.now() + skew;

  /** A duration for people: 0.42 ms, 3.1 ms, 250 ms, 4.2 s, 2 min 5 s, 1 h 3 min (never "2 min 60 s"). */
  function dur(ms: number): string {
    if (ms < 1) return `${ms.toFixed(2)} ms`;
    if (ms < 10) return `${ms.toFixed(1)} ms`;
    if (ms < 999.5) return `${Math.round(ms)} ms`;
    if (ms < 59_950) return `${(ms / 1000).toFixed(1)} s`;
    const s = Math.round(ms / 1000);
    if (s < 3600) return s % 60 === 0 ? `${s / 60} min` : `${Math.floor(s / 60)} min ${s % 60} s`;
    const min = Math.round(ms / 60_000);
    return min % 60 === 0 ? `${min / 60} h` : `${Math.floor(min / 60)} h ${min % 60} min`;
  }

  /** How long ago, at the precision a once-a-second display can honestly show. */
  function ago(ms: number): string {
    if (ms < 100) return 'just now';
    if (ms < 1000) return `${Math.round(ms / 100) * 100} ms ago`;
    return `${dur(ms)} ago`;
  }

  function clock(at: number): string {
    const d = new Date(at - skew);
    return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  }

  function hash(text: string): number {
    let h = 2166136261;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
    return h >>> 0;
  }

  /** Colours of the charted sessions: by id, two never alike (the next free one on a clash), stable. */
  function assignColours(ids: string[]): Map<string, string> {
    const out = new Map<string, string>();
    const taken = new Set<number>();
    for (const id of [...ids].sort()) {
      let slot = hash(id) % PALETTE.length;
      while (taken.has(slot) && taken.size < PALETTE.length) slot = (slot + 1) % PALETTE.length;
      taken.add(slot);
      out.set(id, PALETTE[slot]!);
    }
    return out;
  }

  function el<K extends keyof HTMLElementTagNameMap>(
    tag: K,
    className = '',
    text = '',
  ): HTMLElementTagNameMap[K] {
    const e = document.createElement(tag);
    if (className !== '') e.className = className;
    if (text !== '') e.textContent = text;
    return e;
  }

  function setText(node: Element, text: string): void {
    if (node.textContent !== text) node.textContent = text;
  }

  // ---- the session table: one <tr> per row of the page, kept and updated in place ----

  function newTr(id: string): HTMLTableRowElement {
    const tr = el('tr');
    tr.dataset.id = id;
    const cells: Array<[string, string]> = [
      ['mono', ''],
      ['mono opt', ''],
      ['', ''],
      ['num', ''],
      ['num', ''],
      ['opt', ''],
      ['num opt', ''],
      ['num opt', ''],
      ['num opt', ''],
    ];
    for (const [cls] of cells) tr.appendChild(el('td', cls));
    const first = tr.cells[0]!;
    first.append(el('span', 'dot'), el('span', '', id));
    tr.cells[2]!.appendChild(el('span', 'badge'));
    const meter = el('span', 'meter');
    meter.appendChild(el('span'));
    tr.cells[5]!.append(meter, el('span'));
    tr.addEventListener('click', () => togglePin(id));
    return tr;
  }

  /** What changes only when the server says so. */
  function fillTr(tr: HTMLTableRowElement, r: Row): void {
    const shown = r.state === 'open' && r.late ? 'late' : r.state;
    tr.dataset.state = r.state;
    tr.dataset.late = String(r.late);
    setText(tr.cells[1]!, r.remote);
    const badge = tr.cells[2]!.firstElementChild as HTMLElement;
    badge.className = `badge ${shown}`;
    setText(badge, shown === 'detached' ? 'waiting to resume' : shown);
    setText(tr.cells[3]!, r.rtt === null ? '-' : dur(r.rtt));
    setText(tr.cells[6]!, r.messagesIn.toLocaleString('en-US'));
    setText(tr.cells[7]!, r.messagesOut.toLocaleString('en-US'));
    paintDot(tr, r.id);
  }

  function paintDot(tr: HTMLTableRowElement, id: string): void {
    const colour = colours.get(id) ?? 'transparent';
    const dot = tr.cells[0]!.firstElementChild as HTMLElement;
    if (dot.style.background !== colour) dot.style.background = colour;
    tr.setAttribute('aria-selected', String(view.pinned.includes(id)));
  }

  /** What changes with time alone: last heard, the detector's meter, age, a resume window running out. */
  function tickTr(tr: HTMLTableRowElement, r: Row, now: number): void {
    const meter = tr.cells[5]!.firstElementChild as HTMLElement;
    const bar = meter.firstElementChild as HTMLElement;
    const text = tr.cells[5]!.lastElementChild as HTMLElement;
    if (r.state === 'open' && r.heardAt !== null) {
      const silent = Math.max(0, now - r.heardAt);
      setText(tr.cells[4]!, ago(silent));
      const left = Math.max(0, r.timeout - silent);
      const frac = Math.min(1, left / r.timeout);
      const width = `${Math.round(frac * 100)}%`;
      if (bar.style.width !== width) bar.style.width = width;
      const hue = frac > 0.5 ? 'var(--ok)' : frac > 0.2 ? 'var(--warn)' : 'var(--bad)';
      if (bar.style.background !== hue) bar.style.background = hue;
      if (meter.style.display !== '') meter.style.display = '';
      setText(text, r.phi === null ? `${dur(left)} left` : `φ ${r.phi.toFixed(1)} · ${dur(left)} left`);
    } else {
      setText(tr.cells[4]!, '-');
      meter.style.display = 'none';
      setText(
        text,
        r.state === 'detached' && r.expiresAt !== null
          ? `window: ${dur(Math.max(0, r.expiresAt - now))} left`
          : '-',
      );
    }
    setText(tr.cells[8]!, dur(Math.max(0, now - r.createdAt)));
  }

  function renderTable(): void {
    const body = ($('sessions') as HTMLTableElement).tBodies[0]!;
    for (const [id, tr] of trs) {
      if (!rows.has(id)) {
        tr.remove();
        trs.delete(id);
      }
    }
    if (order.length === 0) {
      body.replaceChildren(
        emptyRow(
          9,
          view.q === ''
            ? 'No sessions yet: connect a client, e.g. lifeline connect HOST:PORT'
            : `No session matches “${view.q}”.`,
        ),
      );
      return;
    }
    const now = serverNow();
    let before: ChildNode | null = body.firstChild;
    for (const id of order) {
      const r = rows.get(id);
      if (r === undefined) continue;
      let tr = trs.get(id);
      if (tr === undefined) {
        tr = newTr(id);
        trs.set(id, tr);
        fillTr(tr, r);
        tickTr(tr, r, now);
      }
      if (tr !== before) body.insertBefore(tr, before);
      before = tr.nextSibling;
    }
    while (before !== null) {
      const next = before.nextSibling;
      before.remove();
      before = next;
    }
  }

  function emptyRow(span: number, text: string): HTMLTableRowElement {
    const tr = el('tr');
    const td = el('td', 'empty', text);
    td.colSpan = span;
    tr.appendChild(td);
    return tr;
  }

  function renderPager(): void {
    const first = matches === 0 ? 0 : view.page * view.size + 1;
    const last = Math.min(matches, (view.page + 1) * view.size);
    setText($('range'), matches === 0 ? '0 of 0' : `${fmt(first)}–${fmt(last)} of ${fmt(matches)}`);
    ($('prev') as HTMLButtonElement).disabled = view.page === 0;
    ($('next') as HTMLButtonElement).disabled = last >= matches;
  }

  function fmt(n: number): string {
    return n.toLocaleString('en-US');
  }

  function renderTotals(): void {
    if (totals === undefined) return;
    setText($('c-sessions'), fmt(totals.sessions));
    setText($('c-open'), fmt(totals.open));
    setText($('c-late'), fmt(totals.late));
    setText($('c-detached'), fmt(totals.detached));
    setText($('c-deaths'), fmt(totals.deaths));
    setText($('c-rtt'), totals.medianRtt === null ? '-' : dur(totals.medianRtt));
    $('card-late').className = totals.late > 0 ? 'card warn' : 'card';
    $('card-detached').className = totals.detached > 0 ? 'card warn' : 'card';
    $('card-deaths').className = totals.deaths > 0 ? 'card bad' : 'card';
  }

  // ---- deaths: newest first, the last DEATHS_SHOWN ----

  function deathTr(d: Death): HTMLTableRowElement {
    const tr = el('tr');
    tr.dataset.id = d.id ?? '';
    tr.dataset.cause = d.cause;
    tr.dataset.diagnosis = d.diagnosis ?? '';
    tr.appendChild(el('td', 'num', clock(d.at)));
    const who = el('td', 'mono');
    if (d.id === null) who.appendChild(el('span', 'badge rejected', 'rejected'));
    else who.textContent = d.id;
    const cause = el('td');
    cause.appendChild(el('span', `badge ${BAD_CAUSES.includes(d.cause) ? 'bad' : 'calm'}`, d.cause));
    const diagnosis = el('td', '', d.diagnosis === null ? '-' : '');
    if (d.diagnosis !== null) {
      const b = el('span', `badge ${d.diagnosis === 'network' ? 'bad' : 'detached'}`, d.diagnosis);
      b.title = MEANING[d.diagnosis] ?? '';
      diagnosis.appendChild(b);
    }
    tr.append(
      who,
      el('td', 'mono opt', d.remote),
      cause,
      diagnosis,
      el('td', 'num', dur(d.silentMs)),
      el('td', 'detail opt', d.detail ?? ''),
    );
    return tr;
  }

  function renderDeaths(fresh: Death[], skipped = 0): void {
    const body = ($('deaths') as HTMLTableElement).tBodies[0]!;
    if (deaths.length === 0) {
      body.replaceChildren(emptyRow(7, 'No deaths yet.'));
      return;
    }
    if (body.querySelector('td.empty') !== null) body.replaceChildren();
    const shown = fresh.slice(-DEATHS_SHOWN);
    for (const d of shown) body.insertBefore(deathTr(d), body.firstChild);
    while (body.rows.length > DEATHS_SHOWN) body.lastElementChild!.remove();
    if (skipped > 0) setText($('deaths-note'), `${fmt(skipped)} more at that moment not listed`);
  }

  // ---- the chart: a few sessions, a null where no answer came (drawn as a gap) ----

  function renderChart(): void {
    const box = $('chart');
    const U: typeof uPlot | undefined = typeof uPlot === 'undefined' ? undefined : uPlot;
    setText(
      $('chart-note'),
      chart.ids.length === 0
        ? ''
        : `ms, measured by the server · ${view.pinned.length > 0 ? 'the sessions you picked' : 'the top of this page'} · a gap: no answer`,
    );
    if (U === undefined) {
      box.replaceChildren(el('div', 'empty', 'The chart library (uplot) is not available.'));
      return;
    }
    const data = [chart.times.map((t) => (t - skew) / 1000), ...chart.series] as AlignedData;
    const key = chart.ids.join('\n');
    if (plot !== undefined && key === plotIds) {
      plot.setData(data);
      return;
    }
    plot?.destroy();
    plot = undefined;
    plotIds = key;
    if (chart.ids.length === 0) {
      box.replaceChildren(el('div', 'empty', 'No session to chart.'));
      return;
    }
    box.replaceChildren();
    const axis = {
      stroke: '#8b98a9',
      grid: { stroke: '#243040', width: 1 },
      ticks: { stroke: '#243040', width: 1 },
    };
    plot = new U(
      {
        width: Math.max(280, box.clientWidth),
        height: 240,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.2)] } },
        axes: [
          // 24-hour labels at least 80 px apart: they never overlap, whatever the width.
          { ...axis, space: 80, values: (_u, splits) => splits.map((s) => clock(s * 1000 + skew)) },
          { ...axis, size: 64, values: (_u, splits) => splits.map((v) => `${v} ms`) },
        ],
        legend: { show: true, live: false },
        series: [
          {},
          ...chart.ids.map((id) => ({
            label: id,
            stroke: colours.get(id) ?? PALETTE[0]!,
            width: 2,
            spanGaps: false,
          })),
        ],
      },
      data,
      box,
    );
  }

  function setChart(next: Chart): void {
    chart = next;
    colours = assignColours(chart.ids);
    for (const [id, tr] of trs) paintDot(tr, id);
  }

  function addSample(sample: NonNullable<Delta['sample']>): void {
    chart.times.push(sample.at);
    chart.series.forEach((s, i) => {
      s.push(sample.values[i] ?? null);
    });
    while (chart.times.length > 0 && chart.times[0]! < sample.at - historyMs) {
      chart.times.shift();
      for (const s of chart.series) s.shift();
    }
  }

  // ---- the stream ----

  function apply(d: Delta | Hello): void {
    skew = d.now - Date.now();
    if (d.page !== undefined) view.page = d.page;
    if (d.matches !== undefined) matches = d.matches;
    if (d.order !== undefined) {
      order = d.order;
      for (const id of rows.keys()) if (!order.includes(id)) rows.delete(id);
    }
    for (const r of d.rows ?? []) {
      rows.set(r.id, r);
      const tr = trs.get(r.id);
      if (tr !== undefined) fillTr(tr, r);
    }
    if (d.totals !== undefined) totals = d.totals;
    if (d.chart !== undefined) setChart(d.chart);
    if ('sample' in d && d.sample !== undefined) addSample(d.sample);
    renderTable();
    renderPager();
    renderTotals();
    tick();
    if (d.chart !== undefined || ('sample' in d && d.sample !== undefined)) renderChart();
  }

  function status(text: string, live: boolean): void {
    const pill = $('status');
    setText(pill, text);
    pill.className = live ? 'pill live' : 'pill down';
  }

  function follow(): void {
    source?.close();
    const params = new URLSearchParams();
    if (view.q !== '') params.set('q', view.q);
    if (view.page > 0) params.set('page', String(view.page));
    if (view.pinned.length > 0) params.set('chart', view.pinned.join(','));
    const query = params.toString();
    history.replaceState(null, '', `${location.pathname}${query === '' ? '' : `#${query}`}`);
    const es = new EventSource(`events${query === '' ? '' : `?${query}`}`);
    source = es;
    es.addEventListener('hello', (e) => {
      const h = JSON.parse((e as MessageEvent<string>).data) as Hello;
      historyMs = h.historyMs;
      rows.clear();
      order = [];
      deaths = h.deaths;
      setText($('server'), describe(h.info));
      status('live', true);
      ($('deaths') as HTMLTableElement).tBodies[0]!.replaceChildren();
      renderDeaths(deaths);
      apply(h);
      if (!rendered) {
        rendered = true;
        performance.mark('lifeline:first-render');
      }
    });
    es.addEventListener('delta', (e) => {
      const d = JSON.parse((e as MessageEvent<string>).data) as Delta;
      if (d.deaths !== undefined) {
        deaths = deaths.concat(d.deaths).slice(-200);
        renderDeaths(d.deaths, d.deathsSkipped);
      }
      apply(d);
    });
    es.onerror = () => {
      // CLOSED: the server refused the stream (a wrong or missing token); CONNECTING: it retries.
      if (es.readyState === EventSource.CLOSED)
        status('refused: reload with the address lifeline printed', false);
      else status('reconnecting', false);
    };
  }

  function describe(info: Record<string, unknown>): string {
    const parts: string[] = [];
    if (typeof info.address === 'string') parts.push(info.address);
    if (typeof info.interval === 'number') parts.push(`interval ${dur(info.interval)}`);
    if (typeof info.timeout === 'number') parts.push(`timeout ${dur(info.timeout)}`);
    if (typeof info.detector === 'string') parts.push(`${info.detector} detector`);
    return parts.join(' · ');
  }

  /** Once a second, and after each message: the cells that change with time alone. */
  function tick(): void {
    const now = serverNow();
    for (const id of order) {
      const r = rows.get(id);
      const tr = trs.get(id);
      if (r !== undefined && tr !== undefined) tickTr(tr, r, now);
    }
  }

  function togglePin(id: string): void {
    view.pinned = view.pinned.includes(id)
      ? view.pinned.filter((p) => p !== id)
      : [...view.pinned, id].slice(-8);
    follow();
  }

  // ---- start: the token leaves the address bar (the server set a cookie), the view comes from the hash ----

  const hashView = new URLSearchParams(location.hash.slice(1));
  view.q = hashView.get('q') ?? '';
  view.page = Math.max(0, Number(hashView.get('page')) || 0);
  view.pinned = (hashView.get('chart') ?? '').split(',').filter((id) => id !== '');
  const search = $('search') as HTMLInputElement;
  search.value = view.q;
  let typing: number | undefined;
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = window.setTimeout(() => {
      view.q = search.value.trim();
      view.page = 0;
      follow();
    }, 250);
  });
  $('prev').addEventListener('click', () => {
    view.page = Math.max(0, view.page - 1);
    follow();
  });
  $('next').addEventListener('click', () => {
    view.page++;
    follow();
  });
  window.addEventListener('resize', () => {
    plot?.setSize({ width: Math.max(280, $('chart').clientWidth), height: 240 });
  });
  window.setInterval(tick, 1000);
  follow();
})();
