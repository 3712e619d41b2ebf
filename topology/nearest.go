package topology

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// CIDRRegion maps the clients whose address is in Prefix to Region.
type CIDRRegion struct {
	Prefix netip.Prefix
	Region string
}

// RegionOf returns the region of the most specific prefix of cidrs that contains ip (the first
// listed among equally specific ones), false if none does. An IPv4-mapped IPv6 address matches
// IPv4 prefixes.
func RegionOf(ip netip.Addr, cidrs []CIDRRegion) (string, bool) {
	ip = ip.Unmap()
	best, bits := "", -1
	for _, c := range cidrs {
		if c.Prefix.Bits() > bits && c.Prefix.Contains(ip) {
			best, bits = c.Region, c.Prefix.Bits()
		}
	}
	return best, bits >= 0
}

// NearestEdges returns the edges a client at callerIP should try, nearest first: only eligible
// nodes (alive and active; dead, suspect, draining and leaving ones are left out) of nodes and
// self (self counts unless nodes lists its id).
//
// The caller's region is the one cidrs maps callerIP to (most specific prefix wins); callers no
// prefix matches belong to self's region. Regions are ordered: the caller's region; then the
// others by the RTT regionRTT reports from the caller's region; then, for regions it reports
// nothing for, self's region followed by the rest by RTT from self's region; then the remaining
// regions by name. Within a region, nodes with fewer participants come first, ties by id.
// regionRTT may be nil (no measurements) and is asked both ways round; it must be pure.
func NearestEdges(callerIP netip.Addr, cidrs []CIDRRegion, self Node, nodes []Node,
	regionRTT func(a, b string) (time.Duration, bool)) []Node {
	origin, ok := RegionOf(callerIP, cidrs)
	if !ok || !callerIP.IsValid() {
		origin = self.Region
	}
	var out []Node
	seen := make(map[string]bool, len(nodes)+1)
	for _, n := range append(slices.Clip(nodes), self) {
		if seen[n.ID] {
			continue
		}
		seen[n.ID] = true
		if n.Eligible() {
			out = append(out, n)
		}
	}

	rtt := func(a, b string) (time.Duration, bool) {
		if regionRTT == nil {
			return 0, false
		}
		if d, ok := regionRTT(a, b); ok {
			return d, true
		}
		return regionRTT(b, a)
	}
	type rank struct {
		tier int
		rtt  time.Duration
	}
	ranks := make(map[string]rank)
	for _, n := range out {
		r := n.Region
		if _, done := ranks[r]; done {
			continue
		}
		switch d, known := rtt(origin, r); {
		case r == origin:
			ranks[r] = rank{0, 0}
		case known:
			ranks[r] = rank{1, d}
		case r == self.Region:
			ranks[r] = rank{2, 0}
		default:
			if d, known := rtt(self.Region, r); known {
				ranks[r] = rank{3, d}
			} else {
				ranks[r] = rank{4, 0}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Node) int {
		ra, rb := ranks[a.Region], ranks[b.Region]
		return cmp.Or(
			cmp.Compare(ra.tier, rb.tier),
			cmp.Compare(ra.rtt, rb.rtt),
			strings.Compare(a.Region, b.Region),
			cmp.Compare(a.Participants, b.Participants),
			strings.Compare(a.ID, b.ID),
		)
	})
	return out
}

// RegionRTT derives inter-region round trips from measured links: for two regions, the median
// RTT of the links between their live nodes that have a measurement (RTT above zero) and are
// not down; 0 for a region and itself. The returned function is pure and safe for concurrent
// use; it reports false for pairs without a measurement.
func RegionRTT(nodes []Node, links []Link) func(a, b string) (time.Duration, bool) {
	region := make(map[string]string, len(nodes))
	for _, n := range nodes {
		if _, dup := region[n.ID]; !dup && n.Live() {
			region[n.ID] = n.Region
		}
	}
	samples := make(map[[2]string][]float64)
	for _, l := range links {
		ra, oka := region[l.From]
		rb, okb := region[l.To]
		if !oka || !okb || l.Down() || l.RTTMillis <= 0 || ra == rb {
			continue
		}
		k := pairKey(ra, rb)
		samples[k] = append(samples[k], l.RTTMillis)
	}
	medians := make(map[[2]string]time.Duration, len(samples))
	for k, s := range samples {
		slices.Sort(s)
		medians[k] = time.Duration(s[(len(s)-1)/2] * float64(time.Millisecond))
	}
	return func(a, b string) (time.Duration, bool) {
		if a == b {
			return 0, true
		}
		d, ok := medians[pairKey(a, b)]
		return d, ok
	}
}
