package node

import "github.com/edgemesh/edge/relay"

// RelayStats returns a snapshot of the node's relay counters: per peer node, the bytes sent and
// received by kind and simulcast layer, the relay subscriptions in each direction, loss, NACK
// and link counters. A standalone node (or one not started) returns an empty Stats. Safe for
// concurrent use; it takes no lock held across I/O.
func (n *Node) RelayStats() relay.Stats {
	if n.mesh == nil || n.mesh.relay == nil {
		return relay.Stats{NodeID: n.cfg.NodeID}
	}
	return n.mesh.relay.Stats()
}

// RelayPeerStats returns the relay counters of the links with the node peerID, false if this
// node never had a link with it. See RelayStats.
func (n *Node) RelayPeerStats(peerID string) (relay.PeerStats, bool) {
	for _, p := range n.RelayStats().Peers {
		if p.NodeID == peerID {
			return p, true
		}
	}
	return relay.PeerStats{}, false
}
