package relay

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/rs/zerolog"

	"github.com/edgemesh/edge/sfu"
	"github.com/edgemesh/edge/sfu/buffer"
)

// RemoteTrack is a track published on another node, presented as an
// sfu.TrackSource: sfu.NewDownTrack forwards from it exactly as from a local
// sfu.Receiver. It keeps one receive buffer per layer (its packet cache
// answers the down-tracks' NACKs locally), NACKs gaps upstream, forwards
// keyframe requests upstream (throttled per layer) and subscribes to exactly
// the union of the layers its sinks want, once per link however many sinks
// it has. It closes — closing its sinks — when the track ends on the peer,
// when the peer stays unreachable, or UnsubscribeDelay after its last sink
// left.
//
// All methods are safe for concurrent use.
type RemoteTrack struct {
	peer      *Peer
	sid       string
	publisher string // the publishing node's id as the subscriber knew it, or ""
	log       zerolog.Logger
	ready     chan struct{} // closed when the first metadata arrived
	done      chan struct{} // closed by close

	// Set once, before ready is closed.
	kind  webrtc.RTPCodecType
	codec webrtc.RTPCodecParameters

	available atomic.Uint32 // sfu.LayerMask the source has, as last announced
	sinks     sfu.SinkSet
	layers    [sfu.NumLayers]remoteLayer
	closed    atomic.Bool

	// mu guards everything below. Lock order: Peer.mu, then remoteLayer.mu,
	// then RemoteTrack.mu, then the sinks' locks and link.mu.
	mu        sync.Mutex
	l         *link // link the subscription is on; nil while there is none
	slot      uint64
	hasSlot   bool
	wanted    sfu.LayerMask
	metaSet   bool
	throttle  sfu.KeyframeThrottle
	linger    *time.Timer
	lingerGen uint64
	onClose   func()
	cause     error
}

var _ sfu.TrackSource = (*RemoteTrack)(nil)

// remoteLayer is the receive side of one layer of a RemoteTrack.
type remoteLayer struct {
	// mu serialises ingest (buffer push and fan-out) between the datagram
	// reader and the oversize-stream reader, and guards nack.
	mu   sync.Mutex
	buf  atomic.Pointer[buffer.Buffer] // created by the first packet
	nack nackTracker
	// restart asks ingest to start the layer afresh (new buffer, no pending
	// NACKs): set when the layer leaves or rejoins the subscription, since
	// the origin skipped its packets meanwhile.
	restart atomic.Bool
	tooOld  int       // consecutive packets the buffer refused as too old
	hold    layerHold // the sinks' sends held during a video frame
}

// tooOldRestart is how many consecutive too-old packets make a layer start
// afresh: its sequence numbers jumped further than the buffer can place.
const tooOldRestart = 16

func newRemoteTrack(p *Peer, sid, publisher string) *RemoteTrack {
	rt := &RemoteTrack{
		peer:      p,
		sid:       sid,
		publisher: publisher,
		log:       p.log.With().Str("track", sid).Logger(),
		ready:     make(chan struct{}),
		done:      make(chan struct{}),
		throttle:  sfu.NewKeyframeThrottle(p.ep.cfg.PLIThrottle),
	}
	for i := range rt.layers {
		rt.layers[i].nack = newNACKTracker(p.ep.cfg.NACKDelay)
	}
	return rt
}

// TrackID returns the track sid (sfu.TrackSource).
func (rt *RemoteTrack) TrackID() string { return rt.sid }

// PeerID returns the id of the node that publishes the track.
func (rt *RemoteTrack) PeerID() string { return rt.peer.id }

// Kind returns audio or video (sfu.TrackSource).
func (rt *RemoteTrack) Kind() webrtc.RTPCodecType { return rt.kind }

// Codec returns the publisher's codec (sfu.TrackSource).
func (rt *RemoteTrack) Codec() webrtc.RTPCodecParameters { return rt.codec }

// Layers returns the layers the source has on the publisher's node
// (sfu.TrackSource).
func (rt *RemoteTrack) Layers() sfu.LayerMask { return sfu.LayerMask(rt.available.Load()) }

// Subscribed returns the layers currently subscribed from the peer.
func (rt *RemoteTrack) Subscribed() sfu.LayerMask {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.wanted
}

// AddSink starts pushing packets to s (sfu.TrackSource); it fails with a
// wrapped ErrClosed once the track closed.
func (rt *RemoteTrack) AddSink(s sfu.PacketSink) error {
	if rt.closed.Load() {
		return fmt.Errorf("track %s: %w", rt.sid, ErrClosed)
	}
	rt.sinks.Add(s)
	if rt.closed.Load() && rt.sinks.Remove(s) {
		return fmt.Errorf("track %s: %w", rt.sid, ErrClosed)
	}
	rt.updateWanted()
	return nil
}

// RemoveSink stops pushing packets to s (sfu.TrackSource).
func (rt *RemoteTrack) RemoveSink(s sfu.PacketSink) {
	if rt.sinks.Remove(s) {
		rt.updateWanted()
	}
}

// SinkChanged re-subscribes if the layers s wants changed (sfu.TrackSource).
func (rt *RemoteTrack) SinkChanged(sfu.PacketSink) { rt.updateWanted() }

// NumSinks returns how many sinks the track feeds.
func (rt *RemoteTrack) NumSinks() int { return rt.sinks.Len() }

// updateWanted recomputes the union of the layers the sinks want and, when
// it changed, re-subscribes with it (the origin then asks its publisher for
// a keyframe on every added layer). Without sinks it starts the linger timer.
func (rt *RemoteTrack) updateWanted() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed.Load() {
		return
	}
	if rt.sinks.Len() == 0 {
		rt.startLinger()
	} else if rt.linger != nil {
		rt.linger.Stop()
		rt.linger = nil
	}
	m := rt.sinks.WantedLayers()
	if rt.kind == webrtc.RTPCodecTypeAudio && m != 0 {
		m = sfu.LayerBit(sfu.LayerLow)
	}
	if m == rt.wanted {
		return
	}
	for l := range int32(sfu.NumLayers) {
		if (m ^ rt.wanted).Has(l) {
			rt.layers[l].restart.Store(true)
		}
	}
	rt.wanted = m
	if rt.l != nil {
		rt.l.send(rt.subscribeMsg(m))
	}
}

// lingerIfUnused arms the unsubscribe timer if the track has no sinks.
func (rt *RemoteTrack) lingerIfUnused() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.sinks.Len() == 0 && !rt.closed.Load() {
		rt.startLinger()
	}
}

// startLinger arms the unsubscribe timer unless it runs. Called with mu held.
func (rt *RemoteTrack) startLinger() {
	if rt.linger != nil {
		return
	}
	rt.lingerGen++
	gen := rt.lingerGen
	rt.linger = time.AfterFunc(rt.peer.ep.cfg.UnsubscribeDelay, func() { rt.lingerExpired(gen) })
}

// lingerExpired closes the track if it still has no sinks.
func (rt *RemoteTrack) lingerExpired(gen uint64) {
	rt.mu.Lock()
	expired := rt.linger != nil && rt.lingerGen == gen && rt.sinks.Len() == 0
	rt.mu.Unlock()
	if expired {
		rt.close(fmt.Errorf("track %s has no sinks: %w", rt.sid, ErrClosed), true)
	}
}

// subscribeOn moves the subscription to link l (nil: none for now) and
// subscribes there. Called with Peer.mu held.
func (rt *RemoteTrack) subscribeOn(l *link) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed.Load() || rt.l == l {
		return
	}
	if old := rt.l; old != nil {
		if rt.hasSlot {
			old.setRemote(rt.slot, nil)
		}
		old.send(&unsubscribeMsg{TrackID: rt.sid}) // no-op if it is closed
	}
	rt.l, rt.hasSlot = l, false
	if l != nil {
		l.send(rt.subscribeMsg(rt.wanted))
	}
}

// subscribeMsg asks for layers m of the track.
func (rt *RemoteTrack) subscribeMsg(m sfu.LayerMask) *subscribeMsg {
	return &subscribeMsg{TrackID: rt.sid, Layers: uint8(m), Publisher: rt.publisher}
}

// onLink reports whether the subscription is on l.
func (rt *RemoteTrack) onLink(l *link) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.l == l
}

// subscribed binds the slot the peer assigned on l; the first answer also
// sets the track's metadata and releases Subscribe.
func (rt *RemoteTrack) subscribed(l *link, m *subscribedMsg) {
	rt.mu.Lock()
	if rt.closed.Load() || rt.l != l {
		rt.mu.Unlock()
		return
	}
	first := !rt.metaSet
	if first {
		// From now on a caller holds the track: it has UnsubscribeDelay to
		// add a sink.
		if rt.sinks.Len() == 0 {
			rt.startLinger()
		}
		rt.metaSet = true
		rt.kind = m.Meta.Kind
		rt.codec = webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: m.Meta.MimeType, ClockRate: m.Meta.ClockRate,
				Channels: m.Meta.Channels, SDPFmtpLine: m.Meta.FmtpLine,
			},
			PayloadType: webrtc.PayloadType(m.Meta.PayloadType),
		}
		rt.available.Store(uint32(m.Meta.Layers))
	}
	if rt.hasSlot && rt.slot != m.Slot {
		l.setRemote(rt.slot, nil)
	}
	rt.slot, rt.hasSlot = m.Slot, true
	l.setRemote(m.Slot, rt)
	rt.mu.Unlock()
	if first {
		close(rt.ready)
	}
}

// RequestKeyframe asks the publisher's node for a keyframe on layer, at most
// once per PLIThrottle per layer (sfu.TrackSource).
func (rt *RemoteTrack) RequestKeyframe(layer int32) {
	rt.mu.Lock()
	l, slot := rt.l, rt.slot
	allowed := rt.hasSlot && !rt.closed.Load() && rt.throttle.Allow(layer, time.Now().UnixNano())
	rt.mu.Unlock()
	if allowed {
		rt.peer.c.keyframeRequests.Add(1)
		l.send(&keyframeMsg{Slot: slot, Layer: layer})
	}
}

// ReadPacket copies the cached packet sn of layer into dst (sfu.TrackSource):
// subscribers' NACKs are answered from this node's cache.
func (rt *RemoteTrack) ReadPacket(layer int32, sn uint16, dst []byte) (int, error) {
	if layer < 0 || layer >= sfu.NumLayers {
		return 0, fmt.Errorf("read packet: layer %d: %w", layer, sfu.ErrInvalidLayer)
	}
	b := rt.layers[layer].buf.Load()
	if b == nil {
		return 0, fmt.Errorf("read packet: layer %d: %w", layer, sfu.ErrLayerNotFound)
	}
	n, err := b.ReadPacket(dst, sn)
	if err != nil {
		return 0, fmt.Errorf("read packet: layer %d sn %d: %w", layer, sn, err)
	}
	return n, nil
}

// SenderReport returns the publisher's last sender report for layer, as
// relayed by its node (sfu.TrackSource).
func (rt *RemoteTrack) SenderReport(layer int32) (buffer.SenderReport, bool) {
	if layer < 0 || layer >= sfu.NumLayers {
		return buffer.SenderReport{}, false
	}
	if b := rt.layers[layer].buf.Load(); b != nil {
		return b.LastSenderReport()
	}
	return buffer.SenderReport{}, false
}

// OnClose registers f (replacing any earlier one) to run once when the track
// closes; if it is closed already, f runs now. f runs on the closing
// goroutine, after the sinks were closed, and must not block.
func (rt *RemoteTrack) OnClose(f func()) {
	rt.mu.Lock()
	if !rt.closed.Load() {
		rt.onClose = f
		rt.mu.Unlock()
		return
	}
	rt.mu.Unlock()
	f()
}

// Done is closed when the track closes; Err then says why.
func (rt *RemoteTrack) Done() <-chan struct{} { return rt.done }

// Err returns why the track closed (ErrTrackEnded, ErrTrackNotFound,
// ErrLinkDown, ErrClosed), nil while it is open.
func (rt *RemoteTrack) Err() error { return rt.err() }

func (rt *RemoteTrack) err() error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.cause
}

// Close unsubscribes and closes the track and its sinks. Idempotent.
func (rt *RemoteTrack) Close() {
	rt.close(fmt.Errorf("track %s: %w", rt.sid, ErrClosed), true)
}

// close ends the track with cause; unsubscribe tells the peer.
func (rt *RemoteTrack) close(cause error, unsubscribe bool) {
	if !rt.closed.CompareAndSwap(false, true) {
		return
	}
	rt.mu.Lock()
	l, slot, hasSlot := rt.l, rt.slot, rt.hasSlot
	rt.l, rt.hasSlot = nil, false
	rt.cause = cause
	if rt.linger != nil {
		rt.linger.Stop()
		rt.linger = nil
	}
	f := rt.onClose
	rt.onClose = nil
	rt.mu.Unlock()
	close(rt.done)
	if l != nil {
		if hasSlot {
			l.setRemote(slot, nil)
		}
		if unsubscribe {
			l.send(&unsubscribeMsg{TrackID: rt.sid})
		}
	}
	rt.releaseHolds() // ingest sees closed once it has the layer's lock: no new hold
	rt.peer.forget(rt)
	for _, s := range rt.sinks.Detach() {
		s.Close()
	}
	if f != nil {
		f()
	}
	rt.log.Debug().Err(cause).Msg("remote track closed")
}
