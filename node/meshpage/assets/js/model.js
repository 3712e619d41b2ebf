// model.js — the topology document (topology.Document, JSON) as the page draws it: nodes grouped
// by region, links merged per pair of nodes, rooms and relay trees in a stable order.

const byString = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** buildModel turns a topology document into the model the graph and the panels render. */
function buildModel(doc) {
  const nodes = (doc.nodes || []).slice().sort((a, b) => byString(a.id, b.id));
  const byID = new Map(nodes.map((n) => [n.id, n]));
  const links = mergeLinks(doc.links || []);
  const rooms = (doc.rooms || []).slice().sort((a, b) => byString(a.name, b.name));
  const tracks = (doc.tracks || []).slice()
    .sort((a, b) => byString(a.room, b.room) || byString(a.track, b.track));
  return {
    self: doc.node || '',
    mode: doc.mode || 'direct',
    generated: doc.generated ? new Date(doc.generated) : null,
    nodes,
    byID,
    regions: groupRegions(nodes),
    hubs: doc.mode === 'regional' ? regionHubs(nodes) : new Map(),
    links: links.filter((l) => byID.has(l.a) && byID.has(l.b)),
    linkCount: links.length,
    rooms,
    tracks,
  };
}

/** isLive reports whether a node may carry media (topology.Node.Live). */
function isLive(n) {
  return n.liveness === 'alive';
}

/**
 * regionHubs returns region → hub id: the lowest id among the region's alive, active nodes, as
 * topology.Hubs chooses them.
 */
function regionHubs(nodes) {
  const hubs = new Map();
  for (const n of nodes) {
    if (!isLive(n) || n.state !== 'active') continue;
    const cur = hubs.get(n.region || '');
    if (cur === undefined || n.id < cur) hubs.set(n.region || '', n.id);
  }
  return hubs;
}

/** groupRegions returns [{name, nodes}] by region name, nodes by id; no region is "". */
function groupRegions(nodes) {
  const groups = new Map();
  for (const n of nodes) {
    const name = n.region || '';
    if (!groups.has(name)) groups.set(name, []);
    groups.get(name).push(n);
  }
  return [...groups.keys()].sort(byString).map((name) => ({ name, nodes: groups.get(name) }));
}

/** regionLabel is how a region is shown. */
function regionLabel(name) {
  return name === '' ? '(no region)' : name;
}

/**
 * mergeLinks folds the links of a document into one entry per pair of nodes {a, b} (a < b).
 * Every edge reports its own side of a link, so a pair usually comes twice: the round trip is
 * the mean of the measured ones, the loss the worst, and each direction's rate the largest
 * report of it (ab: from a to b, ba: from b to a).
 */
function mergeLinks(links) {
  const pairs = new Map();
  for (const l of links) {
    if (!l.from || !l.to || l.from === l.to) continue;
    const forward = l.from < l.to;
    const a = forward ? l.from : l.to;
    const b = forward ? l.to : l.from;
    const key = a + '|' + b;
    let m = pairs.get(key);
    if (!m) {
      m = { key, a, b, rtts: [], loss: 0, ab: 0, ba: 0 };
      pairs.set(key, m);
    }
    if (l.rtt_ms > 0) m.rtts.push(l.rtt_ms);
    m.loss = Math.max(m.loss, l.loss_percent || 0);
    const out = l.bytes_per_sec_from || 0;
    const back = l.bytes_per_sec_to || 0;
    m.ab = Math.max(m.ab, forward ? out : back);
    m.ba = Math.max(m.ba, forward ? back : out);
  }
  return [...pairs.values()].sort((x, y) => byString(x.key, y.key)).map((m) => {
    const rtt = m.rtts.length ? m.rtts.reduce((s, v) => s + v, 0) / m.rtts.length : 0;
    const down = m.loss >= 100;
    let state = 'idle';
    if (down) state = 'down';
    else if (m.loss >= 1) state = 'lossy';
    else if (m.ab + m.ba > 0) state = 'busy';
    return { key: m.key, a: m.a, b: m.b, rtt, loss: m.loss, ab: m.ab, ba: m.ba, down, state };
  });
}

/**
 * relayTree returns the tree of a track as nested {node, children} from its publisher's node.
 * Hops that the walk from the root does not reach (a tree that is still being built) become
 * further roots, so every hop is shown once.
 */
function relayTree(track) {
  const children = new Map();
  for (const e of track.edges || []) {
    if (!children.has(e.from)) children.set(e.from, []);
    children.get(e.from).push(e.to);
  }
  for (const list of children.values()) list.sort(byString);
  const seen = new Set();
  const walk = (id) => {
    seen.add(id);
    const kids = (children.get(id) || []).filter((c) => !seen.has(c));
    kids.forEach((c) => seen.add(c));
    return { node: id, children: kids.map(walk) };
  };
  const roots = [walk(track.publisher_node || '')];
  for (const from of [...children.keys()].sort(byString)) {
    if (!seen.has(from)) roots.push(walk(from));
  }
  return roots;
}
