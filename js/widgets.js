/*! funnelcake widgets | MIT OR Apache-2.0 */
// <funnelcake-funnel> and <funnelcake-experiment>: dependency-free custom elements (shadow DOM,
// themable with CSS custom properties, numbers as text for screen readers). No polling: the
// session source listens to the SDK's on('metrics'), the site source to the collector's live
// Server-Sent Events stream (reconnecting with backoff); renders are coalesced to animation
// frames; everything is released when the element is removed. Load with a classic script tag or
// import as a module.
(function () {
  'use strict';
  if (typeof window === 'undefined' || !window.customElements) return;

  var LABELS = {
    page_view: 'Page view', view_item: 'Viewed item', add_to_cart: 'Added to cart',
    begin_checkout: 'Began checkout', add_shipping_info: 'Shipping info', add_payment_info: 'Payment info',
    purchase: 'Purchase', checkout_contact: 'Contact info'
  };
  var STYLE =
    ':host{display:block;font:var(--fc-font,13px/1.4 system-ui,sans-serif);color:var(--fc-text,#1c2230);' +
    'background:var(--fc-bg,#fff);border:1px solid var(--fc-border,#e3e5ea);border-radius:var(--fc-radius,10px);' +
    'padding:10px 12px;box-sizing:border-box}' +
    'h3{margin:0 0 6px;font-size:1em;display:flex;justify-content:space-between;gap:8px}' +
    '.st{font-weight:400;color:var(--fc-muted,#6b7280);font-size:.85em}.st.on{color:var(--fc-ok,#1a9d55)}' +
    '.st.off{color:var(--fc-bad,#c0392b)}ol{list-style:none;margin:0;padding:0}' +
    'li{display:grid;grid-template-columns:minmax(90px,1fr) 2fr auto;gap:8px;align-items:center;margin:3px 0}' +
    '.bar{height:var(--fc-bar-height,10px);background:var(--fc-track,#eef1f8);border-radius:4px;overflow:hidden}' +
    '.fill{width:var(--p);height:100%;background:var(--fc-bar,#3b6fd8);border-radius:4px;transition:width .3s,height .3s}' +
    '.fill.hit{background:var(--fc-bar-reached,#1a9d55)}.num{font-variant-numeric:tabular-nums;white-space:nowrap}' +
    '.drop{color:var(--fc-bad,#c0392b);font-size:.85em}.muted{color:var(--fc-muted,#6b7280)}' +
    ':host([layout=compact]) li{grid-template-columns:1fr auto}:host([layout=compact]) .bar{display:none}' +
    ':host([layout=horizontal]) ol{display:flex;gap:6px}:host([layout=horizontal]) li{display:flex;flex-direction:column;' +
    'align-items:stretch;flex:1;min-width:0;text-align:center}:host([layout=horizontal]) .bar{height:36px;display:flex;' +
    // Horizontal: each step a column whose bar grows upwards to its share.
    'flex-direction:column-reverse}:host([layout=horizontal]) .fill{width:100%;height:var(--p)}' +
    // … and its drop-off on a line of its own (a blank one for the first step, so all match).
    ':host([layout=horizontal]) .drop{display:block}' +
    // A label that wraps takes the extra height above its bar, so the bars stay in one row.
    ':host([layout=horizontal]) li>span:first-child{flex:1;display:flex;align-items:flex-end;justify-content:center}' +
    'table{width:100%;border-collapse:collapse}th,td{text-align:left;padding:3px 4px;border-bottom:1px solid var(--fc-border,#e3e5ea);' +
    'font-variant-numeric:tabular-nums}.warn{color:var(--fc-bad,#c0392b);margin-top:6px}';

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function pct(x) { return x === null || x === undefined ? '–' : (x * 100).toFixed(1) + '%'; }

  /** Shared base: shadow root, frame-coalesced rendering, live-stream connection with backoff. */
  class Base extends HTMLElement {}
  Base.prototype.init = function () {
    if (this.root) return;
    this.root = this.attachShadow({ mode: 'open' });
    this.root.innerHTML = '<style>' + STYLE + '</style><div part="body" aria-live="polite"></div>';
    this.body = this.root.lastChild;
    this.frame = 0;
  };
  Base.prototype.schedule = function () {
    var self = this;
    if (self.frame) return;
    self.frame = requestAnimationFrame(function () { self.frame = 0; self.render(); });
  };
  Base.prototype.base = function () {
    var e = this.getAttribute('endpoint') || '';
    return e.replace(/\/$/, '');
  };
  Base.prototype.tokenQuery = function (sep) {
    var t = this.getAttribute('token');
    return t ? sep + 'token=' + encodeURIComponent(t) : '';
  };
  Base.prototype.connect = function (onLive) {
    var self = this;
    self.disconnectLive();
    var site = encodeURIComponent(self.getAttribute('site') || 'demo-shop');
    var es = new EventSource(self.base() + '/v1/sites/' + site + '/live' + self.tokenQuery('?'));
    self.es = es;
    es.addEventListener('live', function (ev) {
      self.retry = 1000;
      self.status = 'live';
      try { onLive(JSON.parse(ev.data)); } catch (e) { /* malformed event: ignore */ }
      self.schedule();
    });
    es.onerror = function () {
      es.close();
      if (self.es !== es) return;
      self.status = 'reconnecting';
      self.schedule();
      var wait = self.retry || 1000;
      self.retry = Math.min(wait * 2, 30000);
      self.timer = setTimeout(function () { if (self.isConnected) self.connect(onLive); }, wait);
    };
  };
  Base.prototype.disconnectLive = function () {
    if (this.es) this.es.close();
    this.es = null;
    clearTimeout(this.timer);
  };
  // Set up outside the page's zone.js zones: in an Angular app (zone.js), what the element
  // starts (the live stream's listener, the reconnect timer, animation frames, on('metrics'))
  // would otherwise run the app's change detection at every update, once a second for the live
  // stream; the element only changes its own shadow DOM.
  Base.prototype.connectedCallback = function () {
    var root;
    try { root = window.Zone && window.Zone.root; } catch (e) { /* an odd zone.js */ }
    if (root && typeof root.run === 'function') root.run(this.setup, this);
    else this.setup();
  };
  Base.prototype.disconnectedCallback = function () {
    this.disconnectLive();
    if (this.unsubscribe) this.unsubscribe();
    this.unsubscribe = null;
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
  };
  Base.prototype.statusHtml = function () {
    var s = this.status || 'connecting';
    return '<span class="st ' + (s === 'live' ? 'on' : s === 'reconnecting' ? 'off' : '') + '" data-status="' + s + '">● ' + s + '</span>';
  };

  /** <funnelcake-funnel source="session|site" steps="a,b" site endpoint token layout title> */
  class Funnel extends Base {}
  Funnel.prototype.setup = function () {
    var self = this;
    self.init();
    self.steps = null;
    if ((self.getAttribute('source') || 'session') === 'site') {
      self.connect(function (live) { self.steps = live.today.steps; self.active = live.active_sessions; });
    } else {
      // The SDK's stub queues on() until the wasm is ready; if even the stub is not there yet
      // (this script ran first), try once more when the page has loaded. No polling.
      var subscribe = function () {
        var fc = window.funnelcake;
        if (!fc || !fc.on || !self.isConnected || self.unsubscribe) return !!self.unsubscribe;
        self.status = 'live';
        self.unsubscribe = fc.on('metrics', function (m) { self.metrics = m; self.schedule(); });
        if (fc.metrics) self.metrics = fc.metrics();
        self.schedule();
        return true;
      };
      if (!subscribe()) {
        self.status = 'waiting for the SDK';
        window.addEventListener('load', subscribe, { once: true });
      }
    }
    self.schedule();
  };
  Funnel.prototype.filter = function (steps) {
    var wanted = (this.getAttribute('steps') || '').split(',').map(function (s) { return s.trim(); }).filter(Boolean);
    if (!wanted.length) return steps;
    return steps.filter(function (s) { return wanted.indexOf(s.name) >= 0; });
  };
  Funnel.prototype.render = function () {
    var title = esc(this.getAttribute('title') || ((this.getAttribute('source') || 'session') === 'site' ? 'Today’s funnel' : 'Your journey'));
    var html = '<h3>' + title + ' ' + this.statusHtml() + '</h3>';
    if ((this.getAttribute('source') || 'session') === 'site') {
      var steps = this.steps ? this.filter(this.steps) : [];
      var first = steps.length ? steps[0].closed : 0;
      html += '<ol role="list">' + steps.map(function (s, i) {
        var w = first ? (100 * s.closed) / first : 0;
        var drop = i > 0 ? steps[i - 1].closed - s.closed : 0;
        return '<li role="listitem" data-step="' + esc(s.name) + '" data-count="' + s.closed + '"><span>' + esc(LABELS[s.name] || s.name) +
          '</span><span class="bar" aria-hidden="true"><span class="fill" style="display:block;--p:' + w + '%"></span></span>' +
          '<span class="num">' + s.closed + ' · ' + pct(first ? s.closed / first : null) +
          ' <span class="drop">' + (i > 0 ? '−' + drop : '&nbsp;') + '</span></span></li>';
      }).join('') + '</ol>';
      if (this.active !== undefined) html += '<div class="muted">' + this.active + ' active now</div>';
    } else {
      var m = this.metrics;
      var st = m ? this.filter(m.funnel.steps) : [];
      var reached = st.filter(function (s) { return s.reachedAt !== null; }).length;
      html += '<ol role="list">' + st.map(function (s) {
        var hit = s.reachedAt !== null;
        return '<li role="listitem" data-step="' + esc(s.name) + '" data-reached="' + hit + '"><span>' + esc(LABELS[s.name] || s.name) +
          '</span><span class="bar" aria-hidden="true"><span class="fill ' + (hit ? 'hit' : '') + '" style="display:block;--p:' +
          (hit ? 100 : 0) + '%"></span></span><span class="num">' + (hit ? '✓ reached' : '–') + '</span></li>';
      }).join('') + '</ol>';
      if (m) html += '<div class="muted">' + reached + ' of ' + st.length + ' steps' + (m.funnel.dropOffStep ? ' · next: ' + esc(LABELS[m.funnel.dropOffStep] || m.funnel.dropOffStep) : '') + '</div>';
    }
    this.body.innerHTML = html;
  };

  /** <funnelcake-experiment key site endpoint token title> */
  class Experiment extends Base {}
  Experiment.prototype.setup = function () {
    var self = this;
    self.init();
    self.load();
    var last = null;
    // Refetch the results when the site's numbers move (the live stream ticks every second).
    self.connect(function (live) {
      var sig = live.today.steps.map(function (s) { return s.closed; }).join(',');
      if (sig !== last) { last = sig; self.load(); }
    });
    self.schedule();
  };
  Experiment.prototype.load = function () {
    var self = this;
    if (self.loading) return;
    self.loading = true;
    var site = encodeURIComponent(self.getAttribute('site') || 'demo-shop');
    var key = encodeURIComponent(self.getAttribute('key') || '');
    fetch(self.base() + '/v1/sites/' + site + '/experiments/' + key + self.tokenQuery('?'))
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { self.result = d && d.experiment; self.loading = false; self.schedule(); },
        function () { self.loading = false; });
  };
  Experiment.prototype.render = function () {
    var r = this.result;
    var html = '<h3>' + esc(this.getAttribute('title') || 'Experiment ' + (this.getAttribute('key') || '')) + ' ' + this.statusHtml() + '</h3>';
    if (!r || !r.variations.length) {
      this.body.innerHTML = html + '<div class="muted">No exposures yet.</div>';
      return;
    }
    html += '<table><thead><tr><th>Variation</th><th>Sessions</th><th>Conversion</th><th>Lift</th><th>p</th></tr></thead><tbody>' +
      r.variations.map(function (v) {
        var ci = v.conversion_ci ? ' (' + pct(v.conversion_ci[0]) + '–' + pct(v.conversion_ci[1]) + ')' : '';
        var lift = v.lift === null ? (v.variation === 0 ? 'control' : '–') : pct(v.lift) + (v.lift_ci ? ' (' + pct(v.lift_ci[0]) + ' to ' + pct(v.lift_ci[1]) + ')' : '');
        return '<tr data-variation="' + v.variation + '"><td>' + v.variation + '</td><td>' + v.sessions + '</td><td>' + pct(v.conversion_rate) + ci +
          '</td><td>' + lift + '</td><td>' + (v.p_value === null ? '–' : v.p_value.toFixed(3)) + '</td></tr>';
      }).join('') + '</tbody></table>';
    if (r.srm && r.srm.warning) html += '<div class="warn" role="alert">Sample ratio mismatch (p = ' + r.srm.p_value.toExponential(1) + '): the split is off; do not trust these results.</div>';
    this.body.innerHTML = html;
  };

  if (!customElements.get('funnelcake-funnel')) customElements.define('funnelcake-funnel', Funnel);
  if (!customElements.get('funnelcake-experiment')) customElements.define('funnelcake-experiment', Experiment);
})();
