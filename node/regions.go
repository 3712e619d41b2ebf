package node

import (
	"net"
	"net/http"
	"net/netip"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/edgemesh/edge/gossip"
	"github.com/edgemesh/edge/topology"
)

// regionCIDRs is the configured client prefix → region map.
func (n *Node) regionCIDRs() []topology.CIDRRegion {
	out := make([]topology.CIDRRegion, 0, len(n.cfg.RegionCIDRs))
	for p, region := range n.cfg.RegionCIDRs {
		if prefix, err := netip.ParsePrefix(p); err == nil {
			out = append(out, topology.CIDRRegion{Prefix: prefix, Region: region})
		}
	}
	return out
}

// topoNode describes this edge or a member for the topology package.
func topoNode(ni gossip.NodeInfo) topology.Node {
	return topology.Node{ID: ni.ID, Region: ni.Meta.Region, State: topology.State(ni.Meta.State.String()),
		Liveness: topology.Liveness(ni.Liveness.String()), SignalURL: ni.Meta.SignalURL,
		RelayAddr: ni.Meta.RelayAddr, Participants: int(ni.Meta.Load.Participants), Tracks: int(ni.Meta.Load.Tracks),
		CPU: ni.Meta.Load.CPU}
}

// regionSettings lists the healthy, non-draining edges nearest-first for a caller, in
// LiveKit's RegionSettings form (one entry per edge; Region is "<region>/<node id>" so that
// clients, which try each region once, try every edge). skipSelf leaves this edge out (it is
// draining).
func (n *Node) regionSettings(caller netip.Addr, skipSelf bool) *livekit.RegionSettings {
	self := topology.Node{ID: n.cfg.NodeID, Region: n.cfg.Region, State: topology.StateActive,
		Liveness: topology.Alive, SignalURL: n.signalURL()}
	if n.draining.Load() {
		self.State = topology.StateDraining
	}
	var nodes []topology.Node
	var links []topology.Link
	if n.mesh != nil {
		for _, ni := range n.mesh.cluster.Nodes() {
			nodes = append(nodes, topoNode(ni))
		}
		links = n.mesh.localView().Links
	}
	rs := &livekit.RegionSettings{}
	for i, e := range topology.NearestEdges(caller, n.regionCIDRs(), self, nodes, topology.RegionRTT(nodes, links)) {
		if skipSelf && e.ID == n.cfg.NodeID || e.SignalURL == "" {
			continue
		}
		rs.Regions = append(rs.Regions, &livekit.RegionInfo{Region: e.Region + "/" + e.ID,
			Url: httpURL(e.SignalURL), Distance: int64(i)})
	}
	return rs
}

// remoteIP is the caller's address.
func remoteIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, _ := netip.ParseAddr(host)
	return ip.Unmap()
}

// handleRegions serves GET /settings/regions: LiveKit's RegionSettings JSON with the healthy,
// non-draining edges ordered nearest-first for the caller. Any valid token may ask.
func (n *Node) handleRegions(w http.ResponseWriter, r *http.Request) {
	if _, err := n.keys.verify(tokenFromRequest(r)); err != nil {
		n.metrics.authFailures.Inc()
		writeError(w, err)
		return
	}
	b, err := protojson.Marshal(n.regionSettings(remoteIP(r), false))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=5")
	_, _ = w.Write(b)
}
