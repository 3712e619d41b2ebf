// layout.js — pure geometry: where region boxes, node cards, link curves and link labels go.
// Regions sit on a ring (side by side when there are two); inside a region the cards form a
// grid of at most three per line, laid along the ring so that links leave a region outwards.
// A link that would cross another card bends around it.

const CARD_W = 216;
const CARD_H = 124;
const CELL_GAP_X = 150; // between cards of a region: room for a link label
const CELL_GAP_Y = 84;
const REGION_PAD_X = 22;
const REGION_PAD_TOP = 44; // the region's name goes here
const REGION_PAD_BOTTOM = 22;
const REGION_GAP = 170; // at least this much between region boxes
const CARDS_PER_LINE = 3;

/** regionGrid returns the rows and columns of a region's cards. */
function regionGrid(count, orient) {
  if (orient === 'col') {
    const rows = Math.min(count, CARDS_PER_LINE);
    return { rows, cols: Math.ceil(count / rows), colMajor: true };
  }
  const cols = Math.min(count, CARDS_PER_LINE);
  return { cols, rows: Math.ceil(count / cols), colMajor: false };
}

/** ringAngles returns the angle of each region's place on the ring (radians, y down). */
function ringAngles(count) {
  if (count === 2) return [Math.PI, 0];
  return Array.from({ length: count }, (_, k) => -Math.PI / 2 + (2 * Math.PI * k) / count);
}

/**
 * layoutMesh places the regions (from groupRegions) and their node cards. It returns
 * {boxes: [{name, x, y, w, h}], cards: Map(id → {x, y, w, h}), center: {x, y}}.
 */
function layoutMesh(regions) {
  const angles = ringAngles(regions.length);
  const boxes = regions.map((r, i) => {
    const angle = angles[i];
    const orient = regions.length > 1 && Math.abs(Math.cos(angle)) > 0.6 ? 'col' : 'row';
    const grid = regionGrid(r.nodes.length, orient);
    const w = 2 * REGION_PAD_X + grid.cols * CARD_W + (grid.cols - 1) * CELL_GAP_X;
    const h = REGION_PAD_TOP + grid.rows * CARD_H + (grid.rows - 1) * CELL_GAP_Y + REGION_PAD_BOTTOM;
    return { name: r.name, nodes: r.nodes, grid, w, h, angle, cx: 0, cy: 0 };
  });
  placeRegions(boxes);
  const cards = new Map();
  for (const b of boxes) {
    b.x = b.cx - b.w / 2;
    b.y = b.cy - b.h / 2;
    placeCards(b, cards);
  }
  return { boxes, cards, center: { x: 0, y: 0 } };
}

/** placeRegions sets each box's centre: one in the middle, two side by side, more on a ring. */
function placeRegions(boxes) {
  if (boxes.length === 1) return;
  if (boxes.length === 2) {
    boxes[0].cx = -(boxes[0].w + REGION_GAP) / 2;
    boxes[1].cx = (boxes[1].w + REGION_GAP) / 2;
    return;
  }
  let radius = 0.5 * Math.max(...boxes.map((b) => Math.max(b.w, b.h)));
  for (let step = 0; step < 100; step++) {
    for (const b of boxes) {
      b.cx = 1.3 * radius * Math.cos(b.angle);
      b.cy = radius * Math.sin(b.angle);
    }
    if (!boxesOverlap(boxes)) return;
    radius *= 1.08;
  }
}

function boxesOverlap(boxes) {
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (Math.abs(a.cx - b.cx) < (a.w + b.w) / 2 + REGION_GAP &&
          Math.abs(a.cy - b.cy) < (a.h + b.h) / 2 + REGION_GAP) return true;
    }
  }
  return false;
}

/** placeCards puts a region's cards on its grid; a short last line is centred. */
function placeCards(box, cards) {
  const { rows, cols, colMajor } = box.grid;
  const n = box.nodes.length;
  box.nodes.forEach((node, i) => {
    let row, col, lineLen;
    if (colMajor) {
      col = Math.floor(i / rows);
      row = i % rows;
      lineLen = Math.min(rows, n - col * rows);
    } else {
      row = Math.floor(i / cols);
      col = i % cols;
      lineLen = Math.min(cols, n - row * cols);
    }
    let x = box.x + REGION_PAD_X + col * (CARD_W + CELL_GAP_X);
    let y = box.y + REGION_PAD_TOP + row * (CARD_H + CELL_GAP_Y);
    if (colMajor) y += ((rows - lineLen) * (CARD_H + CELL_GAP_Y)) / 2;
    else x += ((cols - lineLen) * (CARD_W + CELL_GAP_X)) / 2;
    cards.set(node.id, { x, y, w: CARD_W, h: CARD_H });
  });
}

const centreOf = (r) => ({ x: r.x + r.w / 2, y: r.y + r.h / 2 });
const inflate = (r, d) => ({ x: r.x - d, y: r.y - d, w: r.w + 2 * d, h: r.h + 2 * d });
const inside = (p, r) => p.x > r.x && p.x < r.x + r.w && p.y > r.y && p.y < r.y + r.h;
const rectsOverlap = (a, b) =>
  a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/** pointAt returns the point at t (0..1) of a route: a line, or a quadratic curve through C. */
function pointAt(route, t) {
  const { P, Q, C } = route;
  if (!C) return { x: P.x + (Q.x - P.x) * t, y: P.y + (Q.y - P.y) * t };
  const u = 1 - t;
  return {
    x: u * u * P.x + 2 * u * t * C.x + t * t * Q.x,
    y: u * u * P.y + 2 * u * t * C.y + t * t * Q.y,
  };
}

/** angleAt returns the direction of a route at t, in degrees (0 = right, y down). */
function angleAt(route, t) {
  const { P, Q, C } = route;
  let dx = Q.x - P.x, dy = Q.y - P.y;
  if (C) {
    dx = 2 * (1 - t) * (C.x - P.x) + 2 * t * (Q.x - C.x);
    dy = 2 * (1 - t) * (C.y - P.y) + 2 * t * (Q.y - C.y);
  }
  return (Math.atan2(dy, dx) * 180) / Math.PI;
}

/** routePath returns the SVG path data of a route. */
function routePath(route) {
  const { P, Q, C } = route;
  const f = (v) => v.toFixed(1);
  if (!C) return `M${f(P.x)},${f(P.y)} L${f(Q.x)},${f(Q.y)}`;
  return `M${f(P.x)},${f(P.y)} Q${f(C.x)},${f(C.y)} ${f(Q.x)},${f(Q.y)}`;
}

/** routeClear reports whether a route stays out of every obstacle rectangle. */
function routeClear(route, obstacles) {
  for (let i = 1; i < 48; i++) {
    const p = pointAt(route, i / 48);
    if (obstacles.some((r) => inside(p, r))) return false;
  }
  return true;
}

/**
 * routeLink returns the route between two cards: straight from centre to centre when that
 * crosses no other card, else a curve bent away from the layout's centre (or, failing that,
 * towards it) just far enough to clear them.
 */
function routeLink(from, to, cards, center) {
  const obstacles = cards.filter((c) => c !== from && c !== to).map((c) => inflate(c, 10));
  const P = centreOf(from), Q = centreOf(to);
  const straight = { P, Q, C: null };
  if (routeClear(straight, obstacles)) return straight;
  const len = Math.hypot(Q.x - P.x, Q.y - P.y) || 1;
  const n = { x: -(Q.y - P.y) / len, y: (Q.x - P.x) / len };
  const M = { x: (P.x + Q.x) / 2, y: (P.y + Q.y) / 2 };
  const side = (M.x + n.x - center.x) ** 2 + (M.y + n.y - center.y) ** 2 >=
    (M.x - n.x - center.x) ** 2 + (M.y - n.y - center.y) ** 2 ? 1 : -1;
  for (let k = 1; k <= 12; k++) {
    for (const s of [side, -side]) {
      const off = s * k * 50;
      const route = { P, Q, C: { x: M.x + n.x * off, y: M.y + n.y * off } };
      if (routeClear(route, obstacles)) return route;
    }
  }
  return { P, Q, C: { x: M.x + n.x * side * 200, y: M.y + n.y * side * 200 } };
}

/**
 * placeLabel returns where along a route (t) a label of size w×h goes: the middle if it is
 * free there, else the nearest free spot, avoiding cards and the labels placed before it.
 */
function placeLabel(route, w, h, cards, placed) {
  const blocked = cards.map((c) => inflate(c, 4)).concat(placed.map((r) => inflate(r, 4)));
  for (const t of [0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74]) {
    const p = pointAt(route, t);
    const rect = { x: p.x - w / 2, y: p.y - h / 2, w, h };
    if (!blocked.some((r) => rectsOverlap(r, rect))) return { t, rect };
  }
  const p = pointAt(route, 0.5);
  return { t: 0.5, rect: { x: p.x - w / 2, y: p.y - h / 2, w, h } };
}
