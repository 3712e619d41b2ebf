// graph.js — the SVG: region boxes, node cards, links and their labels. The structure (which
// regions, nodes and links exist) is laid out again only when it changes; every refresh updates
// texts, classes and label positions in place, so animations and hover state survive polling.
//
// Elements carry data attributes for tests and tools: [data-region], [data-node-id] with
// data-liveness, data-state, data-participants, data-tracks,
// [data-link="a|b"] with data-from, data-to, data-state, data-rtt-ms, data-bytes-per-sec.

const SVGNS = 'http://www.w3.org/2000/svg';

// IDLE_LABELS_UP_TO is the number of links up to which idle links are labelled too.
const IDLE_LABELS_UP_TO = 12;

/** el creates an SVG element with attributes and appends it to parent. */
function el(tag, attrs, parent) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (parent) parent.appendChild(e);
  return e;
}

/** fitText sets text's content to s, cut with an ellipsis to at most maxWidth pixels. */
function fitText(text, s, maxWidth) {
  text.textContent = s;
  for (let n = s.length - 1; n > 1 && text.getComputedTextLength() > maxWidth; n--) {
    text.textContent = s.slice(0, n) + '…';
  }
}

/** createGraph returns the renderer of the mesh graph in svg. */
function createGraph(svg) {
  let signature = null;
  let layout = null;
  const root = el('g', { class: 'root' }, svg);
  const refs = { nodes: new Map(), links: new Map() };

  function rebuild(model) {
    root.replaceChildren();
    refs.nodes.clear();
    refs.links.clear();
    layout = layoutMesh(model.regions);
    const layers = {};
    for (const name of ['regions', 'links', 'names', 'nodes', 'pills']) {
      layers[name] = el('g', { class: name }, root);
    }
    for (const b of layout.boxes) {
      const g = el('g', { class: 'region', 'data-region': b.name }, layers.regions);
      el('rect', { class: 'region-box', x: b.x, y: b.y, width: b.w, height: b.h, rx: 14 }, g);
      // The names go above the links, haloed, so that a link crossing them leaves them legible.
      const name = el('text', { class: 'region-name', x: b.x + 16, y: b.y + 26 }, layers.names);
      name.textContent = regionLabel(b.name);
      const count = el('text', { class: 'region-count', x: b.x + b.w - 16, y: b.y + 26, 'text-anchor': 'end' }, layers.names);
      count.textContent = plural(b.nodes.length, 'node');
    }
    const cardList = [...layout.cards.values()];
    for (const link of model.links) {
      const route = routeLink(layout.cards.get(link.a), layout.cards.get(link.b), cardList, layout.center);
      const g = el('g', { class: 'link', 'data-link': link.key, 'data-from': link.a, 'data-to': link.b }, layers.links);
      const title = el('title', {}, g);
      const d = routePath(route);
      const base = el('path', { class: 'base', d }, g);
      const flow = el('path', { class: 'flow', d }, g);
      const pill = el('g', { class: 'pill', 'data-pill': link.key }, layers.pills);
      refs.links.set(link.key, { g, title, base, flow, pill, route });
    }
    for (const [id, c] of layout.cards) {
      refs.nodes.set(id, buildCard(layers.nodes, id, c));
    }
  }

  function update(model) {
    const sig = model.regions.map((r) => r.name + ':' + r.nodes.map((n) => n.id).join(',')).join(';') +
      '#' + model.links.map((l) => l.key).join(';');
    if (sig !== signature) {
      rebuild(model);
      signature = sig;
    }
    for (const n of model.nodes) fillCard(refs.nodes.get(n.id), n, model);
    const cardList = [...layout.cards.values()];
    const placed = [];
    // In a large mesh every pair has a probe link; labelling the idle ones too would bury the
    // links that carry media, so they keep only their tooltip there.
    const labelIdle = model.links.length <= IDLE_LABELS_UP_TO;
    for (const link of model.links) {
      const r = refs.links.get(link.key);
      fillLink(r, link);
      const labelled = labelIdle || link.state !== 'idle';
      r.pill.style.display = labelled ? '' : 'none';
      if (labelled) placed.push(fillPill(r, link, cardList, placed));
    }
    fit();
  }

  // fit sizes the view to what was drawn, never scaling it up beyond 1:1.
  function fit() {
    const bb = root.getBBox();
    const m = 12;
    svg.setAttribute('viewBox', `${bb.x - m} ${bb.y - m} ${bb.width + 2 * m} ${bb.height + 2 * m}`);
    svg.style.maxWidth = Math.ceil(bb.width + 2 * m) + 'px';
  }

  /** highlight marks the hops of a relay tree (pairs "a|b") and its nodes; null clears. */
  function highlight(hops, nodes) {
    for (const [key, r] of refs.links) {
      const on = !!hops && hops.has(key);
      r.g.classList.toggle('hop', on);
      r.pill.classList.toggle('hop', on);
    }
    for (const [id, r] of refs.nodes) r.g.classList.toggle('in-tree', !!nodes && nodes.has(id));
  }

  return { update, highlight };
}

/** buildCard creates the elements of one node card at c. */
function buildCard(parent, id, c) {
  const g = el('g', { class: 'node', 'data-node-id': id, transform: `translate(${c.x},${c.y})` }, parent);
  const r = { g, w: c.w, h: c.h };
  r.title = el('title', {}, g);
  el('rect', { class: 'frame', width: c.w, height: c.h, rx: 10 }, g);
  r.id = el('text', { class: 'id', x: 14, y: 26 }, g);
  r.badges = el('g', { class: 'badges' }, g);
  el('circle', { class: 'live-dot', cx: 19, cy: 46, r: 4.5 }, g);
  r.live = el('text', { class: 'line', x: 30, y: 50 }, g);
  r.load = el('text', { class: 'line', x: 14, y: 73 }, g);
  const cpu = el('text', { class: 'line', x: 14, y: 96 }, g);
  cpu.textContent = 'CPU';
  el('rect', { class: 'cpu-track', x: 48, y: 88, width: c.w - 112, height: 8, rx: 4 }, g);
  r.cpuFill = el('rect', { class: 'cpu-fill', x: 48, y: 88, width: 0, height: 8, rx: 4 }, g);
  r.cpuText = el('text', { class: 'line', x: c.w - 14, y: 96, 'text-anchor': 'end' }, g);
  r.addr = el('text', { class: 'line', x: 14, y: 115 }, g);
  return r;
}

/** fillCard shows node n on its card. */
function fillCard(r, n, model) {
  const live = n.liveness || 'unknown';
  const gone = !isLive(n);
  r.g.setAttribute('class', `node ${live}` + (gone ? ' gone' : '') + (n.id === model.self ? ' self' : ''));
  r.g.dataset.liveness = live;
  r.g.dataset.state = n.state || '';
  r.g.dataset.participants = String(n.participants || 0);
  r.g.dataset.tracks = String(n.tracks || 0);
  r.title.textContent = `${n.id} (${regionLabel(n.region || '')})\nstate ${n.state || '?'}, ${live}` +
    `\nsignal ${n.signal_url || '–'}\nrelay ${n.relay_addr || '–'}\nup ${fmtUptime(n.uptime_seconds)}`;

  const badges = [];
  if (n.id === model.self) badges.push(['self', 'this edge']);
  if (model.hubs.get(n.region || '') === n.id) badges.push(['hub', 'hub']);
  if (n.state && n.state !== 'active') badges.push([n.state, n.state]);
  r.badges.replaceChildren();
  let right = r.w - 10;
  for (const [cls, label] of badges) {
    const b = el('g', { class: 'badge ' + cls }, r.badges);
    const rect = el('rect', { y: 11, height: 18, rx: 9 }, b);
    const t = el('text', { y: 24 }, b);
    t.textContent = label;
    const w = t.getComputedTextLength() + 14;
    right -= w;
    rect.setAttribute('x', right);
    rect.setAttribute('width', w);
    t.setAttribute('x', right + 7);
    right -= 6;
  }
  fitText(r.id, n.id, right - 14);

  r.live.textContent = live + ' · up ' + fmtUptime(n.uptime_seconds);
  r.load.replaceChildren();
  const parts = [[n.participants || 0, 'participant'], [n.tracks || 0, 'track']];
  parts.forEach(([count, word], i) => {
    if (i > 0) el('tspan', {}, r.load).textContent = '  ·  ';
    el('tspan', { class: 'v' }, r.load).textContent = String(count);
    el('tspan', {}, r.load).textContent = ' ' + word + (count === 1 ? '' : 's');
  });
  const cpu = Math.max(0, Math.min(100, n.cpu_percent || 0));
  r.cpuFill.setAttribute('width', ((r.w - 112) * cpu) / 100);
  r.cpuFill.setAttribute('class', 'cpu-fill' + (cpu >= 90 ? ' max' : cpu >= 70 ? ' high' : ''));
  r.cpuText.textContent = fmtCPU(n.cpu_percent);
  fitText(r.addr, (n.signal_url || '').replace(/^wss?:\/\//, '') || 'no signal URL', r.w - 28);
}

/** fillLink styles a link by its state and load. */
function fillLink(r, link) {
  const total = link.ab + link.ba;
  r.g.setAttribute('class', 'link ' + link.state);
  r.g.dataset.state = link.state;
  r.g.dataset.rttMs = link.rtt.toFixed(2);
  r.g.dataset.bytesPerSec = total.toFixed(0);
  const width = link.state === 'idle' || link.down ? 2 : 2 + Math.min(5, Math.log10(1 + (total * 8) / 1e3));
  r.base.style.strokeWidth = width.toFixed(1);
  const flowing = total > 0 && !link.down;
  r.flow.style.display = flowing ? '' : 'none';
  r.flow.classList.toggle('reverse', link.ba > link.ab);
  r.title.textContent = `${link.a} ↔ ${link.b}\nround trip ${fmtRTT(link.rtt)}, loss ${fmtLoss(link.loss)}` +
    `${link.down ? ' (down)' : ''}\n${link.a} → ${link.b}: ${fmtRate(link.ab)} (${Math.round(link.ab)} B/s)` +
    `\n${link.b} → ${link.a}: ${fmtRate(link.ba)} (${Math.round(link.ba)} B/s)`;
}

/**
 * fillPill writes a link's label — round trip, loss, and the rate each way behind an arrow
 * that points the way that traffic flows on screen — and places it. It returns its rectangle.
 */
function fillPill(r, link, cards, placed) {
  const g = r.pill;
  g.replaceChildren();
  const rect = el('rect', { rx: 7 }, g);
  const lines = [];
  const head = el('text', {}, g);
  if (!link.down || link.rtt > 0) el('tspan', { class: 'rtt' }, head).textContent = fmtRTT(link.rtt);
  if (link.down) el('tspan', { class: 'down-text' }, head).textContent = link.rtt > 0 ? ' · down' : 'down';
  else if (link.loss >= 0.1) el('tspan', { class: 'loss' }, head).textContent = ` · ${fmtLoss(link.loss)} loss`;
  lines.push({ text: head, indent: 0 });
  const rates = [];
  if (link.ab > 0) rates.push({ rate: link.ab, reverse: false });
  if (link.ba > 0) rates.push({ rate: link.ba, reverse: true });
  for (const x of rates) {
    const t = el('text', { class: 'rate' }, g);
    t.textContent = fmtRate(x.rate);
    lines.push({ text: t, indent: 13, arrow: el('path', { class: 'arrow', d: 'M-4,-3.5 L4,0 L-4,3.5 Z' }, g), reverse: x.reverse });
  }
  if (!rates.length && !link.down) {
    const t = el('text', { class: 'idle-text' }, g);
    t.textContent = 'idle';
    lines.push({ text: t, indent: 0 });
  }
  const lineH = 14, padX = 8, padY = 5;
  const w = Math.ceil(Math.max(...lines.map((l) => l.indent + l.text.getComputedTextLength())) + 2 * padX);
  const height = lines.length * lineH + 2 * padY;
  const spot = placeLabel(r.route, w, height, cards, placed);
  const angle = angleAt(r.route, spot.t);
  const { x, y } = spot.rect;
  rect.setAttribute('x', x);
  rect.setAttribute('y', y);
  rect.setAttribute('width', w);
  rect.setAttribute('height', height);
  lines.forEach((l, i) => {
    const baseline = y + padY + (i + 1) * lineH - 3.5;
    l.text.setAttribute('x', x + padX + l.indent);
    l.text.setAttribute('y', baseline);
    if (l.arrow) {
      const a = angle + (l.reverse ? 180 : 0);
      l.arrow.setAttribute('transform', `translate(${x + padX + 4},${baseline - 4}) rotate(${a.toFixed(1)})`);
    }
  });
  return spot.rect;
}
