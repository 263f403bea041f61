// edgefed status page: polls /v1/status (relative, so the page works on the
// HTTPS port and on the plain metrics port) and redraws cards, canvas charts
// and the agent table. Text from the server goes in via textContent only.
'use strict';
(function () {
  const REFRESH_MS = 3000;
  const OUTLIER_THRESHOLD = 3.5;
  const $ = (id) => document.getElementById(id);

  function fmt(x, digits) {
    if (x === null || x === undefined || !isFinite(x)) return '\u2013';
    const a = Math.abs(x);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(2);
    return x.toFixed(digits);
  }
  function ago(ms) {
    if (!ms) return 'never';
    const s = Math.max(0, (Date.now() - ms) / 1000);
    if (s < 60) return s.toFixed(0) + ' s ago';
    if (s < 3600) return (s / 60).toFixed(0) + ' min ago';
    return (s / 3600).toFixed(1) + ' h ago';
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // A line chart of points [{x, y}] on a canvas, sized for the device pixel ratio.
  function drawChart(canvas, points, opts) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    const g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    canvas.dataset.points = String(points.length);  // for tests and the curious
    g.font = '11px system-ui, sans-serif';
    const pad = { l: 54, r: 12, t: 10, b: 26 };
    const pw = w - pad.l - pad.r, ph = h - pad.t - pad.b;
    if (points.length === 0) {
      g.fillStyle = '#8a93a6';
      g.textAlign = 'center';
      g.fillText('waiting for data\u2026', w / 2, h / 2);
      return;
    }
    let x0 = Math.min(...points.map((p) => p.x)), x1 = Math.max(...points.map((p) => p.x));
    let y0 = Math.min(...points.map((p) => p.y)), y1 = Math.max(...points.map((p) => p.y));
    if (opts.min !== undefined) y0 = Math.min(y0, opts.min);
    if (opts.max !== undefined) y1 = Math.max(y1, opts.max);
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    if (y1 === y0) { y0 -= Math.abs(y0) * 0.1 + 1e-9; y1 += Math.abs(y1) * 0.1 + 1e-9; }
    const ypad = (y1 - y0) * 0.08;
    if (opts.min === undefined) y0 -= ypad;
    if (opts.max === undefined) y1 += ypad;
    const X = (x) => pad.l + ((x - x0) / (x1 - x0)) * pw;
    const Y = (y) => pad.t + ph - ((y - y0) / (y1 - y0)) * ph;
    // grid and y labels
    g.strokeStyle = '#eceff5';
    g.fillStyle = '#6b7385';
    g.lineWidth = 1;
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    for (let i = 0; i <= 4; i++) {
      const v = y0 + ((y1 - y0) * i) / 4, yy = Y(v);
      g.beginPath(); g.moveTo(pad.l, yy); g.lineTo(pad.l + pw, yy); g.stroke();
      g.fillText(opts.percent ? (v * 100).toFixed(0) + '%' : fmt(v, 3), pad.l - 6, yy);
    }
    // x labels: wall-clock time
    g.textBaseline = 'top';
    for (let i = 0; i <= 3; i++) {
      const v = x0 + ((x1 - x0) * i) / 3;
      g.textAlign = i === 0 ? 'left' : i === 3 ? 'right' : 'center';  // keep the ends inside
      const d = new Date(v);
      g.fillText(d.toTimeString().slice(0, 8), X(v), pad.t + ph + 7);
    }
    // area + line
    const color = canvas.dataset.color || '#2d6cdf';
    g.beginPath();
    points.forEach((p, i) => (i ? g.lineTo(X(p.x), Y(p.y)) : g.moveTo(X(p.x), Y(p.y))));
    g.lineTo(X(points[points.length - 1].x), pad.t + ph);
    g.lineTo(X(points[0].x), pad.t + ph);
    g.closePath();
    g.globalAlpha = 0.12; g.fillStyle = color; g.fill(); g.globalAlpha = 1;
    g.beginPath();
    points.forEach((p, i) => (i ? g.lineTo(X(p.x), Y(p.y)) : g.moveTo(X(p.x), Y(p.y))));
    g.strokeStyle = color; g.lineWidth = 2; g.lineJoin = 'round'; g.stroke();
    const last = points[points.length - 1];
    g.beginPath(); g.arc(X(last.x), Y(last.y), 3.5, 0, 2 * Math.PI); g.fillStyle = color; g.fill();
  }

  function series(history, key) {
    return history.filter((p) => p[key] !== null && p[key] !== undefined && isFinite(p[key]))
      .map((p) => ({ x: p.unix_ms, y: p[key] }));
  }

  function renderCards(s) {
    $('k-version').textContent = s.model_version;
    $('k-mode').textContent = s.mode + ' \u00b7 ' + s.layout;
    // The metric card follows the model's task (accuracy, MAE or anomaly share).
    if (s.task === 'regression' && typeof s.global_mae === 'number') {
      $('k-acc-label').textContent = 'Global MAE';
      $('k-acc').textContent = s.global_mae.toPrecision(3);
    } else if (s.task === 'autoencoder' && typeof s.global_anomaly_share === 'number') {
      $('k-acc-label').textContent = 'Anomaly share';
      $('k-acc').textContent = (s.global_anomaly_share * 100).toFixed(1) + '%';
    } else {
      $('k-acc-label').textContent = 'Global accuracy';
      $('k-acc').textContent = s.global_accuracy === null || s.global_accuracy === undefined
        ? '\u2013' : (s.global_accuracy * 100).toFixed(1) + '%';
    }
    $('k-acc-note').textContent = s.task ? 'held-out set' : 'no held-out set';
    $('k-loss').textContent = fmt(s.global_loss, 4);
    const src = s.loss_source === 'eval' ? 'held-out eval' : 'reported by agents';
    $('k-loss-note').textContent = src;
    $('loss-src').textContent = src;
    $('k-var').textContent = fmt(s.gradient_variance, 4);
    const counts = { active: 0, idle: 0, offline: 0, quarantined: 0 };
    (s.agent_list || []).forEach((a) => { counts[a.state] = (counts[a.state] || 0) + 1; });
    if (s.agent_states) Object.assign(counts, s.agent_states);  // the summary names no agent
    $('k-agents').textContent = s.agents;
    $('k-states').textContent = counts.active + ' active \u00b7 ' + counts.idle + ' idle \u00b7 ' +
      counts.offline + ' offline \u00b7 ' + counts.quarantined + ' quarantined';
    $('k-updates').textContent = s.updates_accepted;
    $('k-merged').textContent = s.updates_merged + ' merged \u00b7 ' + s.telemetry_records + ' telemetry';
    // Serving channels: the stable version, the canary and who serves what.
    const sv = s.serving;
    if (!sv || !sv.enabled) {
      $('k-serving').textContent = sv ? 'newest validated' : '\u2013';
      $('k-serving-note').textContent = 'serving channels off';
    } else {
      $('k-serving').textContent = sv.stable >= 0 ? 'v' + sv.stable : '\u2013';
      const fig = typeof sv.stable_validation === 'number'
        ? (sv.metric === 'accuracy' ? (sv.stable_validation * 100).toFixed(1) + '% on devices' : 'loss ' + fmt(sv.stable_validation, 4))
        : 'not validated yet';
      $('k-serving-note').textContent = fig + ' \u00b7 ' +
        (sv.canary >= 0 ? 'canary v' + sv.canary + ' on ' + sv.agents_on_canary + '/' + sv.cohort_size : 'no canary') +
        ' \u00b7 ' + sv.agents_on_stable + ' on stable, ' + sv.agents_on_other + ' other';
    }
    // Replicas on a shared PostgreSQL store: this one, and who leads.
    const rp = s.replica;
    $('k-replica-card').hidden = !rp;
    if (rp) {
      $('k-replica').textContent = rp.name + (rp.leader ? ' (leader)' : ' (follower)');
      $('k-replica-note').textContent = 'leader ' + (rp.leader_name || 'none') + ' \u00b7 ' + rp.live_replicas +
        ' live \u00b7 database v' + rp.database_version +
        (Math.abs(rp.clock_skew_s) > 1 ? ' \u00b7 clock off by ' + fmt(rp.clock_skew_s, 1) + ' s' : '');
    }
  }

  function renderAgents(s) {
    const body = el('tbody');
    const agents = (s.agent_list || []).slice().sort((a, b) =>
      (b.outlier_score - a.outlier_score) || a.agent_id.localeCompare(b.agent_id));
    const top = Math.max(OUTLIER_THRESHOLD * 1.5, ...agents.map((a) => a.outlier_score || 0));
    agents.forEach((a) => {
      const tr = el('tr');
      tr.appendChild(el('td', 'id', a.agent_id));
      const st = el('td'); st.appendChild(el('span', 'state ' + a.state, a.state)); tr.appendChild(st);
      tr.appendChild(el('td', 'num', String(a.updates)));
      tr.appendChild(el('td', 'num', fmt(a.last_staleness, 0)));
      tr.appendChild(el('td', 'muted', ago(a.last_seen_unix_ms)));
      const sc = el('td');
      const bar = el('span', a.outlier_score > OUTLIER_THRESHOLD ? 'bar hot' : 'bar');
      bar.style.width = Math.max(2, Math.round((80 * (a.outlier_score || 0)) / top)) + 'px';
      sc.appendChild(bar);
      sc.appendChild(el('span', '', fmt(a.outlier_score, 2)));
      tr.appendChild(sc);
      body.appendChild(tr);
    });
    const summary = s.view === 'summary';
    if (agents.length === 0) {
      const tr = el('tr');
      const td = el('td', 'muted', summary
        ? 'agent details need a viewer or admin client certificate (this is the anonymous summary)'
        : 'no agents yet');
      td.colSpan = 6;
      tr.appendChild(td); body.appendChild(tr);
    }
    $('agents').replaceChild(body, $('agents').tBodies[0]);
    const q = agents.filter((a) => a.state === 'quarantined');
    const box = $('quarantined');
    if (summary) {
      const n = s.agent_states ? s.agent_states.quarantined : 0;
      box.replaceChildren(el('span', 'muted', n ? n + ' (names need a viewer certificate)' : 'none'));
      $('q-count').textContent = String(n);
      return;
    }
    box.replaceChildren(...(q.length ? q.map((a) => el('span', 'chip', a.agent_id)) : [el('span', 'muted', 'none')]));
    $('q-count').textContent = String(q.length);
  }

  let last = null;
  function render(s) {
    last = s;
    renderCards(s);
    const h = s.history || [];
    drawChart($('c-loss'), series(h, 'loss'), { min: 0 });
    if (s.task === 'regression') {
      $('c-acc-caption').textContent = 'Global MAE';
      drawChart($('c-acc'), series(h, 'mae'), { min: 0 });
    } else {
      $('c-acc-caption').textContent = 'Global accuracy';
      drawChart($('c-acc'), series(h, 'accuracy'), { min: 0, max: 1, percent: true });
    }
    drawChart($('c-var'), series(h, 'gradient_variance'), { min: 0 });
    renderAgents(s);
    document.body.dataset.version = String(s.model_version);
  }

  async function refresh() {
    try {
      const r = await fetch('/v1/status', { cache: 'no-store' });
      if (!r.ok) throw new Error('HTTP ' + r.status);
      render(await r.json());
      $('dot').className = 'dot ok';
      $('updated').textContent = 'updated ' + new Date().toTimeString().slice(0, 8);
    } catch (e) {
      $('dot').className = 'dot bad';
      $('updated').textContent = 'status unavailable (' + e.message + ')';
    }
  }
  window.addEventListener('resize', () => { if (last) render(last); });
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
