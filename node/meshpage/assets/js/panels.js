// panels.js — the rooms table and the relay trees, as HTML. Text from the mesh is only ever
// set through textContent.

/** h creates an HTML element with a class and text, appended to parent. */
function h(tag, cls, text, parent) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

/** renderRooms shows every room with its participants per node. */
function renderRooms(container, model) {
  container.replaceChildren();
  if (!model.rooms.length) {
    h('p', 'empty', 'No rooms.', container);
    return;
  }
  const table = h('table', '', undefined, container);
  const head = h('tr', '', undefined, h('thead', '', undefined, table));
  for (const title of ['Room', 'Participants', 'Per node']) h('th', '', title, head);
  const body = h('tbody', '', undefined, table);
  for (const room of model.rooms) {
    const per = room.participants || {};
    const tr = h('tr', '', undefined, body);
    tr.dataset.room = room.name;
    h('td', 'room-name', room.name, tr);
    h('td', 'num', String(Object.values(per).reduce((s, v) => s + v, 0)), tr);
    const chips = h('td', '', undefined, tr);
    for (const id of Object.keys(per).sort(byString)) {
      const chip = h('span', 'chip', undefined, chips);
      chip.dataset.node = id;
      h('span', '', id, chip);
      h('b', '', String(per[id]), chip);
    }
  }
}

/**
 * renderTracks shows every track with its relay tree. onHover(track or null) is called when
 * the pointer enters or leaves a track.
 */
function renderTracks(container, model, onHover) {
  container.replaceChildren();
  if (!model.tracks.length) {
    h('p', 'empty', 'No published tracks.', container);
    return;
  }
  for (const track of model.tracks) {
    const box = h('div', 'track', undefined, container);
    box.dataset.track = track.track;
    const head = h('div', 'track-head', undefined, box);
    const kind = track.kind === 'audio' || track.kind === 'video' ? track.kind : 'other';
    h('span', 'kind ' + kind, track.kind || 'track', head);
    h('span', 'sid', track.track, head);
    h('span', 'by', `${track.publisher || '?'} on ${track.publisher_node || '?'} · room ${track.room}`, head);
    const ul = h('ul', 'tree', undefined, box);
    relayTree(track).forEach((root, i) => renderTreeNode(ul, root, model, i === 0));
    if (!(track.edges || []).length) h('div', 'not-relayed', 'not relayed: no other edge subscribes', box);
    box.addEventListener('mouseenter', () => onHover(track));
    box.addEventListener('mouseleave', () => onHover(null));
  }
}

function renderTreeNode(parent, t, model, isRoot) {
  const li = h('li', '', undefined, parent);
  li.dataset.treeNode = t.node;
  const node = model.byID.get(t.node);
  h('span', isRoot ? 'root' : '', t.node || '?', li);
  h('span', 'region', ` [${regionLabel(node ? node.region || '' : '?')}]`, li);
  if (t.children.length) {
    const ul = h('ul', '', undefined, li);
    for (const c of t.children) renderTreeNode(ul, c, model, false);
  }
}

/** treeHops returns the link keys ("a|b", a < b) and the nodes of a track's relay tree. */
function treeHops(track) {
  const hops = new Set();
  const nodes = new Set([track.publisher_node]);
  for (const e of track.edges || []) {
    hops.add(e.from < e.to ? e.from + '|' + e.to : e.to + '|' + e.from);
    nodes.add(e.from);
    nodes.add(e.to);
  }
  return { hops, nodes };
}
