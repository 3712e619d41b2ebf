package topology

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRegionOf(t *testing.T) {
	cidrs := []CIDRRegion{
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Region: "us"},
		{Prefix: netip.MustParsePrefix("10.1.0.0/16"), Region: "ap"},
		{Prefix: netip.MustParsePrefix("10.1.0.0/16"), Region: "shadowed"},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), Region: "ap"},
		{Prefix: netip.MustParsePrefix("0.0.0.0/0"), Region: "anywhere4"},
	}
	tests := []struct {
		ip     string
		region string
		ok     bool
	}{
		{"10.9.9.9", "us", true},
		{"10.1.2.3", "ap", true},
		{"::ffff:10.9.9.9", "us", true},
		{"2001:db8::1", "ap", true},
		{"8.8.8.8", "anywhere4", true},
		{"2001:4860::8888", "", false},
	}
	for _, tt := range tests {
		region, ok := RegionOf(netip.MustParseAddr(tt.ip), cidrs)
		require.Equal(t, tt.ok, ok, tt.ip)
		require.Equal(t, tt.region, region, tt.ip)
	}
	_, ok := RegionOf(netip.Addr{}, cidrs)
	require.False(t, ok)
}

func TestNearestEdges(t *testing.T) {
	cidrs := []CIDRRegion{
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Region: "us"},
		{Prefix: netip.MustParsePrefix("10.1.0.0/16"), Region: "ap"},
		{Prefix: netip.MustParsePrefix("10.1.2.0/24"), Region: "mars"},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), Region: "ap"},
	}
	node := func(id, region string) Node {
		return Node{ID: id, Region: region, State: StateActive, Liveness: Alive}
	}
	base := []Node{node("us-2", "us"), node("eu-2", "eu"), node("ap-1", "ap"), node("sa-1", "sa"), node("us-1", "us")}
	self := node("eu-1", "eu")
	rtts := map[[2]string]time.Duration{
		{"eu", "us"}: 80 * time.Millisecond, {"ap", "eu"}: 200 * time.Millisecond,
		{"ap", "us"}: 150 * time.Millisecond, {"sa", "us"}: 120 * time.Millisecond,
	}
	// Only one orientation is known: NearestEdges must ask both ways round.
	regionRTT := func(a, b string) (time.Duration, bool) {
		d, ok := rtts[[2]string{a, b}]
		return d, ok
	}
	mod := func(nodes []Node, id string, f func(*Node)) []Node {
		out := append([]Node(nil), nodes...)
		for i := range out {
			if out[i].ID == id {
				f(&out[i])
			}
		}
		return out
	}
	tests := []struct {
		name   string
		caller netip.Addr
		self   Node
		nodes  []Node
		rtt    func(a, b string) (time.Duration, bool)
		want   []string
	}{
		{name: "unknown caller: answering edge's region, then by RTT", caller: netip.MustParseAddr("8.8.8.8"),
			self: self, nodes: base, rtt: regionRTT, want: []string{"eu-1", "eu-2", "us-1", "us-2", "ap-1", "sa-1"}},
		{name: "caller mapped to us", caller: netip.MustParseAddr("10.5.5.5"), self: self, nodes: base, rtt: regionRTT,
			want: []string{"us-1", "us-2", "eu-1", "eu-2", "sa-1", "ap-1"}},
		{name: "most specific prefix wins", caller: netip.MustParseAddr("10.1.9.9"), self: self, nodes: base, rtt: regionRTT,
			want: []string{"ap-1", "us-1", "us-2", "eu-1", "eu-2", "sa-1"}},
		{name: "caller region without edges or measurements", caller: netip.MustParseAddr("10.1.2.3"), self: self,
			nodes: base, rtt: regionRTT, want: []string{"eu-1", "eu-2", "us-1", "us-2", "ap-1", "sa-1"}},
		{name: "IPv6 caller", caller: netip.MustParseAddr("2001:db8::7"), self: self, nodes: base, rtt: regionRTT,
			want: []string{"ap-1", "us-1", "us-2", "eu-1", "eu-2", "sa-1"}},
		{name: "IPv4-mapped caller", caller: netip.MustParseAddr("::ffff:10.5.5.5"), self: self, nodes: base, rtt: regionRTT,
			want: []string{"us-1", "us-2", "eu-1", "eu-2", "sa-1", "ap-1"}},
		{name: "invalid caller address", caller: netip.Addr{}, self: self, nodes: base, rtt: regionRTT,
			want: []string{"eu-1", "eu-2", "us-1", "us-2", "ap-1", "sa-1"}},
		{name: "draining, dead, suspect and leaving excluded", caller: netip.MustParseAddr("10.5.5.5"), self: self,
			nodes: mod(mod(mod(mod(base, "eu-2", func(n *Node) { n.State = StateDraining }),
				"us-1", func(n *Node) { n.Liveness = Dead }), "us-2", func(n *Node) { n.Liveness = Suspect }),
				"sa-1", func(n *Node) { n.State = StateLeaving }),
			rtt: regionRTT, want: []string{"eu-1", "ap-1"}},
		{name: "draining answering edge excluded", caller: netip.MustParseAddr("8.8.8.8"),
			self: Node{ID: "eu-1", Region: "eu", State: StateDraining, Liveness: Alive}, nodes: base, rtt: regionRTT,
			want: []string{"eu-2", "us-1", "us-2", "ap-1", "sa-1"}},
		{name: "listed entry of the answering edge counts", caller: netip.MustParseAddr("8.8.8.8"), self: self,
			nodes: append(base, Node{ID: "eu-1", Region: "eu", State: StateDraining, Liveness: Alive}), rtt: regionRTT,
			want: []string{"eu-2", "us-1", "us-2", "ap-1", "sa-1"}},
		{name: "fewer participants first within a region", caller: netip.MustParseAddr("10.5.5.5"), self: self,
			nodes: mod(base, "us-1", func(n *Node) { n.Participants = 9 }), rtt: regionRTT,
			want: []string{"us-2", "us-1", "eu-1", "eu-2", "sa-1", "ap-1"}},
		{name: "no measurements: caller's region, answering edge's region, then by name",
			caller: netip.MustParseAddr("10.1.1.1"), self: self, nodes: base, rtt: nil,
			want: []string{"ap-1", "eu-1", "eu-2", "sa-1", "us-1", "us-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := append([]Node(nil), tt.nodes...)
			got := NearestEdges(tt.caller, cidrs, tt.self, tt.nodes, tt.rtt)
			ids := make([]string, 0, len(got))
			for _, n := range got {
				ids = append(ids, n.ID)
			}
			require.Equal(t, tt.want, ids)
			require.Equal(t, before, tt.nodes, "the input must not be modified")
		})
	}
}

func TestRegionRTT(t *testing.T) {
	nodes := []Node{
		{ID: "eu-1", Region: "eu", Liveness: Alive}, {ID: "eu-2", Region: "eu", Liveness: Alive},
		{ID: "us-1", Region: "us", Liveness: Alive}, {ID: "us-2", Region: "us", Liveness: Alive},
		{ID: "ap-1", Region: "ap", Liveness: Dead}, {ID: "sa-1", Region: "sa", Liveness: Alive},
	}
	links := []Link{
		{From: "eu-1", To: "us-1", RTTMillis: 80},
		{From: "us-2", To: "eu-1", RTTMillis: 90},
		{From: "eu-2", To: "us-1", RTTMillis: 300},
		{From: "eu-2", To: "us-2", RTTMillis: 1, LossPercent: 100}, // down: ignored
		{From: "eu-1", To: "eu-2", RTTMillis: 2},                   // same region
		{From: "eu-1", To: "ap-1", RTTMillis: 200},                 // dead node
		{From: "eu-1", To: "sa-1"},                                 // not measured yet
		{From: "us-1", To: "sa-1", RTTMillis: 120.5},
	}
	rtt := RegionRTT(nodes, links)
	d, ok := rtt("eu", "us")
	require.True(t, ok)
	require.Equal(t, 90*time.Millisecond, d, "median of 80, 90, 300")
	d, ok = rtt("sa", "us")
	require.True(t, ok)
	require.Equal(t, 120500*time.Microsecond, d)
	d, ok = rtt("eu", "eu")
	require.True(t, ok)
	require.Zero(t, d)
	_, ok = rtt("eu", "ap")
	require.False(t, ok)
	_, ok = rtt("eu", "sa")
	require.False(t, ok)
}
