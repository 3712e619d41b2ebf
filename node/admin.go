package node

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// adminNode is one node in GET /admin/nodes.
type adminNode struct {
	ID         string    `json:"id"`
	Region     string    `json:"region"`
	SignalURL  string    `json:"signal_url"`
	RelayAddr  string    `json:"relay_addr"`
	GossipAddr string    `json:"gossip_addr"`
	State      string    `json:"state"`
	Liveness   string    `json:"liveness"`
	Local      bool      `json:"local"`
	RTTMillis  float64   `json:"rtt_ms"`
	Since      time.Time `json:"since"`
	Load       adminLoad `json:"load"`
}

type adminLoad struct {
	Participants uint32  `json:"participants"`
	Tracks       uint32  `json:"tracks"`
	CPU          float64 `json:"cpu_percent"`
}

// handleAdminNodes lists the mesh's nodes with their metadata and liveness, for operators and
// the ops CLI. It needs a token with roomList or roomAdmin.
func (n *Node) handleAdminNodes(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	if !n.adminAuth(w, r) {
		return
	}
	var out []adminNode
	if n.mesh == nil {
		l := n.load()
		out = append(out, adminNode{ID: n.cfg.NodeID, Region: n.cfg.Region, SignalURL: n.signalURL(),
			State: "active", Liveness: "alive", Local: true,
			Load: adminLoad{Participants: l.Participants, Tracks: l.Tracks, CPU: l.CPU}})
	} else {
		for _, ni := range n.mesh.cluster.Nodes() {
			out = append(out, adminNode{
				ID: ni.ID, Region: ni.Meta.Region, SignalURL: ni.Meta.SignalURL, RelayAddr: ni.Meta.RelayAddr,
				GossipAddr: ni.Addr, State: ni.Meta.State.String(), Liveness: ni.Liveness.String(),
				Local: ni.Local, RTTMillis: float64(ni.RTT) / float64(time.Millisecond), Since: ni.Since,
				Load: adminLoad{Participants: ni.Meta.Load.Participants, Tracks: ni.Meta.Load.Tracks, CPU: ni.Meta.Load.CPU},
			})
		}
	}
	slices.SortFunc(out, func(a, b adminNode) int { return strings.Compare(a.ID, b.ID) })
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(map[string]any{"node": n.cfg.NodeID, "nodes": out})
}
