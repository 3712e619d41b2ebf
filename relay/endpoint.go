package relay

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/rs/zerolog"
)

// Endpoint is one node's end of the relay mesh: it listens for links from
// peers, dials peers on demand, serves its local tracks to them and presents
// their tracks as RemoteTracks. Every link is symmetric: both nodes may
// subscribe to each other's tracks and send data over it, so a pair of
// nodes normally shares one QUIC connection (two only while both dial each
// other at the same moment).
//
// All methods are safe for concurrent use.
type Endpoint struct {
	cfg     Config
	log     zerolog.Logger
	creds   *credentials
	qconf   *quic.Config
	pconn   net.PacketConn
	ownConn bool
	tr      *quic.Transport
	ln      *quic.Listener
	bufs    sync.Pool // of *packetBuf
	start   time.Time // monotonic base of ping ids

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine of the endpoint, its links and peers

	authFailures, handshakeFailures atomic.Uint64

	// mu guards peers, closed and wg.Add. Lock order: Peer.mu before
	// Endpoint.mu; nothing else is locked while it is held.
	mu     sync.Mutex
	peers  map[string]*Peer
	closed bool
}

// New creates an Endpoint, binds its UDP socket and starts accepting links.
func New(cfg Config) (*Endpoint, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &Endpoint{
		cfg:   cfg,
		log:   cfg.Logger.With().Str("component", "relay").Str("node", cfg.NodeID).Logger(),
		start: time.Now(),
		peers: map[string]*Peer{},
	}
	creds, err := newCredentials(cfg.ClusterKey, cfg.NodeID, time.Now())
	if err != nil {
		return nil, err
	}
	creds.authFailures = &e.authFailures
	e.creds = creds
	e.bufs.New = func() any { return new(packetBuf) }
	e.qconf = &quic.Config{
		HandshakeIdleTimeout:  cfg.HandshakeTimeout,
		MaxIdleTimeout:        cfg.LinkTimeout,
		KeepAlivePeriod:       cfg.KeepAlive,
		EnableDatagrams:       true,
		MaxIncomingStreams:    1, // the control stream
		MaxIncomingUniStreams: 4, // data and oversize streams, with room for newer versions
	}
	e.pconn = cfg.PacketConn
	if e.pconn == nil {
		pc, err := net.ListenPacket("udp", cfg.ListenAddr)
		if err != nil {
			return nil, fmt.Errorf("relay listen %s: %w", cfg.ListenAddr, err)
		}
		e.pconn, e.ownConn = pc, true
	}
	reset := quic.StatelessResetKey(creds.reset)
	e.tr = &quic.Transport{Conn: e.pconn, StatelessResetKey: &reset}
	e.ln, err = e.tr.Listen(creds.serverConfig(), e.qconf)
	if err != nil {
		_ = e.tr.Close()
		if e.ownConn {
			_ = e.pconn.Close()
		}
		return nil, fmt.Errorf("relay listen: %w", err)
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.goTracked(e.acceptLoop)
	e.log.Info().Str("addr", e.pconn.LocalAddr().String()).Msg("relay listening")
	return e, nil
}

// NodeID returns this node's id.
func (e *Endpoint) NodeID() string { return e.cfg.NodeID }

// Addr returns the local UDP address.
func (e *Endpoint) Addr() net.Addr { return e.pconn.LocalAddr() }

// goTracked runs f on a goroutine counted by the endpoint's WaitGroup, unless
// the endpoint is closed.
func (e *Endpoint) goTracked(f func()) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		f()
	}()
	return true
}

// peer returns the Peer of nodeID, creating it; a non-empty addr replaces
// the address it is dialed at. nil once the endpoint is closed. Lock order:
// Peer.mu before Endpoint.mu, so e.mu is released before p is touched.
func (e *Endpoint) peer(nodeID, addr string) *Peer {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	p := e.peers[nodeID]
	if p == nil {
		p = newPeer(e, nodeID)
		e.peers[nodeID] = p
	}
	e.mu.Unlock()
	if addr != "" {
		p.setAddr(addr)
	}
	return p
}

// Dial returns the Peer of nodeID, reachable at addr (its relay host:port),
// connected: it reuses the link to the peer if there is one (dialed or
// accepted), else dials one. The Peer outlives its links: it re-dials as
// needed and keeps its subscriptions across them.
func (e *Endpoint) Dial(ctx context.Context, nodeID, addr string) (*Peer, error) {
	if nodeID == e.cfg.NodeID {
		return nil, fmt.Errorf("dial %s: that is this node: %w", nodeID, ErrInvalidConfig)
	}
	p := e.peer(nodeID, addr)
	if p == nil {
		return nil, fmt.Errorf("dial %s: %w", nodeID, ErrClosed)
	}
	if _, err := p.connect(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// Peer returns the Peer of nodeID if this endpoint has dialed it or accepted
// a link from it.
func (e *Endpoint) Peer(nodeID string) (*Peer, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.peers[nodeID]
	return p, ok
}

// acceptLoop accepts links until the endpoint closes.
func (e *Endpoint) acceptLoop() {
	for {
		conn, err := e.ln.Accept(e.ctx)
		if err != nil {
			return
		}
		if !e.goTracked(func() { e.acceptLink(conn) }) {
			_ = conn.CloseWithError(codeShutdown, "shutting down")
			return
		}
	}
}

// Stats returns a snapshot of the endpoint's counters.
func (e *Endpoint) Stats() Stats {
	e.mu.Lock()
	peers := make([]*Peer, 0, len(e.peers))
	for _, p := range e.peers {
		peers = append(peers, p)
	}
	e.mu.Unlock()
	st := Stats{
		NodeID:            e.cfg.NodeID,
		AuthFailures:      e.authFailures.Load(),
		HandshakeFailures: e.handshakeFailures.Load(),
	}
	for _, p := range peers {
		st.Peers = append(st.Peers, p.Stats())
	}
	slices.SortFunc(st.Peers, func(a, b PeerStats) int { return strings.Compare(a.NodeID, b.NodeID) })
	return st
}

// Close closes every RemoteTrack (their sinks close), every link (with a
// shutdown close to the peers), stops accepting and waits for the
// endpoint's goroutines. Idempotent.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	peers := make([]*Peer, 0, len(e.peers))
	for _, p := range e.peers {
		peers = append(peers, p)
	}
	e.mu.Unlock()

	e.cancel()
	err := e.ln.Close()
	for _, p := range peers {
		p.shutdown()
	}
	e.wg.Wait()
	if cerr := e.tr.Close(); err == nil {
		err = cerr
	}
	if e.ownConn {
		if cerr := e.pconn.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// isClosed reports whether Close has begun.
func (e *Endpoint) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// sinceStart returns the monotonic time since the endpoint started (ping ids).
func (e *Endpoint) sinceStart() int64 { return int64(time.Since(e.start)) }
