package node

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/livekit/protocol/livekit"

	"github.com/edgemesh/edge/gossip"
)

// ErrDraining refuses joins on an edge that is draining.
var ErrDraining = errors.New("edge is draining: connect to another edge")

// Drain takes the edge out of service without dropping anyone: it is marked draining in gossip
// (other edges stop sending it clients), new joins are refused, and every connected client is
// told to reconnect to the nearest other edge (a leave with action RECONNECT and the region
// list), where it rejoins and republishes. It returns once the leaves are sent; clients move
// within the client SDK's reconnect time.
func (n *Node) Drain(ctx context.Context) error {
	if !n.draining.CompareAndSwap(false, true) {
		return nil
	}
	n.log.Info().Msg("draining")
	if m := n.mesh; m != nil {
		meta := m.localMeta()
		meta.State = gossip.NodeDraining
		if err := m.cluster.SetLocalMeta(meta); err != nil {
			n.log.Warn().Err(err).Msg("advertise draining")
		}
	}
	for _, r := range n.roomList() {
		for _, p := range r.participantList() {
			if err := ctx.Err(); err != nil {
				return err
			}
			p.mu.Lock()
			regions := n.regionSettings(p.remoteIP, true)
			p.leave = &livekit.LeaveRequest{CanReconnect: true, Reason: livekit.DisconnectReason_MIGRATION,
				Action: livekit.LeaveRequest_RECONNECT, Regions: regions}
			p.mu.Unlock()
			r.removeParticipant(p, livekit.DisconnectReason_MIGRATION)
		}
	}
	return nil
}

// Draining reports whether the edge is draining.
func (n *Node) Draining() bool { return n.draining.Load() }

// handleAdminDrain serves POST /admin/drain (roomAdmin).
func (n *Node) handleAdminDrain(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	g, err := n.keys.verify(tokenFromRequest(r))
	if err == nil && (g.Video == nil || !g.Video.RoomAdmin) {
		err = ErrPermissionDenied
	}
	if err != nil {
		n.metrics.authFailures.Inc()
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if err := n.Drain(ctx); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte("draining\n"))
}

// otherEdgesUp reports whether another edge of the mesh is alive and accepting clients.
func (n *Node) otherEdgesUp() bool {
	if n.mesh == nil {
		return false
	}
	for _, ni := range n.mesh.cluster.Nodes() {
		if !ni.Local && ni.Liveness == gossip.Alive && ni.Meta.State == gossip.NodeActive {
			return true
		}
	}
	return false
}
