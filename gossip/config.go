package gossip

import (
	"fmt"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/rs/zerolog"
)

// DefaultPort is the default gossip port (UDP and TCP).
const DefaultPort = 7946

// Config configures a Cluster. Start from DefaultConfig; zero timing knobs are replaced by their
// defaults, so a Config with only NodeID, SecretKey and addresses set works too.
//
// Failure detection is tuned for media, where a dead edge must be noticed in seconds, not the
// ~30 s of memberlist's WAN profile. The defaults, and why:
//
//	knob                     default  effect
//	ProbeInterval            500ms    each node probes one peer (round-robin) every 500 ms
//	ProbeTimeout             250ms    a probe without ack after 250 ms falls back to indirect probes
//	IndirectChecks           2        peers asked to probe indirectly before suspecting
//	SuspicionMult            3        suspicion lasts 3 × max(1, log10 N) × ProbeInterval = 1.5 s (N < 10)
//	                                  once another node confirms the suspicion (N ≥ 3) ...
//	SuspicionMaxTimeoutMult  3        ... and at most 3 × that (4.5 s) without confirmation
//	GossipInterval           100ms    piggy-backed deltas and membership messages go out every 100 ms
//	GossipNodes              3        to 3 random peers
//	RetransmitMult           4        each delta is retransmitted 4 × ceil(log10(N+1)) times
//	PushPullInterval         5s       periodic anti-entropy exchange with one random peer (digests only)
//	TCPTimeout               3s       dial/read/write timeout of push/pull and stream messages
//	GossipToTheDeadTime      15s      dead peers keep receiving gossip this long (lets a partition heal)
//
// A killed node is therefore declared dead after about ProbeInterval + ProbeTimeout + 1.5 s on a
// LAN or loopback (TestKilledNodeEntriesVanish measures it); a partitioned peer likewise.
type Config struct {
	// NodeID names this node in the cluster; it must be unique and stable for the node's
	// lifetime. It is the memberlist node name and the owner id of directory entries.
	NodeID string
	// Region is advertised in the node metadata (e.g. "eu-west").
	Region string
	// ClusterName, if set, becomes memberlist's Label: packets and streams carry it and nodes
	// with a different name ignore them. With a SecretKey it is authenticated as GCM data.
	ClusterName string

	// BindAddr and BindPort are where gossip listens (UDP and TCP). BindPort 0 picks an ephemeral
	// port (tests); the default is DefaultPort. Ignored when Transport is set.
	BindAddr string
	BindPort int
	// AdvertiseAddr and AdvertisePort are what other nodes use to reach this one (NAT, 0.0.0.0
	// binds). Empty/0: derived from the bound address.
	AdvertiseAddr string
	AdvertisePort int
	// Join lists seed addresses ("host:port") tried by Start and, while this node is alone,
	// retried every ReconnectInterval.
	Join []string

	// SecretKey is the 32-byte cluster key (AES-256-GCM). Every gossip packet and stream is
	// encrypted and authenticated with it, and messages that are not are dropped
	// (memberlist's GossipVerifyIncoming/Outgoing are on): a node without the key can neither
	// join, read the gossip, nor inject directory entries. Required unless Dev.
	SecretKey []byte
	// Dev allows running without a SecretKey (plaintext gossip). Never use it across hosts.
	Dev bool

	// Transport replaces the UDP/TCP transport (tests: fault injection, in-memory networks).
	// BindAddr/BindPort are then ignored; the transport's own address is advertised.
	Transport memberlist.Transport
	// Logger receives cluster logs, memberlist's own lines included (rate limited).
	Logger zerolog.Logger
	// Meta is the initial node metadata; its NodeID and Region are overwritten from the fields
	// above. Update it later with Cluster.SetLocalMeta.
	Meta NodeMeta
	// Epoch is this incarnation of the node's directory (owner epoch). 0: the start time in
	// Unix nanoseconds, which makes a restarted node's entries beat its previous life's.
	Epoch uint64

	// Failure detection and dissemination; see the table above.
	ProbeInterval           time.Duration
	ProbeTimeout            time.Duration
	IndirectChecks          int
	SuspicionMult           int
	SuspicionMaxTimeoutMult int
	GossipInterval          time.Duration
	GossipNodes             int
	RetransmitMult          int
	PushPullInterval        time.Duration
	TCPTimeout              time.Duration
	GossipToTheDeadTime     time.Duration
	// PacketBufferSize is the largest gossip packet (memberlist UDPBufferSize), default 1400.
	// Directory deltas that do not fit are sent to each peer over a stream instead.
	PacketBufferSize int

	// TombstoneTTL is how long removals are remembered so that late or duplicate updates cannot
	// resurrect an entry. Default max(60 s, 6 × PushPullInterval).
	TombstoneTTL time.Duration
	// ReconnectInterval is how often the cluster retries its seeds while alone and re-joins
	// failed (not left) nodes, which heals partitions older than GossipToTheDeadTime. Default 5 s.
	ReconnectInterval time.Duration
	// ReconnectTimeout is how long a failed node keeps being retried (at most DeadNodeRetention).
	// Default 10 min.
	ReconnectTimeout time.Duration
	// DeadNodeReclaimTime is how long a dead node's id stays bound to its old address: after
	// it, a node with the same id but another address (a restart with a new IP or port) may
	// take the id over. Default 10 s.
	DeadNodeReclaimTime time.Duration
	// DeadNodeRetention is how long dead and left nodes stay listed by Nodes. Default 10 min.
	DeadNodeRetention time.Duration
	// OrphanGrace is how long the directory keeps entries of an owner that membership does not
	// list as alive (they can arrive before the owner's alive message). Default 5 s.
	OrphanGrace time.Duration
	// SyncGrace is how long a digest mismatch may persist (deltas in flight) before a full
	// state exchange repairs it. Default 1 s.
	SyncGrace time.Duration
	// EventQueueSize bounds the queue of directory and node events per Cluster. On overflow the
	// queue is dropped, counted, and subscribers receive a Resync event. Default 65536.
	EventQueueSize int
}

// DefaultConfig returns a Config with every knob at its documented default. NodeID and
// SecretKey (or Dev) still have to be set.
func DefaultConfig() Config {
	c := Config{BindAddr: "0.0.0.0", BindPort: DefaultPort}
	c.populate()
	return c
}

// populate replaces zero knobs by their defaults.
func (c *Config) populate() {
	setDur := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	setInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	if c.BindAddr == "" {
		c.BindAddr = "0.0.0.0"
	}
	setDur(&c.ProbeInterval, 500*time.Millisecond)
	setDur(&c.ProbeTimeout, 250*time.Millisecond)
	setInt(&c.IndirectChecks, 2)
	setInt(&c.SuspicionMult, 3)
	setInt(&c.SuspicionMaxTimeoutMult, 3)
	setDur(&c.GossipInterval, 100*time.Millisecond)
	setInt(&c.GossipNodes, 3)
	setInt(&c.RetransmitMult, 4)
	setDur(&c.PushPullInterval, 5*time.Second)
	setDur(&c.TCPTimeout, 3*time.Second)
	setDur(&c.GossipToTheDeadTime, 15*time.Second)
	setInt(&c.PacketBufferSize, 1400)
	setDur(&c.TombstoneTTL, max(60*time.Second, 6*c.PushPullInterval))
	setDur(&c.ReconnectInterval, 5*time.Second)
	setDur(&c.ReconnectTimeout, 10*time.Minute)
	setDur(&c.DeadNodeReclaimTime, 10*time.Second)
	setDur(&c.DeadNodeRetention, 10*time.Minute)
	setDur(&c.OrphanGrace, 5*time.Second)
	setDur(&c.SyncGrace, time.Second)
	setInt(&c.EventQueueSize, 1<<16)
	if c.Epoch == 0 {
		c.Epoch = uint64(time.Now().UnixNano())
	}
}

func (c *Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	switch {
	case c.NodeID == "":
		return bad("NodeID is required")
	case len(c.NodeID) > maxIDLen:
		return bad("NodeID longer than %d bytes", maxIDLen)
	case len(c.Region) > maxIDLen:
		return bad("Region longer than %d bytes", maxIDLen)
	case len(c.ClusterName) > memberlist.LabelMaxSize:
		return bad("ClusterName longer than %d bytes", memberlist.LabelMaxSize)
	case c.BindPort < 0 || c.BindPort > 65535 || c.AdvertisePort < 0 || c.AdvertisePort > 65535:
		return bad("port out of range")
	case !c.Dev && len(c.SecretKey) != 32:
		return bad("SecretKey must be 32 bytes (got %d) unless Dev", len(c.SecretKey))
	case c.Dev && len(c.SecretKey) != 0 && len(c.SecretKey) != 32:
		return bad("SecretKey must be 32 bytes (got %d)", len(c.SecretKey))
	case c.ProbeTimeout >= c.ProbeInterval:
		return bad("ProbeTimeout (%s) must be below ProbeInterval (%s)", c.ProbeTimeout, c.ProbeInterval)
	case c.SuspicionMult < 1 || c.SuspicionMaxTimeoutMult < 1 || c.GossipNodes < 1 ||
		c.RetransmitMult < 1 || c.IndirectChecks < 0:
		return bad("multipliers and counts must be positive")
	case c.ProbeInterval < 0 || c.GossipInterval < 0 || c.PushPullInterval < 0 || c.TCPTimeout < 0 ||
		c.TombstoneTTL < 0 || c.ReconnectInterval < 0 || c.OrphanGrace < 0 || c.SyncGrace < 0:
		return bad("durations must be positive")
	case c.PacketBufferSize < 512:
		return bad("PacketBufferSize must be at least 512")
	case c.EventQueueSize < 1:
		return bad("EventQueueSize must be positive")
	}
	return nil
}

// memberlistConfig translates c into memberlist's configuration (Transport is set by Start).
func (c *Config) memberlistConfig(d delegate, logw *logBridge) *memberlist.Config {
	mc := memberlist.DefaultLANConfig()
	mc.Name = c.NodeID
	mc.Label = c.ClusterName
	mc.BindAddr = c.BindAddr
	mc.BindPort = c.BindPort
	mc.AdvertiseAddr = c.AdvertiseAddr
	mc.AdvertisePort = c.AdvertisePort
	mc.ProbeInterval = c.ProbeInterval
	mc.ProbeTimeout = c.ProbeTimeout
	mc.IndirectChecks = c.IndirectChecks
	mc.SuspicionMult = c.SuspicionMult
	mc.SuspicionMaxTimeoutMult = c.SuspicionMaxTimeoutMult
	mc.GossipInterval = c.GossipInterval
	mc.GossipNodes = c.GossipNodes
	mc.RetransmitMult = c.RetransmitMult
	mc.PushPullInterval = c.PushPullInterval
	mc.TCPTimeout = c.TCPTimeout
	mc.GossipToTheDeadTime = c.GossipToTheDeadTime
	mc.UDPBufferSize = c.PacketBufferSize
	mc.DeadNodeReclaimTime = c.DeadNodeReclaimTime
	mc.SecretKey = c.SecretKey
	mc.GossipVerifyIncoming = true
	mc.GossipVerifyOutgoing = true
	mc.Delegate = d
	mc.DelegateProtocolVersion = wireVersion
	mc.DelegateProtocolMin = wireVersion
	mc.DelegateProtocolMax = wireVersion
	mc.Events = d
	mc.Ping = d
	mc.LogOutput = nil
	mc.Logger = logw.logger()
	return mc
}
