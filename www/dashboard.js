// funnelcake dashboard: reads the collector's read API and updates live from its SSE stream.
// Query parameters: ?site=<site id>&token=<read token> (the token is needed outside --dev)
// &steps=<event names, comma-separated> (a funnel over those events instead of the default one)
// &source=<traffic-source kind>&device=<device class> (only those sessions: cards, funnel,
// breakdowns, orders and experiments; the live panel, the widgets and the delivery card count
// every session).

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const siteInput = $('site');
const rangeSelect = $('range');
if (params.get('site')) siteInput.value = params.get('site');
const token = params.get('token') || '';
const stepsInput = $('steps');
stepsInput.value = params.get('steps') || '';
const segmentSelects = [$('source'), $('device')];
for (const s of segmentSelects) s.value = params.get(s.id) || '';

/** The funnel's steps as typed: event names separated by commas (empty: the default funnel). */
function steps() {
  return stepsInput.value.split(',').map((s) => s.trim()).filter(Boolean).join(',');
}
const DAY = 86400000;

const STEP_LABELS = {
  page_view: 'Page view', view_item: 'Viewed item', add_to_cart: 'Added to cart',
  begin_checkout: 'Began checkout', add_shipping_info: 'Shipping info', add_payment_info: 'Payment info',
  purchase: 'Purchase',
};
const SOURCE_LABELS = {
  direct: 'Direct', organic_search: 'Organic search', paid_search: 'Paid search', social: 'Social',
  email: 'Email', referral: 'Referral',
};
const DEVICE_LABELS = { desktop: 'Desktop', mobile: 'Mobile', tablet: 'Tablet', bot: 'Bot' };

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else if (k === 'style') e.style.cssText = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

/** Minor units → a formatted amount, using the currency's own number of decimals. */
function money(amount, currency) {
  if (currency === 'XXX') return (amount / 100).toFixed(2);
  try {
    const f = new Intl.NumberFormat(undefined, { style: 'currency', currency });
    return f.format(amount / 10 ** f.resolvedOptions().maximumFractionDigits);
  } catch (e) {
    return (amount / 100).toFixed(2) + ' ' + currency;
  }
}

const pct = (x) => (x === null || x === undefined ? '–' : (x * 100).toFixed(1) + '%');
const num = (x) => (x === null || x === undefined ? '–' : Number(x).toLocaleString());
function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  const s = Math.round(ms / 1000);
  return s < 60 ? s + ' s' : Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
}
const moneyList = (list) => (list.length ? list.map((m) => money(m.amount, m.currency)).join(' · ') : '–');

/**
 * A read API address for the range picked (`back` 1: the period before it, as long: yesterday
 * up to this time for Today, the 7 or 30 days before for the others).
 */
function api(path, extra = {}, back = 0) {
  const days = Number(rangeSelect.value);
  const now = Date.now() + 1;
  const shift = back * days * DAY;
  const from = (days === 1 ? now - (now % DAY) : now - days * DAY) - shift;
  const to = now - shift;
  const q = new URLSearchParams({ from, to, ...extra });
  for (const s of segmentSelects) if (s.value) q.set(s.id, s.value);
  if (token) q.set('token', token);
  return `/v1/sites/${encodeURIComponent(siteInput.value)}/${path}?${q}`;
}

async function getJson(url) {
  const res = await fetch(url, { headers: token ? { Authorization: 'Bearer ' + token } : {} });
  if (!res.ok) throw new Error(`${res.status} ${(await res.json().catch(() => ({}))).message || res.statusText}`);
  return res.json();
}

/** The one amount of a per-currency list, or null when it has none or several currencies. */
const single = (list) => (list && list.length === 1 ? list[0] : null);

/**
 * How a figure moved against the previous period, as [text, class, title], or null when there is
 * nothing to compare (no figure in either period, another currency, a relative change from 0).
 * `kind`: 'rate' changes by percentage points, 'relative' in percent; `lowerIsBetter`
 * colours a rise as bad. `show` formats the previous figure for the title.
 */
function change(cur, prev, kind, lowerIsBetter, show) {
  if (cur === null || cur === undefined || prev === null || prev === undefined) return null;
  let text;
  let diff;
  if (kind === 'rate') {
    diff = (cur - prev) * 100;
    text = Math.abs(diff).toFixed(1) + ' pts';
  } else {
    if (!prev) return null;
    diff = (cur - prev) / prev * 100;
    text = (Math.abs(diff) < 10 ? Math.abs(diff).toFixed(1) : Math.round(Math.abs(diff)).toLocaleString()) + '%';
  }
  const flat = Math.abs(diff) < 0.05;
  const arrow = flat ? '±' : diff > 0 ? '▲ ' : '▼ ';
  const cls = flat ? 'flat' : (diff > 0) !== lowerIsBetter ? 'good' : 'bad';
  return [arrow + (flat ? '0' : text), cls, 'previous period: ' + show(prev)];
}

/**
 * The KPI cards, each with its change against the previous period of the same length (`p`, its
 * KPIs, or null when that request failed), and the delivery card from `/ingest` when it answered.
 */
function renderCards(k, ingest, p) {
  const moneyChange = (key) => {
    const a = single(k[key]);
    const b = p && single(p[key]);
    return a && b && a.currency === b.currency ? change(a.amount, b.amount, 'relative', false, (x) => money(x, b.currency)) : null;
  };
  const by = (key, kind, show, lowerIsBetter = false) => p && change(k[key], p[key], kind, lowerIsBetter, show);
  const fixed2 = (x) => x.toFixed(2);
  const cards = [
    ['Sessions', num(k.sessions), `${num(k.unique_visitors)} visitors · ${num(k.new_visitors)} new`, by('sessions', 'relative', num)],
    ['Conversion rate', pct(k.conversion_rate), `${num(k.orders)} orders`, by('conversion_rate', 'rate', pct)],
    ['Revenue', moneyList(k.revenue), 'gross, per currency', moneyChange('revenue')],
    ['Average order value', moneyList(k.aov), '', moneyChange('aov')],
    ['Engaged sessions', num(k.engaged_sessions), `bounce rate ${pct(k.bounce_rate)}`, by('engaged_sessions', 'relative', num)],
    ['Pages per session', k.pages_per_session === null ? '–' : fixed2(k.pages_per_session), `${num(k.page_views)} page views`,
      by('pages_per_session', 'relative', fixed2)],
    ['Avg. session duration', duration(k.avg_session_duration_ms), '', by('avg_session_duration_ms', 'relative', duration)],
    ['Cart abandonment', pct(k.cart_abandonment_rate), 'added to cart, no order', by('cart_abandonment_rate', 'rate', pct, true)],
    ['Checkout abandonment', pct(k.checkout_abandonment_rate), 'began checkout, no order',
      by('checkout_abandonment_rate', 'rate', pct, true)],
    ['New customers', num(k.new_customers), `repeat rate ${pct(k.repeat_customer_rate)}`, by('new_customers', 'relative', num)],
    ['Customer value', moneyList(k.customer_lifetime_value), 'revenue per customer', moneyChange('customer_lifetime_value')],
  ];
  if (ingest) {
    const t = ingest.totals;
    cards.push(['Events stored', num(t.accepted), `${num(t.client_dropped)} dropped in browsers · ${num(t.rejected)} rejected`, null]);
  }
  $('cards').replaceChildren(...cards.map(([label, value, sub, moved]) =>
    el('div', { class: 'card' },
      el('div', { class: 'label' }, label),
      el('div', { class: 'figure' }, el('span', { class: 'value', 'data-kpi': label }, value),
        moved ? el('span', { class: 'change ' + moved[1], 'data-change': label, title: moved[2] }, moved[0]) : ''),
      el('div', { class: 'sub' }, sub))));
  const days = Number(rangeSelect.value);
  $('compare-note').textContent = cards.some((c) => c[3])
    ? `▲▼ against ${days === 1 ? 'the same hours yesterday' : `the ${days} days before`} (hover for its figure)`
    : '';
}

function renderFunnel(target, funnel, mini = false) {
  const first = funnel.steps[0]?.closed || 0;
  target.replaceChildren(...funnel.steps.map((s, i) => {
    const w = first ? (100 * s.closed) / first : 0;
    const wOpen = first ? Math.min(100, (100 * s.open) / first) : 0;
    const nums = mini
      ? el('span', { class: 'nums' }, num(s.closed))
      : el('span', { class: 'nums' }, `${num(s.closed)} (${pct(s.rate_from_start)})`,
        i > 0 ? el('span', { class: 'drop' }, ` −${num(s.drop_off)}`) : '');
    return el('li', {},
      el('span', { class: 'name' }, STEP_LABELS[s.name] || s.name),
      el('span', { class: 'track' }, el('span', { class: 'open', style: `width:${wOpen}%` }), el('span', { class: 'fill', style: `display:block;width:${w}%` })),
      nums);
  }));
}

/**
 * Bars of sessions per kind (`{name, sessions, conversions}`), with each kind's conversion rate;
 * a click on one shows only its sessions (sets `select`, the Source or Device filter).
 */
function renderBars(target, list, labels, select) {
  const max = Math.max(1, ...list.map((s) => s.sessions));
  target.replaceChildren(...(list.length ? list : [{ name: 'none', sessions: 0, conversions: 0 }]).map((s) => {
    const li = el('li', list.length ? { class: 'pick', title: 'Show only these sessions', 'data-value': s.name } : {},
      el('span', {}, labels[s.name] || s.name),
      el('span', { class: 'track' }, el('span', { class: 'fill', style: `display:block;width:${(100 * s.sessions) / max}%` })),
      el('span', { class: 'nums' }, s.sessions ? `${num(s.sessions)} · ${pct(s.conversions / s.sessions)}` : '0'));
    if (list.length) li.addEventListener('click', () => { select.value = s.name; keepInAddress(); });
    return li;
  }));
}

/** A bar per day of `days[i][key]` into `box` (an SVG), or `empty` when no day has any. */
function renderDayChart(box, days, key, color, empty) {
  days = days.filter((d) => d[key] > 0);
  if (!days.length) {
    box.replaceChildren(el('p', { class: 'muted' }, empty));
    return;
  }
  const W = 600, H = 150, pad = 22;
  const max = Math.max(...days.map((d) => d[key]));
  const bw = Math.min(48, (W - pad) / days.length);
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  days.forEach((d, i) => {
    const h = ((H - 2 * pad) * d[key]) / max;
    const r = document.createElementNS(ns, 'rect');
    Object.entries({ x: pad + i * bw + 2, y: H - pad - h, width: Math.max(2, bw - 4), height: h, fill: color, rx: 2 })
      .forEach(([k, v]) => r.setAttribute(k, v));
    const t = document.createElementNS(ns, 'title');
    t.textContent = `${d.day}: ${d[key]} ${key}`;
    r.append(t);
    svg.append(r);
    if (days.length <= 14 || i % Math.ceil(days.length / 10) === 0) {
      const label = document.createElementNS(ns, 'text');
      Object.entries({ x: pad + i * bw + bw / 2, y: H - 6, 'text-anchor': 'middle' }).forEach(([k, v]) => label.setAttribute(k, v));
      label.textContent = d.day.slice(5);
      svg.append(label);
      const value = document.createElementNS(ns, 'text');
      Object.entries({ x: pad + i * bw + bw / 2, y: H - pad - h - 4, 'text-anchor': 'middle' }).forEach(([k, v]) => value.setAttribute(k, v));
      value.textContent = d[key];
      svg.append(value);
    }
  });
  box.replaceChildren(svg);
}

/**
 * The rows setter of table `id`: its body becomes the rows given, or, when there are none, the
 * placeholder row the page has in it.
 */
function tableRows(id) {
  const body = $(id).tBodies[0];
  const placeholder = body.rows[0];
  return (rows) => body.replaceChildren(...(rows.length ? rows : [placeholder]));
}

const setPages = tableRows('pages');
function renderPages(list) {
  setPages(list.map((p) =>
    el('tr', {}, el('td', { class: 'page' }, p.page || '–'), el('td', {}, num(p.sessions)), el('td', {}, pct(p.conversion_rate)))));
}

const setCampaigns = tableRows('campaigns');
function renderCampaigns(list) {
  setCampaigns(list.map((c) =>
    el('tr', {}, el('td', {}, [c.source || '–', c.medium || '–'].join(' / ')), el('td', {}, c.campaign || '–'),
      el('td', {}, num(c.sessions)), el('td', {}, pct(c.conversion_rate)), el('td', {}, moneyList(c.revenue)))));
}

const setExperiments = tableRows('experiments');
async function renderExperiments() {
  // Filled from /v1/sites/{site}/experiments when the collector serves it.
  try {
    const data = await getJson(api('experiments'));
    const rows = [];
    for (const exp of data.experiments || []) {
      for (const v of exp.variations) {
        // A difference is marked significant at p < 0.05 (two-sided, against variation 0).
        const p = v.p_value === null || v.p_value === undefined ? '–' : v.p_value.toFixed(3);
        rows.push(el('tr', { class: v.p_value !== null && v.p_value < 0.05 ? 'significant' : '' },
          el('td', {}, exp.key), el('td', {}, v.variation), el('td', {}, num(v.sessions)),
          el('td', {}, pct(v.conversion_rate)), el('td', {}, v.lift === null || v.lift === undefined ? '–' : pct(v.lift)),
          el('td', {}, p), el('td', {}, moneyList(v.revenue_per_session))));
      }
      if (exp.srm && exp.srm.warning) {
        rows.push(el('tr', {}, el('td', { colspan: 7, class: 'warn', role: 'alert' },
          `${exp.key}: sample ratio mismatch (p = ${exp.srm.p_value.toExponential(1)}); the split is off, do not trust these results.`)));
      }
    }
    setExperiments(rows);
  } catch (e) {
    /* not available: keep the placeholder row */
  }
}

let loading = false;
let again = false; // asked for while loading (new steps, range or site): load once more after
async function refresh() {
  if (loading) {
    again = true;
    return;
  }
  loading = true;
  try {
    const custom = steps();
    const [metrics, previous, funnel, pages, ingest, daily, campaigns] = await Promise.all([
      getJson(api('metrics')),
      getJson(api('metrics', {}, 1)).catch(() => null),
      getJson(api('funnel', custom ? { steps: custom } : {})).catch((e) => ({ error: e })),
      getJson(api('pages')).catch(() => null),
      getJson(api('ingest')).catch(() => null),
      getJson(api('daily')).catch(() => ({ days: [] })),
      getJson(api('campaigns')).catch(() => null),
    ]);
    renderCards(metrics.kpis, ingest && ingest.ingest, previous && previous.kpis);
    if (funnel.error) {
      $('funnel').replaceChildren(el('li', { class: 'muted' }, 'Could not load the funnel: ' + funnel.error.message));
    } else {
      renderFunnel($('funnel'), funnel.funnel);
    }
    $('funnel-note').textContent = custom
      ? 'sessions started in range, these events in this order, others allowed between'
      : 'sessions started in range, steps completed in order';
    renderBars($('sources'), metrics.kpis.traffic_sources.map((s) => ({ ...s, name: s.kind })), SOURCE_LABELS, $('source'));
    renderBars($('devices'), metrics.kpis.devices.map((d) => ({ ...d, name: d.device })), DEVICE_LABELS, $('device'));
    renderDayChart($('sessions-chart'), daily.days, 'sessions', '#b7c8f0', 'No sessions in this range yet.');
    renderDayChart($('orders-chart'), daily.days, 'orders', '#3b6fd8', 'No orders in this range yet.');
    if (pages) renderPages(pages.landing_pages);
    if (campaigns) renderCampaigns(campaigns.campaigns);
    const only = segmentSelects.filter((s) => s.value).map((s) => s.selectedOptions[0].textContent);
    $('status').textContent = `Updated ${new Date().toLocaleTimeString()} · site ${siteInput.value}` +
      (only.length ? ` · only ${only.join(', ').toLowerCase()} sessions` : '');
    document.body.dataset.loaded = 'true';
  } catch (e) {
    $('status').textContent = 'Could not load: ' + e.message;
  } finally {
    loading = false;
  }
  renderExperiments();
  if (again) {
    again = false;
    refresh();
  }
}

let source;
let retry = 1000;
function connectLive() {
  source?.close();
  const q = token ? `?token=${encodeURIComponent(token)}` : '';
  source = new EventSource(`/v1/sites/${encodeURIComponent(siteInput.value)}/live${q}`);
  let lastOrders = null;
  source.addEventListener('live', (e) => {
    retry = 1000;
    $('live').textContent = '● live';
    $('live').className = 'live on';
    const live = JSON.parse(e.data);
    $('active').textContent = num(live.active_sessions);
    renderFunnel($('today'), live.today, true);
    // When today's numbers move, refresh the rest (coalesced by `loading`).
    const sig = live.today.steps.map((s) => s.closed).join(',');
    if (lastOrders !== null && sig !== lastOrders) refresh();
    lastOrders = sig;
  });
  source.onerror = () => {
    $('live').textContent = '● reconnecting';
    $('live').className = 'live off';
    source.close();
    setTimeout(connectLive, retry);
    retry = Math.min(retry * 2, 30000);
  };
}

siteInput.addEventListener('change', () => {
  for (const w of document.querySelectorAll('funnelcake-funnel, funnelcake-experiment')) {
    w.setAttribute('site', siteInput.value);
    w.replaceWith(w); // reconnect with the new site
  }
  refresh();
  connectLive();
});
for (const w of document.querySelectorAll('funnelcake-funnel, funnelcake-experiment')) {
  w.setAttribute('site', siteInput.value);
  if (token) w.setAttribute('token', token);
}
/** The view's steps and segment, kept in the address so it can be bookmarked and shared. */
function keepInAddress() {
  const q = new URLSearchParams(location.search);
  for (const [name, value] of [['steps', steps()], ...segmentSelects.map((s) => [s.id, s.value])]) {
    if (value) q.set(name, value); else q.delete(name);
  }
  history.replaceState(null, '', q.size ? '?' + q : location.pathname);
  refresh();
}
rangeSelect.addEventListener('change', refresh);
for (const s of segmentSelects) s.addEventListener('change', keepInAddress);
$('steps-form').addEventListener('submit', (e) => {
  e.preventDefault();
  keepInAddress();
});
refresh();
connectLive();
setInterval(refresh, 30000);
