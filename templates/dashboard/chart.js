// The verdicts-over-time chart of the bccsink dashboard: /api/stats intervals summed into at
// most MAX_BARS time buckets and drawn as stacked SVG bars with DOM calls (no markup from
// data), with axis labels and a legend. Uses app.js's helpers ($, el, svg, num, pad, when).
'use strict';

const MAX_BARS = 96;
const STACK = ['clean', 'unscanned', 'suspicious', 'dangerous'];  // bottom to top

// The y axis: a step of 1, 2 or 5 x 10^k (at least 1: counts are whole) giving about 4 lines.
function yScale(max) {
  const raw = Math.max(1, max) / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((k) => k * p).find((v) => v >= raw));
  return { step, top: step * Math.max(1, Math.ceil(max / step)) };
}

function renderChart(stats) {
  const box = $('chart');
  box.replaceChildren();
  const since = Date.parse(stats.since);
  const until = Date.parse(stats.until);
  const step = Math.max(1, Number(stats.interval_seconds) || 300) * 1000;
  const span = until - since;
  $('chart-range').textContent = `${when(stats.since)} – ${when(stats.until)}`;
  if (!(span > 0)) {
    $('chart-note').textContent = 'The statistics name no time range.';
    $('chart-note').hidden = false;
    return;
  }
  // Intervals are summed into at most MAX_BARS buckets of whole intervals, on a grid aligned
  // to the bucket length so bars and labels fall on round times.
  const bucket = Math.max(step, Math.ceil(span / MAX_BARS / step) * step);
  const from = Math.floor(since / bucket) * bucket;
  const n = Math.max(1, Math.ceil((until - from) / bucket));
  const buckets = Array.from({ length: n }, (_, i) => ({ start: from + i * bucket, v: {} }));
  const totals = {};
  for (const iv of stats.intervals || []) {
    const t = Date.parse(iv.start);
    if (Number.isNaN(t)) continue;
    const b = buckets[Math.min(n - 1, Math.max(0, Math.floor((t - from) / bucket)))];
    for (const k of STACK) {
      const c = Number((iv.verdicts || {})[k]) || 0;
      b.v[k] = (b.v[k] || 0) + c;
      totals[k] = (totals[k] || 0) + c;
    }
  }
  const sum = (b) => STACK.reduce((s, k) => s + (b.v[k] || 0), 0);
  const { step: yStep, top } = yScale(Math.max(0, ...buckets.map(sum)));

  const W = Math.max(360, box.clientWidth || 720);
  const H = 220;
  const m = { l: 40, r: 8, t: 10, b: 24 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const end = from + n * bucket;
  const x = (t) => m.l + ((t - from) / (end - from)) * pw;
  const y = (c) => m.t + ph - (c / top) * ph;
  const chart = svg('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img',
                             'aria-label': 'Verdicts over time', class: 'chart-svg' });
  for (let c = 0; c <= top; c += yStep) {
    chart.append(svg('line', { x1: m.l, x2: W - m.r, y1: y(c), y2: y(c), class: c ? 'grid' : 'axis' }));
    chart.append(svg('text', { x: m.l - 6, y: y(c) + 4, class: 'tick', 'text-anchor': 'end' }, num(c)));
  }
  // Time labels at least 90 px apart, on round local times.
  const minute = 60000;
  const tickStep = [1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880].map((v) => v * minute)
    .find((v) => (v / (end - from)) * pw >= 90) || 10080 * minute;
  const long = end - from > 36 * 3600e3;
  const off = new Date(from).getTimezoneOffset() * minute;
  for (let t = Math.ceil((from - off) / tickStep) * tickStep + off; x(t) <= W - 16; t += tickStep) {
    const d = new Date(t);
    const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    const label = long ? `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}` : hm;
    chart.append(svg('line', { x1: x(t), x2: x(t), y1: m.t + ph, y2: m.t + ph + 4, class: 'axis' }));
    chart.append(svg('text', { x: x(t), y: H - 6, class: 'tick', 'text-anchor': 'middle' }, label));
  }
  const bw = Math.max(2, (bucket / (end - from)) * pw - 1);
  for (const b of buckets) {
    let acc = 0;
    for (const k of STACK) {
      const c = b.v[k] || 0;
      if (!c) continue;
      const rect = svg('rect', { x: x(b.start) + 0.5, y: y(acc + c), width: bw, height: Math.max(1, y(acc) - y(acc + c)),
                                 class: `bar v-${k}`, 'data-verdict': k, 'data-count': c });
      rect.append(svg('title', {}, `${when(new Date(b.start).toISOString())}: ${c} ${k}`));
      chart.append(rect);
      acc += c;
    }
  }
  const all = STACK.reduce((s, k) => s + (totals[k] || 0), 0);
  if (!all) {
    chart.append(svg('text', { x: m.l + pw / 2, y: m.t + ph / 2, class: 'empty', 'text-anchor': 'middle' },
                     'No messages in this range'));
  }
  box.append(chart);
  $('legend').replaceChildren(...[...STACK].reverse().map((k) =>
    el('li', {}, el('span', { class: `swatch v-${k}` }), `${k} `, el('strong', { text: num(totals[k] || 0), data: { verdict: k } }))));
  const minutes = Math.round(bucket / 60000);
  $('chart-note').textContent = `One bar = ${minutes >= 1 ? `${minutes} min` : `${bucket / 1000} s`}.`;
  $('chart-note').hidden = false;
}
