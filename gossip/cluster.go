package gossip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/rs/zerolog"
)

type clusterState uint8

const (
	stateNew clusterState = iota
	stateRunning
	stateLeft
	stateClosed
)

// Cluster is this node's membership in the gossip cluster and owner of its replicated
// Directory. Create it with New, then Start; Leave and Shutdown on the way out. All methods are
// safe for concurrent use.
type Cluster struct {
	cfg        Config
	log        zerolog.Logger
	stats      *counters
	nodes      *nodeTable
	dir        *Directory
	dirEvents  *eventQueue[Event]
	nodeEvents *eventQueue[NodeEvent]
	streams    *streamSender
	logw       *logBridge
	metaBytes  atomic.Pointer[[]byte]
	syncCh     chan syncRequest // full state exchanges to run
	metaWake   chan struct{}    // capacity 1: local metadata changed
	done       chan struct{}
	wg         sync.WaitGroup
	// lifecycle serialises Start, Leave and Shutdown (memberlist panics on Leave after
	// Shutdown); it is never taken by delegate callbacks or the cluster's goroutines.
	lifecycle sync.Mutex
	// updateMu serialises memberlist UpdateNode calls (metaLoop and Leave): UpdateNode reads
	// this node's state without memberlist's lock while another call's aliveNode writes it.
	updateMu sync.Mutex

	mu        sync.Mutex // guards the fields below
	state     clusterState
	ml        *memberlist.Memberlist
	transport *countingTransport
	addr      string
	meta      NodeMeta
}

// New validates cfg and prepares a Cluster; nothing is bound or started until Start.
func New(cfg Config) (*Cluster, error) {
	cfg.populate()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Cluster{
		cfg:      cfg,
		log:      cfg.Logger.With().Str("node", cfg.NodeID).Logger(),
		stats:    &counters{},
		syncCh:   make(chan syncRequest, 16),
		metaWake: make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	c.nodes = newNodeTable(cfg.NodeID, c.stats)
	c.dirEvents = newEventQueue(cfg.EventQueueSize, Event{Kind: Resync}, &c.stats.eventsDrop)
	c.nodeEvents = newEventQueue(cfg.EventQueueSize, NodeEvent{Kind: NodeResync}, &c.stats.nodeEvDrop)
	c.streams = newStreamSender(c)
	c.logw = newLogBridge(c.log, 20, func() { c.stats.logDropped.Add(1) })
	// Packet budget for one delta: memberlist's compound, label, encryption and user-message
	// headers fit comfortably in 100 bytes.
	maxBroadcast := cfg.PacketBufferSize - 100 - len(cfg.ClusterName)
	c.dir = newDirectory(dirConfig{
		self:           cfg.NodeID,
		epoch:          cfg.Epoch,
		log:            c.log,
		maxBroadcast:   maxBroadcast,
		retransmitMult: cfg.RetransmitMult,
		numNodes:       func() int { return int(c.nodes.members.Load()) },
		tombstoneTTL:   cfg.TombstoneTTL,
		orphanGrace:    cfg.OrphanGrace,
		syncGrace:      cfg.SyncGrace,
		now:            time.Now,
		sendLarge:      func(name string, msg []byte) { c.streams.enqueue(name, "", msg) },
		requestSync:    func(id string) { c.requestSync(syncRequest{id: id}) },
		sendTo:         func(id, key string, msg []byte) { c.streams.enqueue(key, id, msg) },
	}, c.stats, c.dirEvents)
	if err := c.SetLocalMeta(cfg.Meta); err != nil {
		return nil, err
	}
	return c, nil
}

// Directory returns the replicated room directory (usable before Start; writes are then
// broadcast once the cluster runs).
func (c *Cluster) Directory() *Directory { return c.dir }

// NodeID returns the local node id.
func (c *Cluster) NodeID() string { return c.cfg.NodeID }

// Start binds the gossip transport, starts memberlist and the cluster's goroutines, then tries
// the Join seeds once, bounded by ctx. Seeds that cannot be reached are not an error: they are
// retried every ReconnectInterval while this node is alone. ctx only bounds startup.
func (c *Cluster) Start(ctx context.Context) error {
	c.lifecycle.Lock()
	defer c.lifecycle.Unlock()
	c.mu.Lock()
	if c.state != stateNew {
		c.mu.Unlock()
		if c.state == stateClosed {
			return ErrClosed
		}
		return ErrAlreadyStarted
	}
	inner := c.cfg.Transport
	mc := c.cfg.memberlistConfig(delegate{c}, c.logw)
	if inner == nil {
		nt, err := newNetTransport(c.cfg.BindAddr, c.cfg.BindPort, c.logw.logger())
		if err != nil {
			c.mu.Unlock()
			return err
		}
		mc.BindPort = nt.GetAutoBindPort()
		if mc.AdvertisePort == 0 {
			mc.AdvertisePort = mc.BindPort
		}
		inner = nt
	}
	t := newCountingTransport(inner)
	mc.Transport = t
	ip, port, err := t.FinalAdvertiseAddr(mc.AdvertiseAddr, mc.AdvertisePort)
	if err != nil {
		c.mu.Unlock()
		_ = t.Shutdown()
		return fmt.Errorf("gossip: advertise address: %w", err)
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		c.mu.Unlock()
		_ = t.Shutdown()
		return fmt.Errorf("gossip: start memberlist: %w", err)
	}
	c.addr = net.JoinHostPort(ip.String(), strconv.Itoa(port))
	c.ml, c.transport, c.state = ml, t, stateRunning
	c.mu.Unlock()

	c.goLoop(func() { c.dirEvents.run(c.done) })
	c.goLoop(func() { c.nodeEvents.run(c.done) })
	c.goLoop(c.maintainLoop)
	c.goLoop(c.syncLoop)
	c.goLoop(c.reconnectLoop)
	c.goLoop(c.metaLoop)
	c.goLoop(c.streams.run)
	c.log.Info().Str("addr", c.addr).Bool("encrypted", len(c.cfg.SecretKey) > 0).
		Msg("gossip started")
	if len(c.cfg.Join) == 0 {
		return nil
	}
	joined := make(chan error, 1)
	c.goLoop(func() {
		_, err := ml.Join(c.cfg.Join)
		joined <- err
	})
	select {
	case err = <-joined:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		c.log.Warn().Err(err).Strs("seeds", c.cfg.Join).Msg("join failed; retrying in the background")
	}
	return nil
}

func (c *Cluster) goLoop(f func()) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
}

// running returns memberlist if the cluster is running (or has left but not shut down).
func (c *Cluster) running() (*memberlist.Memberlist, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state {
	case stateNew:
		return nil, ErrNotStarted
	case stateClosed:
		return nil, ErrClosed
	}
	return c.ml, nil
}

// Addr returns the advertised gossip address ("host:port"), or "" before Start.
func (c *Cluster) Addr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr
}

// Join contacts the given addresses ("host:port") and merges state with them. It returns how
// many were reached; an error only if none was.
func (c *Cluster) Join(addrs []string) (int, error) {
	ml, err := c.running()
	if err != nil {
		return 0, err
	}
	n, err := ml.Join(addrs)
	if err != nil {
		return n, fmt.Errorf("gossip: join: %w", err)
	}
	return n, nil
}

// Leave announces a graceful departure: the node advertises NodeLeaving, then memberlist
// broadcasts its leave, and every other node drops its directory entries (cause
// CauseNodeLeft). It blocks up to timeout. Call Shutdown afterwards.
func (c *Cluster) Leave(timeout time.Duration) error {
	c.lifecycle.Lock()
	defer c.lifecycle.Unlock()
	ml, err := c.running()
	if err != nil {
		return err
	}
	c.mu.Lock()
	already := c.state == stateLeft
	c.state = stateLeft
	meta := c.meta
	c.mu.Unlock()
	if already {
		return nil
	}
	deadline := time.Now().Add(timeout)
	meta.State = NodeLeaving
	if err := c.SetLocalMeta(meta); err == nil {
		if err := c.updateNode(ml, timeout/2); err != nil {
			c.log.Debug().Err(err).Msg("leaving state not confirmed before leave")
		}
	}
	if err := ml.Leave(max(time.Until(deadline), time.Millisecond)); err != nil {
		return fmt.Errorf("gossip: leave: %w", err)
	}
	c.log.Info().Msg("left the cluster")
	return nil
}

// updateNode re-advertises this node's metadata (memberlist UpdateNode), one call at a time.
func (c *Cluster) updateNode(ml *memberlist.Memberlist, timeout time.Duration) error {
	c.updateMu.Lock()
	defer c.updateMu.Unlock()
	return ml.UpdateNode(timeout)
}

// Shutdown stops gossip without announcing it (other nodes will declare this node dead) and
// waits for the cluster's goroutines. It is idempotent.
func (c *Cluster) Shutdown() error {
	c.lifecycle.Lock()
	defer c.lifecycle.Unlock()
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		return nil
	}
	started := c.state != stateNew
	c.state = stateClosed
	ml := c.ml
	c.mu.Unlock()
	c.logw.closing.Store(true)
	close(c.done)
	var err error
	if started {
		err = ml.Shutdown()
	}
	c.wg.Wait()
	return err
}

// SetLocalMeta replaces the local node metadata and re-advertises it in the background
// (memberlist UpdateNode). NodeID, Region and Epoch are always taken from the Config. It fails
// only if the encoding exceeds memberlist's limit (ErrMetaTooLarge).
func (c *Cluster) SetLocalMeta(m NodeMeta) error {
	m.NodeID, m.Region, m.Epoch = c.cfg.NodeID, c.cfg.Region, c.cfg.Epoch
	b, err := EncodeNodeMeta(m)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.state == stateLeft {
		m.State = NodeLeaving
		if b, err = EncodeNodeMeta(m); err != nil {
			c.mu.Unlock()
			return err
		}
	}
	c.meta = m
	c.metaBytes.Store(&b)
	c.mu.Unlock()
	select {
	case c.metaWake <- struct{}{}:
	default:
	}
	return nil
}

// LocalMeta returns the local node metadata.
func (c *Cluster) LocalMeta() NodeMeta {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.meta
}

// Nodes lists every known node, this one included, with liveness; departed nodes stay listed
// for DeadNodeRetention. Sorted by id.
func (c *Cluster) Nodes() []NodeInfo { return c.nodes.list() }

// Node returns one node by id.
func (c *Cluster) Node(id string) (NodeInfo, bool) { return c.nodes.get(id) }

// SubscribeNodes registers fn for membership events, delivered in order on a dispatcher
// goroutine; fn must return quickly. NodeResync means events were dropped: re-read Nodes.
func (c *Cluster) SubscribeNodes(fn func(NodeEvent)) (cancel func()) {
	return c.nodeEvents.subscribe(fn)
}

// Stats returns a snapshot of the cluster's counters.
func (c *Cluster) Stats() Stats {
	s := c.stats.snapshot()
	s.QueuedDeltas = uint64(c.dir.queued())
	c.mu.Lock()
	t := c.transport
	c.mu.Unlock()
	if t != nil {
		t.fill(&s)
	}
	return s
}

// errIsClosed reports memberlist errors caused by our own shutdown.
func errIsClosed(done <-chan struct{}, err error) bool {
	select {
	case <-done:
		return true
	default:
		return errors.Is(err, ErrClosed)
	}
}
