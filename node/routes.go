package node

import (
	"context"
	"fmt"
	"time"

	"github.com/edgemesh/edge/gossip"
	"github.com/edgemesh/edge/relay"
	"github.com/edgemesh/edge/sfu"
	"github.com/edgemesh/edge/topology"
)

// resubscribeDelay is how long a subscriber waits before pulling a track again after its relay
// copy ended while the track is still published (an upstream edge died or its link broke).
const resubscribeDelay = 200 * time.Millisecond

// relayMode is the configured route mode.
func (n *Node) relayMode() topology.Mode {
	if n.cfg.RelayMode == string(topology.ModeRegional) {
		return topology.ModeRegional
	}
	return topology.ModeDirect
}

// upstream is the edge this node pulls a track published on publisherNode from: the publisher's
// edge in direct mode; in regional mode the route topology computes from the live members
// (through the region hubs), recomputed on every call so that a dead hub is routed around.
func (m *mesh) upstream(publisherNode string) (string, error) {
	self := m.n.cfg.NodeID
	if m.n.relayMode() != topology.ModeRegional {
		return publisherNode, nil
	}
	var nodes []topology.Node
	for _, ni := range m.cluster.Nodes() {
		nodes = append(nodes, topoNode(ni))
	}
	tree, err := topology.Routes(topology.RouteParams{Mode: topology.ModeRegional, Nodes: nodes,
		Links: m.downLinks(time.Now()), Publisher: publisherNode, Subscribers: []string{self}})
	if err != nil {
		return "", err
	}
	parent, ok := tree.Upstream(self)
	if !ok {
		return "", fmt.Errorf("no route from %s to %s", publisherNode, self)
	}
	return parent, nil
}

// linkDownFor is how long a relay link that could not be brought up is left out of this node's
// routes: the next pulls route around it (through another hub, or straight from the publisher's
// edge), and after it the link is tried again.
const linkDownFor = 30 * time.Second

// noteLink records the outcome of bringing up the relay link to peer at now: a failure takes
// the link out of routes for linkDownFor, a success puts it back.
func (m *mesh) noteLink(peer string, err error, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil {
		delete(m.linkDown, peer)
		return
	}
	if _, known := m.linkDown[peer]; !known {
		m.log.Info().Err(err).Str("peer", peer).Dur("for", linkDownFor).Msg("relay link down: routing around it")
	}
	m.linkDown[peer] = now.Add(linkDownFor)
}

// isLinkDown reports whether the relay link to peer is out of routes at now.
func (m *mesh) isLinkDown(peer string, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	until, ok := m.linkDown[peer]
	return ok && now.Before(until)
}

// downLinks are this node's relay links that are out of routes at now, as topology links with
// 100 % loss. Expired entries are dropped.
func (m *mesh) downLinks(now time.Time) []topology.Link {
	self := m.n.cfg.NodeID
	m.mu.Lock()
	defer m.mu.Unlock()
	var links []topology.Link
	for peer, until := range m.linkDown {
		if !now.Before(until) {
			delete(m.linkDown, peer)
			continue
		}
		links = append(links, topology.Link{From: self, To: peer, LossPercent: 100})
	}
	return links
}

// pull returns this node's relay copy of a track published on publisherNode, subscribing along
// the route when there is none yet. Every caller shares one copy per track.
func (m *mesh) pull(ctx context.Context, trackSid, publisherNode string) (*relay.RemoteTrack, error) {
	from, err := m.upstream(publisherNode)
	if err != nil {
		return nil, err
	}
	peer, err := m.peer(ctx, from)
	m.noteLink(from, err, time.Now())
	if err != nil {
		return nil, err
	}
	rt, err := peer.Subscribe(ctx, trackSid, publisherNode)
	if err != nil {
		return nil, err
	}
	m.notePulled(trackSid, from, rt.Done())
	m.pullMu.Lock()
	m.copies[trackSid] = rt
	m.pullMu.Unlock()
	return rt, nil
}

// lookupRemote serves a track this node does not publish to a downstream edge (this node is
// its region's hub in regional mode): it pulls the track along its own route and hands out the
// relay copy as the source, so the track crosses each region boundary once. The publishing
// edge is taken from this node's rooms or directory; if gossip has not brought the track here
// yet, from the asking edge's hint (publisher), provided that edge is a live member.
func (n *Node) lookupRemote(ctx context.Context, trackSid, publisher string) (sfu.TrackSource, bool) {
	m := n.mesh
	if m == nil || n.relayMode() != topology.ModeRegional {
		return nil, false
	}
	from := m.publisherOf(trackSid)
	if from == "" && publisher != n.cfg.NodeID {
		if info, ok := m.cluster.Node(publisher); ok && info.Liveness == gossip.Alive {
			from = publisher
		}
	}
	if from == "" {
		return nil, false
	}
	pullCtx, cancel := context.WithTimeout(ctx, remoteSubscribeTimeout)
	defer cancel()
	rt, err := m.pull(pullCtx, trackSid, from)
	if err != nil {
		ev := n.log.Warn()
		if ctx.Err() != nil {
			ev = n.log.Debug() // the asking edge's link closed: nobody waits for the track
		}
		ev.Err(err).Str("track", trackSid).Str("publisher_node", from).Msg("hub pull failed")
		return nil, false
	}
	return rt, true
}

// publisherOf returns the edge that publishes track trackSid as far as this node knows (its
// rooms' remote participants, then the directory), or "".
func (m *mesh) publisherOf(trackSid string) string {
	for _, r := range m.n.roomList() {
		if rp, _ := r.findRemoteTrack(trackSid); rp != nil {
			return rp.nodeID
		}
	}
	// The room may have no local participant: look the track up in the directory.
	for _, re := range m.dir.Rooms() {
		for _, e := range m.dir.Participants(re.Room.Name) {
			if e.NodeID != m.n.cfg.NodeID && findTrack(e.Info.Tracks, trackSid) != nil {
				return e.NodeID
			}
		}
	}
	return ""
}

// onNodeEvent closes the relay copies pulled from an edge that died or left, so that their
// subscribers re-pull along a new route at once instead of waiting for the link to time out.
func (m *mesh) onNodeEvent(ev gossip.NodeEvent) {
	if ev.Kind != gossip.NodeLeft && ev.Node.Liveness == gossip.Alive {
		return
	}
	gone := ev.Node.ID
	m.pullMu.Lock()
	var drop []*relay.RemoteTrack
	for sid, from := range m.pulled {
		if from == gone {
			if rt := m.copies[sid]; rt != nil {
				drop = append(drop, rt)
			}
		}
	}
	m.pullMu.Unlock()
	for _, rt := range drop {
		rt.Close()
	}
	if len(drop) > 0 {
		m.log.Info().Str("edge", gone).Int("tracks", len(drop)).Msg("upstream edge gone: re-routing its tracks")
	}
}
