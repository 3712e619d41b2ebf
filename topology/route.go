package topology

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Mode is how relay routes are chosen.
type Mode string

const (
	// ModeDirect (the default): every subscriber edge pulls a track straight from the
	// publisher's edge.
	ModeDirect Mode = "direct"
	// ModeRegional: every region has a hub (see Hubs); a track goes from the publisher's edge
	// to its region's hub, from there to the hub of every other region that needs it, and from
	// each hub to the edges of its region, so it crosses each region boundary once.
	ModeRegional Mode = "regional"
)

// ParseMode parses a mode name; the empty string is ModeDirect.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case "", ModeDirect:
		return ModeDirect, nil
	case ModeRegional:
		return m, nil
	}
	return "", fmt.Errorf("%w: %q (want direct or regional)", ErrUnknownMode, s)
}

// Hubs returns the hub of every region that has one: the eligible node (alive and active, see
// Node.Eligible) with the lowest id. Regions whose nodes are all dead, suspect, draining or
// leaving have no hub and are absent from the map; nodes without a region form the region "".
//
// The lowest id (rather than, say, the least loaded node) keeps hubs stable: a region's hub
// changes only when membership or a node's state changes, never with load, so relay routes do
// not flap.
func Hubs(nodes []Node) map[string]string {
	hubs := make(map[string]string)
	for _, n := range nodes {
		if !n.Eligible() {
			continue
		}
		if cur, ok := hubs[n.Region]; !ok || n.ID < cur {
			hubs[n.Region] = n.ID
		}
	}
	return hubs
}

// RouteParams is the snapshot a route is chosen from.
type RouteParams struct {
	// Mode is the route mode; empty means ModeDirect.
	Mode Mode
	// Nodes is every known node with its liveness and state. When an id appears twice, the
	// first entry counts.
	Nodes []Node
	// Links are the measured links. A link that is Down (100 % loss) is never used, in either
	// direction.
	Links []Link
	// RequireLinks makes a pair of nodes without any measurement in Links unusable too. Leave
	// it false when relay links are dialed on demand (a pair that never needed a link has no
	// measurement yet but works); set it when every pair is probed, so that a missing
	// measurement means the probes fail.
	RequireLinks bool
	// Publisher is the id of the node the track is published on.
	Publisher string
	// Subscribers are the ids of the nodes that need the track. The publisher's own node and
	// duplicates are ignored.
	Subscribers []string
}

// Tree is the relay tree of one track: every node that receives the track (subscriber edges and
// the hubs they pull through) and the node it pulls from.
type Tree struct {
	Mode Mode
	// Publisher is the root: the node the track is published on.
	Publisher string
	// Parent maps each node of the tree but the root to its upstream node.
	Parent map[string]string
	// Unreachable lists, sorted, the subscriber nodes with no usable route: unknown, not alive,
	// or every candidate link down.
	Unreachable []string
}

// Upstream returns the node that node pulls the track from, false if node is not in the tree
// (or is its root).
func (t Tree) Upstream(node string) (string, bool) {
	p, ok := t.Parent[node]
	return p, ok
}

// Path returns the nodes the track flows through to reach node, from the root to node
// included; nil if node is not in the tree.
func (t Tree) Path(node string) []string {
	if node == t.Publisher {
		return []string{node}
	}
	var path []string
	for n := node; n != t.Publisher; {
		p, ok := t.Parent[n]
		if !ok || len(path) > len(t.Parent) {
			return nil
		}
		path = append(path, n)
		n = p
	}
	path = append(path, t.Publisher)
	slices.Reverse(path)
	return path
}

// Children returns, sorted, the nodes that pull the track from node.
func (t Tree) Children(node string) []string {
	var out []string
	for c, p := range t.Parent {
		if p == node {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// Edges returns the tree's relay hops sorted by From, then To.
func (t Tree) Edges() []Edge {
	out := make([]Edge, 0, len(t.Parent))
	for to, from := range t.Parent {
		out = append(out, Edge{From: from, To: to})
	}
	slices.SortFunc(out, compareEdges)
	return out
}

func compareEdges(a, b Edge) int {
	if c := strings.Compare(a.From, b.From); c != 0 {
		return c
	}
	return strings.Compare(a.To, b.To)
}

// Routes chooses the relay tree of a track from a snapshot of the mesh. It is a pure function
// of p: called again with a snapshot where a hub or a link has died, it returns the tree that
// avoids them, so callers recompute it whenever their snapshot changes.
//
// In ModeDirect every live subscriber node pulls from the publisher's node, if their link is
// usable.
//
// In ModeRegional, with hubs chosen by Hubs:
//   - the publisher's region is fed by its hub, which pulls from the publisher (or by the
//     publisher itself when the region has no hub or the link to it is down);
//   - the hub of every other region pulls from that feeder, or straight from the publisher
//     when the feeder's link to it is down;
//   - every other subscriber pulls from its region's hub, falling back to the feeder of the
//     publisher's region, then to the publisher itself, when links are down or its region has
//     no hub.
//
// So a track crosses each region boundary once while every hub and link is up, and every
// node's upstream is closer to the root than itself: the tree has no cycles and a depth of at
// most three hops. Unknown and dead subscriber nodes, and those with no usable candidate, are
// listed as Unreachable; only an unknown mode or an unknown or dead publisher is an error.
func Routes(p RouteParams) (Tree, error) {
	mode, err := ParseMode(string(p.Mode))
	if err != nil {
		return Tree{}, err
	}
	r := newRouter(p)
	pub, ok := r.nodes[p.Publisher]
	switch {
	case !ok:
		return Tree{}, fmt.Errorf("%w: %q", ErrUnknownPublisher, p.Publisher)
	case !pub.Live():
		return Tree{}, fmt.Errorf("%w: %q is %s", ErrPublisherDown, p.Publisher, pub.Liveness)
	}
	t := Tree{Mode: mode, Publisher: pub.ID, Parent: make(map[string]string)}
	if mode == ModeRegional {
		r.prepareRegional(pub)
	}
	subs := slices.Clone(p.Subscribers)
	slices.Sort(subs)
	for _, s := range slices.Compact(subs) {
		if s == pub.ID {
			continue
		}
		if !r.route(&t, s) {
			t.Unreachable = append(t.Unreachable, s)
		}
	}
	return t, nil
}

// router holds the indexes of one Routes call.
type router struct {
	nodes        map[string]Node
	down         map[[2]string]bool // pair (sorted) → measured down; present = measured
	requireLinks bool
	pub          string

	// Regional mode only.
	regional  bool
	pubRegion string
	hubs      map[string]string
	feeder    string            // who feeds the publisher's region: its hub or the publisher
	hubUp     map[string]string // region → upstream of its hub ("" = hub unreachable)
}

func newRouter(p RouteParams) *router {
	r := &router{
		nodes:        make(map[string]Node, len(p.Nodes)),
		down:         make(map[[2]string]bool, len(p.Links)),
		requireLinks: p.RequireLinks,
		pub:          p.Publisher,
	}
	for _, n := range p.Nodes {
		if _, dup := r.nodes[n.ID]; !dup {
			r.nodes[n.ID] = n
		}
	}
	for _, l := range p.Links {
		k := pairKey(l.From, l.To)
		r.down[k] = r.down[k] || l.Down()
	}
	return r
}

func pairKey(a, b string) [2]string {
	if b < a {
		a, b = b, a
	}
	return [2]string{a, b}
}

// usable reports whether media can flow between the distinct live nodes a and b.
func (r *router) usable(a, b string) bool {
	if a == b {
		return false
	}
	na, oka := r.nodes[a]
	nb, okb := r.nodes[b]
	if !oka || !okb || !na.Live() || !nb.Live() {
		return false
	}
	down, measured := r.down[pairKey(a, b)]
	if !measured {
		return !r.requireLinks
	}
	return !down
}

func (r *router) prepareRegional(pub Node) {
	r.regional = true
	r.pubRegion = pub.Region
	r.hubs = Hubs(slices.Collect(maps.Values(r.nodes)))
	r.feeder = pub.ID
	if h, ok := r.hubs[pub.Region]; ok && r.usable(pub.ID, h) {
		r.feeder = h
	}
	r.hubUp = make(map[string]string)
	for region, h := range r.hubs {
		if region == pub.Region {
			continue
		}
		r.hubUp[region] = r.firstUsable(h, r.feeder, pub.ID)
	}
}

// candidates returns, in order of preference, the nodes x may pull the track from.
func (r *router) candidates(x Node) []string {
	if !r.regional {
		return []string{r.pub}
	}
	if x.Region == r.pubRegion {
		return []string{r.feeder, r.pub}
	}
	h, ok := r.hubs[x.Region]
	if !ok || h == x.ID {
		return []string{r.feeder, r.pub}
	}
	if r.hubUp[x.Region] == "" {
		return []string{r.feeder, r.pub}
	}
	return []string{h, r.feeder, r.pub}
}

// firstUsable returns the first of cands that x can pull from, "" if none.
func (r *router) firstUsable(x string, cands ...string) string {
	for _, c := range cands {
		if r.usable(c, x) {
			return c
		}
	}
	return ""
}

// upstream returns the node x pulls from, "" if none.
func (r *router) upstream(x Node) string {
	if r.regional && x.ID == r.feeder && x.ID != r.pub {
		return r.pub // the feeder hub was chosen because its link to the publisher works
	}
	if r.regional && x.Region != r.pubRegion && r.hubs[x.Region] == x.ID {
		return r.hubUp[x.Region]
	}
	return r.firstUsable(x.ID, r.candidates(x)...)
}

// route adds the path to subscriber s into t; false if s has none.
func (r *router) route(t *Tree, s string) bool {
	x, ok := r.nodes[s]
	if !ok || !x.Live() {
		return false
	}
	var hops []Edge
	for x.ID != r.pub {
		up := r.upstream(x)
		if up == "" || len(hops) > len(r.nodes) {
			return false
		}
		hops = append(hops, Edge{From: up, To: x.ID})
		x = r.nodes[up]
	}
	for _, e := range hops {
		t.Parent[e.To] = e.From
	}
	return true
}
