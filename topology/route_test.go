package topology

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// meshNodes is three regions: eu (eu-1..3), us (us-1..2), ap (ap-1), all alive and active.
func meshNodes(mods ...func(*Node)) []Node {
	ids := []struct{ id, region string }{
		{"eu-1", "eu"}, {"eu-2", "eu"}, {"eu-3", "eu"}, {"us-1", "us"}, {"us-2", "us"}, {"ap-1", "ap"},
	}
	out := make([]Node, 0, len(ids))
	for _, n := range ids {
		node := Node{ID: n.id, Region: n.region, State: StateActive, Liveness: Alive}
		for _, m := range mods {
			m(&node)
		}
		out = append(out, node)
	}
	return out
}

// with sets liveness l and state s (when not empty) on the node id.
func with(id string, l Liveness, s State) func(*Node) {
	return func(n *Node) {
		if n.ID != id {
			return
		}
		if l != "" {
			n.Liveness = l
		}
		if s != "" {
			n.State = s
		}
	}
}

func down(a, b string) Link { return Link{From: a, To: b, LossPercent: 100} }

var allSubs = []string{"eu-1", "eu-2", "eu-3", "us-1", "us-2", "ap-1"}

// edgeStrings renders a tree's edges as "from>to".
func edgeStrings(t Tree) []string {
	var out []string
	for _, e := range t.Edges() {
		out = append(out, e.From+">"+e.To)
	}
	return out
}

func TestRoutes(t *testing.T) {
	tests := []struct {
		name        string
		mode        Mode
		nodes       []Node
		links       []Link
		require     bool
		pub         string
		subs        []string
		edges       []string
		unreachable []string
	}{
		{name: "direct default mode", mode: "", nodes: meshNodes(), pub: "eu-2", subs: allSubs,
			edges: []string{"eu-2>ap-1", "eu-2>eu-1", "eu-2>eu-3", "eu-2>us-1", "eu-2>us-2"}},
		{name: "direct link down", mode: ModeDirect, nodes: meshNodes(), links: []Link{down("us-1", "eu-2")},
			pub: "eu-2", subs: []string{"us-1", "us-2"}, edges: []string{"eu-2>us-2"}, unreachable: []string{"us-1"}},
		{name: "direct dead and unknown subscribers", mode: ModeDirect, nodes: meshNodes(with("us-2", Dead, "")),
			pub: "eu-1", subs: []string{"us-2", "nope", "us-1", "us-1", "eu-1"},
			edges: []string{"eu-1>us-1"}, unreachable: []string{"nope", "us-2"}},
		{name: "regional all up", mode: ModeRegional, nodes: meshNodes(), pub: "eu-2", subs: allSubs,
			edges: []string{"eu-1>ap-1", "eu-1>eu-3", "eu-1>us-1", "eu-2>eu-1", "us-1>us-2"}},
		{name: "regional publisher is its hub", mode: ModeRegional, nodes: meshNodes(), pub: "eu-1", subs: allSubs,
			edges: []string{"eu-1>ap-1", "eu-1>eu-2", "eu-1>eu-3", "eu-1>us-1", "us-1>us-2"}},
		{name: "regional hubs relay without local subscribers", mode: ModeRegional, nodes: meshNodes(), pub: "eu-2",
			subs: []string{"us-2"}, edges: []string{"eu-1>us-1", "eu-2>eu-1", "us-1>us-2"}},
		{name: "regional only the publisher's node", mode: ModeRegional, nodes: meshNodes(), pub: "eu-2",
			subs: []string{"eu-2"}, edges: nil},
		{name: "regional remote hub dead: next id takes over", mode: ModeRegional, nodes: meshNodes(with("us-1", Dead, "")),
			pub: "eu-2", subs: allSubs,
			edges: []string{"eu-1>ap-1", "eu-1>eu-3", "eu-1>us-2", "eu-2>eu-1"}, unreachable: []string{"us-1"}},
		{name: "regional publisher's hub dead", mode: ModeRegional, nodes: meshNodes(with("eu-1", Dead, "")),
			pub: "eu-3", subs: allSubs,
			edges: []string{"eu-2>ap-1", "eu-2>us-1", "eu-3>eu-2", "us-1>us-2"}, unreachable: []string{"eu-1"}},
		{name: "regional suspect hub replaced", mode: ModeRegional, nodes: meshNodes(with("us-1", Suspect, "")),
			pub: "eu-1", subs: []string{"us-2"}, edges: []string{"eu-1>us-2"}},
		{name: "regional draining node is no hub but still subscribes", mode: ModeRegional,
			nodes: meshNodes(with("us-1", "", StateDraining)), pub: "eu-1", subs: []string{"us-1", "us-2"},
			edges: []string{"eu-1>us-2", "us-2>us-1"}},
		{name: "regional region without eligible members pulls from the feeder", mode: ModeRegional,
			nodes: meshNodes(with("us-1", "", StateDraining), with("us-2", "", StateLeaving)), pub: "eu-2",
			subs: []string{"us-1", "us-2"}, edges: []string{"eu-1>us-1", "eu-1>us-2", "eu-2>eu-1"}},
		{name: "regional region with no live members", mode: ModeRegional,
			nodes: meshNodes(with("ap-1", Dead, "")), pub: "eu-1", subs: []string{"ap-1", "us-1"},
			edges: []string{"eu-1>us-1"}, unreachable: []string{"ap-1"}},
		{name: "regional publisher in a hub-less region", mode: ModeRegional,
			nodes: meshNodes(with("ap-1", "", StateDraining)), pub: "ap-1", subs: allSubs,
			edges: []string{"ap-1>eu-1", "ap-1>us-1", "eu-1>eu-2", "eu-1>eu-3", "us-1>us-2"}},
		{name: "regional publisher to own hub link down", mode: ModeRegional, nodes: meshNodes(),
			links: []Link{down("eu-1", "eu-2")}, pub: "eu-2", subs: allSubs,
			edges: []string{"eu-2>ap-1", "eu-2>eu-3", "eu-2>us-1", "us-1>us-2"}, unreachable: []string{"eu-1"}},
		{name: "regional hub to hub link down: remote hub pulls from the publisher", mode: ModeRegional,
			nodes: meshNodes(), links: []Link{down("us-1", "eu-1")}, pub: "eu-2", subs: []string{"us-1", "us-2", "ap-1"},
			edges: []string{"eu-1>ap-1", "eu-2>eu-1", "eu-2>us-1", "us-1>us-2"}},
		{name: "regional remote hub cut off entirely", mode: ModeRegional, nodes: meshNodes(),
			links: []Link{down("us-1", "eu-1"), down("eu-2", "us-1")}, pub: "eu-2", subs: []string{"us-1", "us-2"},
			edges: []string{"eu-1>us-2", "eu-2>eu-1"}, unreachable: []string{"us-1"}},
		{name: "regional hub to member link down: member pulls from the feeder", mode: ModeRegional,
			nodes: meshNodes(), links: []Link{down("us-2", "us-1")}, pub: "eu-2", subs: []string{"us-2"},
			edges: []string{"eu-1>us-2", "eu-2>eu-1"}},
		{name: "regional lossy but not down links are used", mode: ModeRegional, nodes: meshNodes(),
			links: []Link{{From: "eu-1", To: "us-1", LossPercent: 99}}, pub: "eu-1", subs: []string{"us-1"},
			edges: []string{"eu-1>us-1"}},
		{name: "require links: only measured pairs", mode: ModeRegional, nodes: meshNodes(), require: true,
			links: []Link{{From: "eu-2", To: "eu-1"}, {From: "us-1", To: "eu-2"}, {From: "us-2", To: "us-1"}},
			pub:   "eu-2", subs: []string{"us-2", "eu-3"},
			edges: []string{"eu-2>us-1", "us-1>us-2"}, unreachable: []string{"eu-3"}},
		{name: "require links: direct", mode: ModeDirect, nodes: meshNodes(), require: true,
			links: []Link{{From: "ap-1", To: "eu-1", RTTMillis: 200}}, pub: "eu-1", subs: []string{"ap-1", "us-1"},
			edges: []string{"eu-1>ap-1"}, unreachable: []string{"us-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := Routes(RouteParams{Mode: tt.mode, Nodes: tt.nodes, Links: tt.links, RequireLinks: tt.require,
				Publisher: tt.pub, Subscribers: tt.subs})
			require.NoError(t, err)
			require.Equal(t, tt.pub, tree.Publisher)
			require.Equal(t, tt.edges, edgeStrings(tree))
			require.Equal(t, tt.unreachable, tree.Unreachable)
			checkTree(t, tree, tt.nodes)
		})
	}
}

// checkTree asserts the invariants every tree keeps: each node of it reaches the root along
// live, usable hops in at most three of them, and is not also unreachable.
func checkTree(t *testing.T, tree Tree, nodes []Node) {
	t.Helper()
	byID := make(map[string]Node)
	for _, n := range nodes {
		if _, dup := byID[n.ID]; !dup {
			byID[n.ID] = n
		}
	}
	for to, from := range tree.Parent {
		require.NotEqual(t, tree.Publisher, to, "the root has no parent")
		require.True(t, byID[to].Live() && byID[from].Live(), "%s>%s uses a node that is not alive", from, to)
		path := tree.Path(to)
		require.NotNil(t, path, "%s does not reach the root", to)
		require.LessOrEqual(t, len(path), 4, "path %v", path)
		require.Equal(t, tree.Publisher, path[0])
		require.Equal(t, to, path[len(path)-1])
		require.NotContains(t, tree.Unreachable, to)
	}
}

func TestRoutesErrors(t *testing.T) {
	_, err := Routes(RouteParams{Mode: "mesh", Nodes: meshNodes(), Publisher: "eu-1"})
	require.ErrorIs(t, err, ErrUnknownMode)
	_, err = Routes(RouteParams{Nodes: meshNodes(), Publisher: "mars-1", Subscribers: allSubs})
	require.ErrorIs(t, err, ErrUnknownPublisher)
	_, err = Routes(RouteParams{Mode: ModeRegional, Nodes: meshNodes(with("us-1", Dead, "")), Publisher: "us-1"})
	require.ErrorIs(t, err, ErrPublisherDown)
	require.ErrorContains(t, err, `"us-1" is dead`)
	// A draining publisher still publishes.
	tree, err := Routes(RouteParams{Nodes: meshNodes(with("us-1", "", StateDraining)), Publisher: "us-1", Subscribers: []string{"us-2"}})
	require.NoError(t, err)
	require.Equal(t, []string{"us-1>us-2"}, edgeStrings(tree))
}

// TestRoutesCrossRegionOnce checks that with every hub and link up, a regional tree enters each
// region once, whichever node publishes and whoever subscribes.
func TestRoutesCrossRegionOnce(t *testing.T) {
	nodes := meshNodes()
	region := make(map[string]string)
	for _, n := range nodes {
		region[n.ID] = n.Region
	}
	for _, pub := range allSubs {
		tree, err := Routes(RouteParams{Mode: ModeRegional, Nodes: nodes, Publisher: pub, Subscribers: allSubs})
		require.NoError(t, err)
		require.Empty(t, tree.Unreachable)
		require.Len(t, tree.Parent, len(allSubs)-1)
		entered := make(map[string]int)
		for _, e := range tree.Edges() {
			if region[e.From] != region[e.To] {
				entered[region[e.To]]++
			}
		}
		for r, n := range entered {
			require.Equal(t, 1, n, "publisher %s: region %s entered %d times", pub, r, n)
		}
		require.Len(t, entered, 2, "publisher %s", pub)
	}
}

// TestRoutesRandomSnapshots feeds random meshes (liveness, states, down links, modes) and checks
// the tree invariants: no cycles, live usable hops only, every subscriber routed or unreachable.
func TestRoutesRandomSnapshots(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	livenesses := []Liveness{Alive, Alive, Alive, Suspect, Dead, Left}
	states := []State{StateActive, StateActive, StateDraining, StateLeaving}
	for i := range 2000 {
		var nodes []Node
		for j := range 2 + rng.IntN(10) {
			nodes = append(nodes, Node{ID: fmt.Sprintf("n%02d", j), Region: fmt.Sprintf("r%d", rng.IntN(4)),
				Liveness: livenesses[rng.IntN(len(livenesses))], State: states[rng.IntN(len(states))]})
		}
		var links []Link
		for range rng.IntN(2 * len(nodes)) {
			a, b := nodes[rng.IntN(len(nodes))].ID, nodes[rng.IntN(len(nodes))].ID
			links = append(links, Link{From: a, To: b, LossPercent: float64(rng.IntN(2)) * 100})
		}
		var subs []string
		for _, n := range nodes {
			if rng.IntN(3) > 0 {
				subs = append(subs, n.ID)
			}
		}
		subs = append(subs, "ghost")
		pub := nodes[rng.IntN(len(nodes))]
		pub.Liveness = Alive
		nodes = append([]Node{pub}, nodes...) // the first entry of an id counts
		mode := []Mode{ModeDirect, ModeRegional}[rng.IntN(2)]
		p := RouteParams{Mode: mode, Nodes: nodes, Links: links, RequireLinks: rng.IntN(4) == 0,
			Publisher: pub.ID, Subscribers: subs}
		tree, err := Routes(p)
		require.NoError(t, err, "snapshot %d", i)
		checkTree(t, tree, nodes)
		r := newRouter(p)
		for to, from := range tree.Parent {
			require.True(t, r.usable(from, to), "snapshot %d: %s>%s is not usable", i, from, to)
		}
		for _, s := range subs {
			if s == pub.ID {
				continue
			}
			_, routed := tree.Parent[s]
			require.NotEqual(t, routed, slices.Contains(tree.Unreachable, s), "snapshot %d: %s", i, s)
		}
		require.True(t, slices.IsSorted(tree.Unreachable))
	}
}

func TestHubs(t *testing.T) {
	nodes := []Node{
		{ID: "b", Region: "eu", State: StateActive, Liveness: Alive},
		{ID: "a", Region: "eu", State: StateDraining, Liveness: Alive},
		{ID: "c", Region: "eu", State: StateActive, Liveness: Alive},
		{ID: "d", Region: "us", State: StateActive, Liveness: Dead},
		{ID: "e", Region: "us", State: StateActive, Liveness: Suspect},
		{ID: "f", Region: "ap", State: StateLeaving, Liveness: Alive},
		{ID: "g", Region: "", State: StateActive, Liveness: Alive},
		{ID: "h", Region: "sa", State: StateActive, Liveness: Alive},
		{ID: "i", Region: "sa", State: StateActive, Liveness: Left},
	}
	require.Equal(t, map[string]string{"eu": "b", "": "g", "sa": "h"}, Hubs(nodes))
	require.Empty(t, Hubs(nil))
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"": ModeDirect, "direct": ModeDirect, " Regional ": ModeRegional} {
		m, err := ParseMode(in)
		require.NoError(t, err, in)
		require.Equal(t, want, m, in)
	}
	_, err := ParseMode("star")
	require.ErrorIs(t, err, ErrUnknownMode)
}

func TestTreeAccessors(t *testing.T) {
	tree, err := Routes(RouteParams{Mode: ModeRegional, Nodes: meshNodes(), Publisher: "eu-2", Subscribers: allSubs})
	require.NoError(t, err)
	up, ok := tree.Upstream("us-2")
	require.True(t, ok)
	require.Equal(t, "us-1", up)
	_, ok = tree.Upstream("eu-2")
	require.False(t, ok, "the root has no upstream")
	require.Equal(t, []string{"eu-2", "eu-1", "us-1", "us-2"}, tree.Path("us-2"))
	require.Equal(t, []string{"eu-2"}, tree.Path("eu-2"))
	require.Nil(t, tree.Path("mars-1"))
	require.Equal(t, []string{"ap-1", "eu-3", "us-1"}, tree.Children("eu-1"))
	require.Empty(t, tree.Children("us-2"))
	// A corrupt parent map with a cycle does not hang Path.
	loop := Tree{Publisher: "p", Parent: map[string]string{"a": "b", "b": "a"}}
	require.Nil(t, loop.Path("a"))
}
