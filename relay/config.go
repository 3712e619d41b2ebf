package relay

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/rs/zerolog"

	"github.com/edgemesh/edge/sfu"
)

// LocalTracks resolves the tracks this node serves to its peers. The node
// implements it (with its local Receivers). LookupTrack runs on a goroutine of
// its own per subscription being set up, so it may take a while (a node that
// relays the track may first subscribe to it elsewhere); ctx ends when the
// link closes.
type LocalTracks interface {
	// LookupTrack returns the source of the track with sid trackSid, or
	// false if this node does not serve it. publisher is the id of the node
	// that publishes the track as the peer knows it, or "".
	LookupTrack(ctx context.Context, trackSid, publisher string) (sfu.TrackSource, bool)
}

// Defaults of Config fields.
const (
	DefaultIdleTimeout      = 30 * time.Second
	DefaultUnsubscribeDelay = time.Second
	DefaultRedialMin        = 100 * time.Millisecond
	DefaultRedialMax        = 5 * time.Second
	DefaultRedialGiveUp     = 30 * time.Second
	DefaultKeepAlive        = 2 * time.Second
	DefaultLinkTimeout      = 10 * time.Second
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultSendQueue        = 2048
	DefaultNACKDelay        = 10 * time.Millisecond
)

// Config configures an Endpoint. Zero fields select the documented defaults;
// NodeID and ClusterKey are required.
type Config struct {
	// NodeID is this node's id; it is the name in its certificate, and what
	// peers dial it by.
	NodeID string
	// ClusterKey is the ClusterKeySize-byte secret shared by every node of
	// the cluster. A peer without it cannot complete the TLS handshake.
	ClusterKey []byte
	// ListenAddr is the UDP address to listen on, e.g. ":7883" or
	// "127.0.0.1:0". Ignored when PacketConn is set.
	ListenAddr string
	// PacketConn, if set, is the socket to use instead of opening
	// ListenAddr (tests wrap one to inject loss). The Endpoint does not close
	// it.
	PacketConn net.PacketConn
	// Tracks resolves the tracks peers subscribe to; nil serves none.
	Tracks LocalTracks
	// OnData receives the data messages peers send. It runs on a link's
	// reader goroutine: it must not block, and it owns m.Payload. nil drops
	// them.
	OnData func(from string, m DataMessage)

	// IdleTimeout closes a link that serves no track, carries no
	// subscription of this node and saw no data for that long.
	IdleTimeout time.Duration
	// UnsubscribeDelay is how long a RemoteTrack without sinks lingers before
	// it unsubscribes and closes. It must stay below 2s.
	UnsubscribeDelay time.Duration
	// RedialMin and RedialMax bound the exponential backoff between dials of
	// a peer whose link died while this node had subscriptions on it.
	RedialMin, RedialMax time.Duration
	// RedialGiveUp closes the peer's RemoteTracks (their down-tracks close)
	// when it stayed unreachable that long.
	RedialGiveUp time.Duration
	// KeepAlive is the QUIC keep-alive period; LinkTimeout the QUIC idle
	// timeout after which a silent link is declared dead.
	KeepAlive, LinkTimeout time.Duration
	// HandshakeTimeout bounds the QUIC/TLS handshake and the hello exchange.
	HandshakeTimeout time.Duration
	// SendQueue is the capacity, in packets, of a link's outgoing media
	// queue. The fan-out never waits on it: a packet that does not fit is
	// dropped and counted.
	SendQueue int
	// NACKDelay is how long a gap in a relayed stream may wait for a
	// reordered packet before it is NACKed upstream.
	NACKDelay time.Duration
	// PLIThrottle is the minimum interval between keyframe requests per
	// layer sent upstream by a RemoteTrack; 0 selects sfu.DefaultPLIThrottle.
	PLIThrottle time.Duration
	// Logger is the parent logger; the endpoint adds its fields.
	Logger zerolog.Logger
}

// withDefaults returns c with zero fields defaulted.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.IdleTimeout, DefaultIdleTimeout)
	def(&c.UnsubscribeDelay, DefaultUnsubscribeDelay)
	def(&c.RedialMin, DefaultRedialMin)
	def(&c.RedialMax, DefaultRedialMax)
	def(&c.RedialGiveUp, DefaultRedialGiveUp)
	def(&c.KeepAlive, DefaultKeepAlive)
	def(&c.LinkTimeout, DefaultLinkTimeout)
	def(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	def(&c.NACKDelay, DefaultNACKDelay)
	def(&c.PLIThrottle, sfu.DefaultPLIThrottle)
	if c.SendQueue <= 0 {
		c.SendQueue = DefaultSendQueue
	}
	if c.ListenAddr == "" {
		c.ListenAddr = ":7883"
	}
	return c
}

// validate checks a defaulted Config.
func (c Config) validate() error {
	switch {
	case c.NodeID == "" || len(c.NodeID) > maxStringLen:
		return fmt.Errorf("node id %q: %w", c.NodeID, ErrInvalidConfig)
	case len(c.ClusterKey) != ClusterKeySize:
		return fmt.Errorf("cluster key of %d bytes, want %d: %w", len(c.ClusterKey), ClusterKeySize, ErrInvalidConfig)
	case c.UnsubscribeDelay >= 2*time.Second:
		return fmt.Errorf("unsubscribe delay %v must be below 2s: %w", c.UnsubscribeDelay, ErrInvalidConfig)
	case c.RedialMax < c.RedialMin:
		return fmt.Errorf("redial max %v below min %v: %w", c.RedialMax, c.RedialMin, ErrInvalidConfig)
	case c.KeepAlive >= c.LinkTimeout:
		return fmt.Errorf("keep-alive %v must be below the link timeout %v: %w", c.KeepAlive, c.LinkTimeout, ErrInvalidConfig)
	}
	return nil
}
