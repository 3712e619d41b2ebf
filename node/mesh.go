package node

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/edgemesh/edge/gossip"
	"github.com/edgemesh/edge/relay"
	"github.com/edgemesh/edge/sfu"
)

// metaInterval is how often a node re-advertises its load in gossip.
const metaInterval = 5 * time.Second

// mesh is the node's part in the cluster: gossip membership with the replicated room directory,
// and the QUIC relay endpoint that carries tracks and data between edges. It is nil on a
// standalone node.
type mesh struct {
	n       *Node
	log     zerolog.Logger
	cluster *gossip.Cluster
	dir     *gossip.Directory
	relay   *relay.Endpoint
	stop    chan struct{}
	cancels []func()

	mu       sync.Mutex           // guards linkDown
	linkDown map[string]time.Time // peer -> until when its relay link is left out of routes

	outMu    sync.Mutex             // guards outboxes
	outboxes map[string]*dataOutbox // peer -> its queue of relayed data (data_mesh.go)

	rates  linkRates
	pullMu sync.Mutex                    // guards pulled
	pulled map[string]string             // track sid -> edge this node pulls it from
	copies map[string]*relay.RemoteTrack // track sid -> this node's relay copy
}

// startMesh joins the cluster and opens the relay endpoint, unless the node is standalone.
func (n *Node) startMesh(ctx context.Context) error {
	if n.cfg.Standalone {
		return nil
	}
	secret, err := n.cfg.ClusterSecret()
	if err != nil {
		return err
	}
	m := &mesh{n: n, log: n.log.With().Str("component", "mesh").Logger(), stop: make(chan struct{}),
		linkDown: map[string]time.Time{}, outboxes: map[string]*dataOutbox{}, pulled: map[string]string{},
		copies: map[string]*relay.RemoteTrack{}}
	m.relay, err = relay.New(relay.Config{
		NodeID:     n.cfg.NodeID,
		ClusterKey: secret,
		ListenAddr: net.JoinHostPort(n.cfg.Bind, strconv.Itoa(n.cfg.RelayPort)),
		PacketConn: n.cfg.RelayPacketConn,
		Tracks:     n,
		OnData:     n.onRelayData,
		Logger:     n.log,
	})
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	gc := gossip.DefaultConfig()
	gc.NodeID = n.cfg.NodeID
	gc.Region = n.cfg.Region
	gc.BindAddr = n.cfg.Bind
	gc.BindPort = n.cfg.GossipPort
	if ip := n.cfg.AdvertisedIP(); ip != "" {
		gc.AdvertiseAddr = ip
	}
	gc.Join = n.cfg.Join
	gc.SecretKey = secret
	gc.Logger = n.log
	gc.Meta = m.localMeta()
	if m.cluster, err = gossip.New(gc); err != nil {
		_ = m.relay.Close()
		return fmt.Errorf("gossip: %w", err)
	}
	m.dir = m.cluster.Directory()
	m.cancels = append(m.cancels, m.dir.Subscribe(n.onDirectoryEvent), m.cluster.SubscribeNodes(m.onNodeEvent))
	if err := m.cluster.Start(ctx); err != nil {
		_ = m.relay.Close()
		return fmt.Errorf("gossip: %w", err)
	}
	n.mesh = m
	n.wg.Add(1)
	go func() { defer n.wg.Done(); m.metaLoop() }()
	m.log.Info().Str("gossip", m.cluster.Addr()).Str("relay", m.relay.Addr().String()).
		Strs("join", n.cfg.Join).Msg("joined the mesh")
	return nil
}

// relayAddr is the relay address other nodes dial.
func (m *mesh) relayAddr() string {
	host := m.n.cfg.AdvertisedIP()
	if host == "" {
		host = m.n.cfg.Bind
	}
	if m.relay == nil {
		return net.JoinHostPort(host, strconv.Itoa(m.n.cfg.RelayPort))
	}
	_, port, _ := net.SplitHostPort(m.relay.Addr().String())
	return net.JoinHostPort(host, port)
}

func (m *mesh) localMeta() gossip.NodeMeta {
	n := m.n
	state := gossip.NodeActive
	return gossip.NodeMeta{
		NodeID:    n.cfg.NodeID,
		Region:    n.cfg.Region,
		SignalURL: n.signalURL(),
		RelayAddr: m.relayAddr(),
		State:     state,
		Load:      n.load(),
	}
}

// metaLoop re-advertises the node's load.
func (m *mesh) metaLoop() {
	t := time.NewTicker(metaInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			if err := m.cluster.SetLocalMeta(m.localMeta()); err != nil {
				m.log.Debug().Err(err).Msg("advertise node meta")
			}
		}
	}
}

// close leaves the cluster (others drop this node's entries at once) and closes relay links.
func (m *mesh) close() {
	close(m.stop)
	for _, c := range m.cancels {
		c()
	}
	if err := m.cluster.Leave(2 * time.Second); err != nil {
		m.log.Debug().Err(err).Msg("leave cluster")
	}
	if err := m.cluster.Shutdown(); err != nil {
		m.log.Debug().Err(err).Msg("gossip shutdown")
	}
	if err := m.relay.Close(); err != nil {
		m.log.Debug().Err(err).Msg("relay close")
	}
}

// peer returns the relay peer of a node with its link up, dialing it when needed (the relay
// shares one link and one dial in flight per peer among concurrent callers). A peer whose link
// is down is not returned as it is: a caller would subscribe on a link that may never come up.
func (m *mesh) peer(ctx context.Context, nodeID string) (*relay.Peer, error) {
	addr := ""
	if info, ok := m.cluster.Node(nodeID); ok {
		addr = info.Meta.RelayAddr
	}
	if addr == "" {
		if _, ok := m.relay.Peer(nodeID); !ok {
			return nil, fmt.Errorf("node %s: no relay address known", nodeID)
		}
	}
	return m.relay.Dial(ctx, nodeID, addr)
}

// signalURL is the URL clients of other edges are pointed to for this node.
func (n *Node) signalURL() string {
	if n.cfg.SignalURL != "" {
		return n.cfg.SignalURL
	}
	host := n.cfg.AdvertisedIP()
	if host == "" {
		host = n.cfg.Bind
	}
	port := n.cfg.Port
	if n.httpLn != nil {
		_, p, _ := net.SplitHostPort(n.httpLn.Addr().String())
		port, _ = strconv.Atoi(p)
	}
	return "ws://" + net.JoinHostPort(host, strconv.Itoa(port))
}

// load is what the node advertises about its load.
func (n *Node) load() gossip.Load {
	var parts, tracks uint32
	for _, r := range n.roomList() {
		for _, p := range r.participantList() {
			parts++
			tracks += uint32(len(p.publishedList()))
		}
	}
	return gossip.Load{Participants: parts, Tracks: tracks, CPU: n.cpu.percent()}
}

// LookupTrack implements relay.LocalTracks: the local source of a track this node publishes.
// In regional mode a hub also serves tracks it pulls from elsewhere (publisher: where the
// asking edge knows the track to be published).
func (n *Node) LookupTrack(ctx context.Context, trackSid, publisher string) (sfu.TrackSource, bool) {
	for _, r := range n.roomList() {
		if _, pt := r.findPublished(trackSid); pt != nil {
			return pt.receiver, true
		}
	}
	return n.lookupRemote(ctx, trackSid, publisher)
}

// publishParticipant writes a local participant's current state into the directory.
func (m *mesh) publishParticipant(p *Participant) {
	if m == nil {
		return
	}
	p.mu.Lock()
	perm := p.subPerm
	p.mu.Unlock()
	if err := m.dir.PutParticipantPermission(p.room.name, p.info(), perm); err != nil {
		m.log.Warn().Err(err).Str("participant", p.identity).Msg("directory put")
	}
}

// unpublishParticipant removes a local participant from the directory.
func (m *mesh) unpublishParticipant(p *Participant) {
	if m == nil {
		return
	}
	m.dir.RemoveParticipant(p.room.name, p.identity)
}

// publishRoom writes the room entry this node hosts.
func (m *mesh) publishRoom(r *Room) {
	if m == nil {
		return
	}
	if err := m.dir.PutRoom(r.toProto()); err != nil {
		m.log.Warn().Err(err).Str("room", r.name).Msg("directory put room")
	}
}

func (m *mesh) unpublishRoom(r *Room) {
	if m == nil {
		return
	}
	m.dir.RemoveRoom(r.name)
}

// GossipAddr is the node's gossip (memberlist) address, "" when standalone.
func (n *Node) GossipAddr() string {
	if n.mesh == nil {
		return ""
	}
	return n.mesh.cluster.Addr()
}

// AliveNodes is how many nodes of the cluster this node sees alive (itself included); 1 when
// standalone.
func (n *Node) AliveNodes() int {
	if n.mesh == nil {
		return 1
	}
	alive := 0
	for _, ni := range n.mesh.cluster.Nodes() {
		if ni.Liveness == gossip.Alive {
			alive++
		}
	}
	return alive
}
