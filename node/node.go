// Package node is one edge node: configuration, LiveKit signaling over WebSocket, auth, rooms,
// participants and their peer connections, the RoomService API and the admin/metrics endpoints.
// It wires the media path of package sfu to LiveKit clients.
package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/utils/guid"
	"github.com/rs/zerolog"

	"github.com/edgemesh/edge/egress"
	"github.com/edgemesh/edge/sfu"
)

// Version is the server version reported to clients.
const Version = "0.1.0"

// protocolVersion is the LiveKit signal protocol version this node speaks.
const protocolVersion = 16

// Node is one edge node. Create it with New, start it with Start, stop it with Shutdown.
type Node struct {
	cfg      Config
	log      zerolog.Logger
	keys     keyProvider
	counters *sfu.Counters
	metrics  *metrics
	alloc    *allocations     // stream allocation (allocation.go)
	reports  *sfu.ReportClock // sends every down-track's sender reports
	mesh     *mesh            // gossip and relay; nil when standalone (set by Start)
	cpu      cpuMeter
	started  time.Time
	draining atomic.Bool
	// httpClient calls other edges (forwarded RoomService requests).
	httpClient *http.Client

	rtc    *rtcNet
	apis   *webrtcAPIs
	egress egress.Counters // the direct SRTP paths' sends
	httpLn net.Listener
	srv    *http.Server

	mu     sync.Mutex // guards rooms and closed
	rooms  map[string]*Room
	closed bool
	// stopping is closed when Shutdown begins (with closed set): waits that would otherwise
	// hold Shutdown up, such as a leaving client's lingering signal connection, end at once.
	stopping chan struct{}

	wg sync.WaitGroup // background goroutines owned by the node
}

// New validates cfg and builds a node. It opens no sockets; Start does.
func New(cfg Config, log zerolog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.NodeID == "" {
		cfg.NodeID = guid.New("ND_")
	}
	n := &Node{
		cfg:        cfg,
		log:        log.With().Str("node", cfg.NodeID).Logger(),
		keys:       keyProvider(cfg.Keys),
		counters:   &sfu.Counters{},
		rooms:      make(map[string]*Room),
		stopping:   make(chan struct{}),
		httpClient: &http.Client{Timeout: 5 * time.Second},
	}
	n.metrics = newMetrics(n)
	n.alloc = newAllocations(n, cfg.Allocation.allocationConfig())
	n.reports = sfu.NewReportClock(sfu.SenderReportInterval, n.goAdd, n.wg.Done)
	return n, nil
}

// Start opens the HTTP, ICE/UDP and ICE/TCP listeners and serves until Shutdown.
func (n *Node) Start(ctx context.Context) error {
	logs := pionLogs{log: n.log}
	rn, err := listenRTC(rtcListen{bind: n.cfg.Bind, udpPort: n.cfg.RTCUDPPort, tcpPort: n.cfg.RTCTCPPort,
		noBatch: n.cfg.NoUDPBatching, noDirect: n.cfg.NoDirectEgress, udpConn: n.cfg.RTCPacketConn}, logs)
	if err != nil {
		return err
	}
	nodeIP := n.cfg.NodeIP
	if nodeIP == n.cfg.Bind {
		nodeIP = ""
	}
	ip := net.ParseIP(n.cfg.Bind)
	apis, err := newAPIs(apiParams{rtc: rn, nodeIP: nodeIP, loopback: ip != nil && ip.IsLoopback(), log: n.log,
		bwe: n.alloc.estimators(), direct: !n.cfg.NoDirectEgress})
	if err != nil {
		rn.close()
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(n.cfg.Bind, fmt.Sprint(n.cfg.Port)))
	if err != nil {
		rn.close()
		return fmt.Errorf("listen HTTP: %w", err)
	}
	n.rtc, n.apis, n.httpLn = rn, apis, ln
	n.started = time.Now()
	n.srv = &http.Server{Handler: n.routes(), ReadHeaderTimeout: 10 * time.Second}
	if err := n.startMesh(ctx); err != nil {
		_ = ln.Close()
		rn.close()
		return err
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error().Err(err).Msg("http server stopped")
		}
	}()
	n.log.Info().Str("http", ln.Addr().String()).Str("udp", rn.udpConn.LocalAddr().String()).
		Str("tcp", rn.tcpLn.Addr().String()).Str("region", n.cfg.Region).Msg("edge node started")
	return nil
}

// URL is the WebSocket URL clients connect to, e.g. "ws://127.0.0.1:7880".
func (n *Node) URL() string { return "ws://" + n.httpLn.Addr().String() }

// HTTPURL is the base URL of the HTTP API, e.g. "http://127.0.0.1:7880".
func (n *Node) HTTPURL() string { return "http://" + n.httpLn.Addr().String() }

// ID is the node id.
func (n *Node) ID() string { return n.cfg.NodeID }

// Counters exposes the node's media counters.
func (n *Node) Counters() *sfu.Counters { return n.counters }

// Shutdown moves every participant to another edge when one is up (Drain), else sends it a
// leave; then it closes all rooms and listeners and waits for the node's goroutines, bounded by
// ctx.
func (n *Node) Shutdown(ctx context.Context) error {
	// With other edges up, clients are sent there (drain) instead of being disconnected.
	if n.otherEdgesUp() {
		if err := n.Drain(ctx); err != nil {
			n.log.Warn().Err(err).Msg("drain before shutdown")
		}
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	close(n.stopping)
	rooms := make([]*Room, 0, len(n.rooms))
	for _, r := range n.rooms {
		rooms = append(rooms, r)
	}
	n.mu.Unlock()

	var closing sync.WaitGroup
	for _, r := range rooms {
		closing.Add(1)
		go func() { defer closing.Done(); r.close(livekit.DisconnectReason_SERVER_SHUTDOWN) }()
	}
	closing.Wait()
	if n.mesh != nil {
		n.mesh.close()
	}
	var err error
	if n.srv != nil {
		err = n.srv.Shutdown(ctx)
		if err != nil {
			_ = n.srv.Close()
		}
	}
	if n.rtc != nil {
		n.rtc.close()
	}
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("shutdown: %w", ctx.Err())
	}
	n.log.Info().Msg("edge node stopped")
	return err
}

// goAdd registers one more node goroutine unless the node is shutting down. Every goroutine the
// node starts outside Start is registered through it, so Shutdown can wait for all of them.
func (n *Node) goAdd() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return false
	}
	n.wg.Add(1)
	return true
}

// goAsync runs f on a node goroutine (not when shutting down). Callers hold n.mu.
func (n *Node) goAsync(f func()) {
	if n.closed {
		return
	}
	n.wg.Add(1)
	go func() { defer n.wg.Done(); f() }()
}

// getOrCreateRoom returns the room with that name, creating it if needed.
func (n *Node) getOrCreateRoom(name string, create func(*Room)) (*Room, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrNodeClosed
	}
	if r, ok := n.rooms[name]; ok {
		return r, nil
	}
	r := newRoom(n, name)
	if create != nil {
		create(r)
	}
	n.rooms[name] = r
	if n.mesh != nil {
		if e, ok := n.mesh.dir.Room(name); ok && e.Room != nil {
			r.metadata = e.Room.Metadata // the room exists on other edges: same metadata here
		}
		n.goAsync(func() {
			n.mesh.publishRoom(r)
			r.syncRemote()
		})
	}
	n.metrics.rooms.Inc()
	n.log.Info().Str("room", name).Str("roomSid", r.sid).Msg("room created")
	return r, nil
}

func (n *Node) room(name string) *Room {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rooms[name]
}

func (n *Node) roomList() []*Room {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*Room, 0, len(n.rooms))
	for _, r := range n.rooms {
		out = append(out, r)
	}
	return out
}

// removeRoom forgets a closed room.
func (n *Node) removeRoom(r *Room) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.rooms[r.name] == r {
		delete(n.rooms, r.name)
		n.metrics.rooms.Dec()
		n.log.Info().Str("room", r.name).Msg("room closed")
	}
}

func (n *Node) serverInfo() *livekit.ServerInfo {
	return &livekit.ServerInfo{
		Edition:  livekit.ServerInfo_Standard,
		Version:  Version,
		Protocol: protocolVersion,
		Region:   n.cfg.Region,
		NodeId:   n.cfg.NodeID,
	}
}
