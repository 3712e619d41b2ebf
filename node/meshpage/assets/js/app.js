// app.js — polls the topology and renders it. One request at a time: the next poll is scheduled
// when the previous one has finished. The status shows whether the view is live; the last good
// view stays on screen while the node is unreachable. A refused token stops polling.
//
// <body> carries data-status (loading, live, error, denied) and data-updates (the number of
// documents rendered) for tests and tools.

const body = document.body;
const pollMs = Number(body.dataset.pollMs) || 2000;
const token = new URLSearchParams(location.search).get(body.dataset.tokenParam || 'token') || '';
const graph = createGraph(document.getElementById('graph'));
const ui = {
  summary: document.getElementById('summary'),
  statusText: document.getElementById('status-text'),
  graphEmpty: document.getElementById('graph-empty'),
  rooms: document.getElementById('rooms'),
  tracks: document.getElementById('tracks'),
};
let updates = 0;
let panelsSignature = null;
let hovered = null; // the track whose tree is highlighted

function setStatus(status, text) {
  body.dataset.status = status;
  ui.statusText.textContent = text;
}

function renderSummary(model) {
  const alive = model.nodes.filter(isLive).length;
  const parts = [
    ['seen from ', model.self || '?'],
    [' · relay mode ', model.mode],
    [' · ', plural(model.nodes.length, 'node'), ` (${alive} alive)`],
    [' · ', plural(model.linkCount, 'link')],
    [' · ', plural(model.rooms.length, 'room')],
    [' · ', plural(model.tracks.length, 'track')],
  ];
  ui.summary.replaceChildren();
  for (const [before, strong, after] of parts) {
    ui.summary.append(before);
    h('b', '', strong, ui.summary);
    if (after) ui.summary.append(after);
  }
}

function applyHighlight() {
  if (!hovered) {
    graph.highlight(null, null);
  } else {
    const { hops, nodes } = treeHops(hovered);
    graph.highlight(hops, nodes);
  }
  for (const box of ui.tracks.querySelectorAll('.track')) {
    box.classList.toggle('hl', !!hovered && box.dataset.track === hovered.track);
  }
}

function onHover(track) {
  hovered = track;
  applyHighlight();
}

function render(doc) {
  const model = buildModel(doc);
  renderSummary(model);
  ui.graphEmpty.hidden = model.nodes.length > 0;
  graph.update(model);
  // The panels are rebuilt only when they change, so that hovering is not interrupted.
  const sig = JSON.stringify([model.rooms, model.tracks, model.regions.map((r) => [r.name, r.nodes.map((n) => n.id)])]);
  if (sig !== panelsSignature) {
    panelsSignature = sig;
    renderRooms(ui.rooms, model);
    renderTracks(ui.tracks, model, onHover);
    if (hovered) hovered = model.tracks.find((t) => t.track === hovered.track) || null;
  }
  applyHighlight();
  updates++;
  body.dataset.updates = String(updates);
}

async function poll() {
  try {
    const res = await fetch('topology', {
      headers: { Authorization: 'Bearer ' + token },
      cache: 'no-store',
      signal: AbortSignal.timeout(Math.max(10000, 3 * pollMs)),
    });
    if (res.status === 401 || res.status === 403) {
      const reason = (await res.text()).trim();
      setStatus('denied', 'token refused' + (reason ? ': ' + reason : '') + ' — sign in again');
      return; // polling stops: the token will not become valid
    }
    if (!res.ok) throw new Error('HTTP ' + res.status);
    render(await res.json());
    setStatus('live', 'live · ' + fmtClock(new Date()));
  } catch (err) {
    setStatus('error', 'unreachable (' + (err && err.name === 'TimeoutError' ? 'timeout' : err.message) + '), retrying');
  }
  setTimeout(poll, pollMs);
}

if (token === '') {
  setStatus('denied', 'no token — sign in');
} else {
  poll();
}
