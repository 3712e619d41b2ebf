package relay

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/edgemesh/edge/sfu"
	"github.com/edgemesh/edge/sfu/buffer"
)

// layerActiveTimeout is how long a layer may stay silent at the source before
// a feed forwards a fallback layer in its place.
const layerActiveTimeout = int64(1500 * time.Millisecond)

// feed is the serving side of one subscription: the sfu.PacketSink a link
// attaches to a local TrackSource for its peer. It forwards only the layers
// the peer subscribed to — or, for a subscribed layer the source does not
// send at the moment, the nearest layer it does send — as datagrams, one copy
// per link however many subscribers the peer has. Its wanted layers count for
// the source's dynacast like a local down-track's.
type feed struct {
	l         *link
	src       sfu.TrackSource
	sid       string
	slot      uint64
	audio     bool
	clockRate uint32

	wanted   atomic.Uint32 // sfu.LayerMask the peer asked for
	forward  atomic.Uint32 // sfu.LayerMask forwarded now
	lastSeen [sfu.NumLayers]atomic.Int64
	layers   atomic.Uint32 // source layer set last announced to the peer
	detached atomic.Bool

	mu sync.Mutex // serialises refresh (control reader and housekeeping)

	srSent [sfu.NumLayers]int64 // arrival of the last relayed SR; housekeeping only
}

var _ sfu.PacketSink = (*feed)(nil)

// WriteRTP forwards p if its layer is forwarded (sfu.PacketSink). It copies
// the packet into a pooled buffer and queues it on the link; it never blocks
// and does not allocate.
func (f *feed) WriteRTP(p *buffer.ExtPacket, layer int32) {
	if layer < 0 || layer >= sfu.NumLayers || f.detached.Load() {
		return
	}
	if p.Arrival > f.lastSeen[layer].Load() {
		f.lastSeen[layer].Store(p.Arrival)
	}
	if sfu.LayerMask(f.forward.Load()).Has(layer) {
		f.l.sendMedia(f.slot, layer, f.kind(layer), p.Raw)
	}
}

// WantedLayer is the highest layer the peer subscribed to (sfu.PacketSink).
func (f *feed) WantedLayer() int32 { return f.WantedLayers().Max() }

// WantedLayers is the set of layers the peer subscribed to (sfu.PacketSink).
func (f *feed) WantedLayers() sfu.LayerMask {
	if f.detached.Load() {
		return 0
	}
	return sfu.LayerMask(f.wanted.Load())
}

// Close is called by the source when the track ends (sfu.PacketSink): the
// peer is told and the subscription removed.
func (f *feed) Close() {
	if !f.detached.CompareAndSwap(false, true) {
		return
	}
	f.l.removeFeed(f)
	f.l.send(&trackEndedMsg{Slot: f.slot})
}

// detach removes the feed from its source (unsubscribe, link closed).
func (f *feed) detach() {
	if f.detached.CompareAndSwap(false, true) {
		f.src.RemoveSink(f)
	}
}

func (f *feed) kind(layer int32) kindIndex {
	if f.audio {
		return kindAudio
	}
	return kindVideo0 + kindIndex(layer)
}

// refresh recomputes the forwarded layers from the wanted ones and the layers
// the source sent recently, and asks the source for a keyframe on every layer
// newly forwarded (the peer's decoders switch at keyframes).
func (f *feed) refresh(now time.Time) {
	f.mu.Lock()
	var active sfu.LayerMask
	for l := range int32(sfu.NumLayers) {
		if seen := f.lastSeen[l].Load(); seen > 0 && now.UnixNano()-seen < layerActiveTimeout {
			active |= sfu.LayerBit(l)
		}
	}
	fwd := forwardSet(sfu.LayerMask(f.wanted.Load()), active, f.audio)
	added := fwd &^ sfu.LayerMask(f.forward.Swap(uint32(fwd)))
	f.mu.Unlock()
	if f.audio {
		return
	}
	for l := range int32(sfu.NumLayers) {
		if added.Has(l) {
			f.src.RequestKeyframe(l)
		}
	}
}

// forwardSet returns the layers to forward for the wanted ones: each wanted
// layer the source sends, else the highest active layer below it, else the
// lowest above it. Before any layer was seen it is the wanted set; audio
// has layer 0 only.
func forwardSet(wanted, active sfu.LayerMask, audio bool) sfu.LayerMask {
	if audio {
		if wanted != 0 {
			return sfu.LayerBit(sfu.LayerLow)
		}
		return 0
	}
	if active == 0 {
		return wanted
	}
	var fwd sfu.LayerMask
	for l := range int32(sfu.NumLayers) {
		if wanted.Has(l) {
			fwd |= sfu.LayerBit(nearestActive(l, active))
		}
	}
	return fwd
}

// nearestActive returns l if active, else the highest active layer below l,
// else the lowest above it. active must not be empty.
func nearestActive(l int32, active sfu.LayerMask) int32 {
	for c := l; c >= 0; c-- {
		if active.Has(c) {
			return c
		}
	}
	for c := l + 1; c < sfu.NumLayers; c++ {
		if active.Has(c) {
			return c
		}
	}
	return l
}

// report relays the source's new sender reports for the forwarded layers,
// moved to now, and announces a changed layer set. Housekeeping only.
func (f *feed) report(now time.Time) {
	fwd := sfu.LayerMask(f.forward.Load())
	for l := range int32(sfu.NumLayers) {
		if !fwd.Has(l) {
			continue
		}
		sr, ok := f.src.SenderReport(l)
		if !ok || sr.Arrival.UnixNano() == f.srSent[l] {
			continue
		}
		f.srSent[l] = sr.Arrival.UnixNano()
		elapsed := max(now.Sub(sr.Arrival), 0)
		ticks := uint64(elapsed) / 1000 * uint64(f.clockRate) / 1_000_000
		f.l.send(&senderReportMsg{Slot: f.slot, Layer: l,
			NTPTime: sr.NTPTime + durationToNTP(elapsed), RTPTime: sr.RTPTime + uint32(ticks)})
	}
	if m := uint32(f.src.Layers()); f.layers.Swap(m) != m {
		f.l.send(&layersMsg{Slot: f.slot, Layers: uint8(m)})
	}
}

// durationToNTP converts a non-negative duration to 32.32 fixed-point NTP.
func durationToNTP(d time.Duration) uint64 {
	secs := uint64(d / time.Second)
	frac := uint64(d % time.Second)
	return secs<<32 | (frac<<32)/uint64(time.Second)
}

// pendingLookup is a subscription whose track is being looked up.
type pendingLookup struct {
	layers uint8 // the latest layer set the peer asked for; guarded by link.mu
}

// maxPendingLookups bounds the lookups one link runs at once; a peer that asks
// for more gets "not available" for the excess.
const maxPendingLookups = 256

// serveSubscribe creates or updates the feed of a track for the peer and
// answers with its slot and metadata. A new feed's track is looked up on a
// goroutine of its own (a relaying node may first have to subscribe to it
// elsewhere), so the control stream goes on meanwhile; subscribes that arrive
// during the lookup only update the layer set, and one answer follows it.
func (l *link) serveSubscribe(m *subscribeMsg) {
	l.touch()
	l.mu.Lock()
	f := l.feeds[m.TrackID]
	if f == nil {
		if p := l.pending[m.TrackID]; p != nil {
			p.layers = m.Layers
			l.mu.Unlock()
			return
		}
		if len(l.pending) >= maxPendingLookups {
			l.mu.Unlock()
			l.send(&subscribeErrorMsg{TrackID: m.TrackID, Code: subErrNotFound, Reason: "too many lookups"})
			return
		}
		p := &pendingLookup{layers: m.Layers}
		l.pending[m.TrackID] = p
		l.mu.Unlock()
		l.wg.Add(1) // the control reader counts in wg, so Wait has not returned
		go func() {
			defer l.wg.Done()
			l.lookup(m.TrackID, m.Publisher, p)
		}()
		return
	}
	l.mu.Unlock()
	if old := f.wanted.Swap(uint32(m.Layers)); old != uint32(m.Layers) {
		f.refresh(time.Now())
		f.src.SinkChanged(f)
	}
	l.sendSubscribed(f)
}

// lookup resolves a pending subscription: it attaches a feed to the track's
// source and answers, unless the peer unsubscribed meanwhile.
func (l *link) lookup(sid, publisher string, p *pendingLookup) {
	var src sfu.TrackSource
	if tracks := l.ep.cfg.Tracks; tracks != nil {
		if s, ok := tracks.LookupTrack(l.ctx, sid, publisher); ok {
			src = s
		}
	}
	f, code := l.newFeed(sid, src, p)
	switch {
	case f != nil:
		l.sendSubscribed(f)
	case code != 0:
		l.send(&subscribeErrorMsg{TrackID: sid, Code: code, Reason: "track not available"})
	}
}

func (l *link) sendSubscribed(f *feed) {
	c := f.src.Codec()
	l.send(&subscribedMsg{TrackID: f.sid, Slot: f.slot, Meta: trackMeta{
		Kind:        f.src.Kind(),
		Layers:      uint8(f.layers.Load()),
		PayloadType: uint8(c.PayloadType),
		ClockRate:   c.ClockRate,
		Channels:    c.Channels,
		MimeType:    c.MimeType,
		FmtpLine:    c.SDPFmtpLine,
	}})
}

// newFeed ends the pending lookup p of track sid and attaches a feed of it to
// src (nil: the track is not available). It returns nil and a subscribe error
// code if there is no feed, or nil and 0 if the peer no longer waits for an
// answer (it unsubscribed, or the link closed).
func (l *link) newFeed(sid string, src sfu.TrackSource, p *pendingLookup) (*feed, byte) {
	l.mu.Lock()
	if l.pending[sid] != p || l.closed.Load() {
		l.mu.Unlock()
		return nil, 0
	}
	delete(l.pending, sid)
	if src == nil {
		l.mu.Unlock()
		return nil, subErrNotFound
	}
	f := &feed{
		l: l, src: src, sid: sid,
		audio:     src.Kind() == webrtc.RTPCodecTypeAudio,
		clockRate: src.Codec().ClockRate,
	}
	f.wanted.Store(uint32(p.layers))
	f.layers.Store(uint32(src.Layers()))
	f.refresh(time.Now())
	f.slot = l.nextSlot
	l.nextSlot++
	l.feeds[sid] = f
	l.feedSlots[f.slot] = f
	l.mu.Unlock()
	if err := src.AddSink(f); err != nil {
		f.detached.Store(true)
		l.removeFeed(f)
		return nil, subErrClosed
	}
	return f, 0
}

// serveUnsubscribe removes the peer's feed of track sid.
func (l *link) serveUnsubscribe(sid string) {
	l.touch()
	l.mu.Lock()
	f := l.feeds[sid]
	delete(l.pending, sid) // a lookup under way is dropped when it ends
	l.mu.Unlock()
	if f != nil {
		l.removeFeed(f)
		f.detach()
	}
}

// removeFeed forgets f (its slot is never reused on this link).
func (l *link) removeFeed(f *feed) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.feeds[f.sid] == f {
		delete(l.feeds, f.sid)
		delete(l.feedSlots, f.slot)
	}
}

func (l *link) feedBySlot(slot uint64) *feed {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.feedSlots[slot]
}

// feedList returns the link's feeds.
func (l *link) feedList() []*feed {
	l.mu.Lock()
	defer l.mu.Unlock()
	fs := make([]*feed, 0, len(l.feeds))
	for _, f := range l.feeds {
		fs = append(fs, f)
	}
	return fs
}

// serveNACK retransmits the NACKed packets from the source's cache.
func (l *link) serveNACK(m *nackMsg) {
	f := l.feedBySlot(m.Slot)
	if f == nil {
		return
	}
	l.c.nacksReceived.Add(uint64(len(m.SNs)))
	for _, sn := range m.SNs {
		b := l.ep.getBuf()
		h := appendMediaHeader(b.data[:0], f.slot, m.Layer)
		n, err := f.src.ReadPacket(m.Layer, sn, b.data[len(h):])
		if err != nil {
			l.c.rtxMisses.Add(1)
			l.ep.putBuf(b)
			continue
		}
		b.n = len(h) + n
		b.kind = f.kind(m.Layer)
		if l.enqueue(b) {
			l.c.retransmits.Add(1)
		}
	}
}
