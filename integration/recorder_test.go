package integration

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// rtpRecord is what a subscriber learned from one received RTP packet.
type rtpRecord struct {
	seq    uint16
	ts     uint32
	ssrc   uint32
	marker bool

	// Video only.
	padding    bool // no payload (padding/probe packet)
	frameStart bool // first packet of a VP8 frame (S=1, PID=0)
	keyframe   bool // frameStart of a keyframe
	layer      int  // simulcast layer index from the payload marker; -1 for padding
	counter    uint32
	width      uint16
	height     uint16
}

// trackRecorder reads every RTP packet of one subscribed remote track and records it.
//
// Concurrency: run owns the read loop; all other methods may be called from any goroutine.
type trackRecorder struct {
	kind      lksdk.TrackKind
	sid       string
	publisher string

	packets atomic.Int64
	done    chan struct{}

	mu       sync.Mutex // guards recs and firstErr
	recs     []rtpRecord
	firstErr error
}

func newTrackRecorder(kind lksdk.TrackKind, sid, publisher string) *trackRecorder {
	return &trackRecorder{kind: kind, sid: sid, publisher: publisher, done: make(chan struct{})}
}

// run reads track until it ends (the peer connection closes). It returns when done is closed.
func (r *trackRecorder) run(track *webrtc.TrackRemote) {
	defer close(r.done)
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		rec := rtpRecord{
			seq: pkt.SequenceNumber, ts: pkt.Timestamp, ssrc: pkt.SSRC, marker: pkt.Marker, layer: -1,
		}
		var perr error
		switch r.kind {
		case lksdk.TrackKindVideo:
			perr = classifyVP8(pkt, &rec)
		case lksdk.TrackKindAudio:
			perr = checkOpus(pkt)
		}
		r.packets.Add(1)
		r.mu.Lock()
		r.recs = append(r.recs, rec)
		if perr != nil && r.firstErr == nil {
			r.firstErr = fmt.Errorf("packet seq %d: %w", pkt.SequenceNumber, perr)
		}
		r.mu.Unlock()
	}
}

var (
	errUnknownFiller = errors.New("continuation packet with unknown filler byte")
	errNotOpus       = errors.New("audio payload is not the synthetic Opus frame")
)

// checkOpus verifies that an audio packet carries an unmodified frame of opusSource.
func checkOpus(pkt *rtp.Packet) error {
	p := pkt.Payload
	if len(p) != opusFrameSize || p[0] != opusTOC || p[1] != markerMagic0 || p[2] != markerMagic1 ||
		p[len(p)-1] != opusFiller {
		return fmt.Errorf("%w (%d bytes)", errNotOpus, len(p))
	}
	return nil
}

// classifyVP8 fills the video fields of rec from a VP8 RTP packet (RFC 7741 descriptor, then
// the frame written by buildVP8Frame).
func classifyVP8(pkt *rtp.Packet, rec *rtpRecord) error {
	if len(pkt.Payload) == 0 {
		rec.padding = true
		return nil
	}
	var d codecs.VP8Packet
	payload, err := d.Unmarshal(pkt.Payload)
	if err != nil {
		return fmt.Errorf("VP8 descriptor: %w", err)
	}
	if len(payload) == 0 {
		return errNotMarked
	}
	if d.S == 1 && d.PID == 0 {
		f, err := parseVP8Frame(payload)
		if err != nil {
			return err
		}
		rec.frameStart = true
		rec.keyframe = f.keyframe
		rec.layer = f.layer
		rec.counter = f.counter
		rec.width, rec.height = f.width, f.height
		return nil
	}
	if payload[0]&0xf0 != fillerBase {
		return fmt.Errorf("%w 0x%02x", errUnknownFiller, payload[0])
	}
	rec.layer = int(payload[0] & 0x0f)
	return nil
}

// count is the number of packets received so far.
func (r *trackRecorder) count() int64 { return r.packets.Load() }

// snapshot returns a copy of the records received so far.
func (r *trackRecorder) snapshot() []rtpRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]rtpRecord, len(r.recs))
	copy(out, r.recs)
	return out
}

// err is the first payload parse error seen, if any.
func (r *trackRecorder) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.firstErr
}

// lastLayer is the layer of the most recent media (non-padding) packet, -1 if none yet.
func (r *trackRecorder) lastLayer() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.recs) - 1; i >= 0; i-- {
		if !r.recs[i].padding {
			return r.recs[i].layer
		}
	}
	return -1
}

// settledOn reports whether the last n frames that started were all of layer (and at least n
// frames started).
func (r *trackRecorder) settledOn(layer, n int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := 0
	for i := len(r.recs) - 1; i >= 0 && seen < n; i-- {
		if !r.recs[i].frameStart {
			continue
		}
		if r.recs[i].layer != layer {
			return false
		}
		seen++
	}
	return seen == n
}

// framesOfLayerSince counts frame starts of layer among records with index >= from.
func (r *trackRecorder) framesOfLayerSince(from, layer int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for i := from; i < len(r.recs); i++ {
		if r.recs[i].frameStart && r.recs[i].layer == layer {
			n++
		}
	}
	return n
}

// size is the number of records so far (an index usable with framesOfLayerSince).
func (r *trackRecorder) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.recs)
}

// seqWindowLoss counts the packets of a measuring window that never arrived. The window is given
// by arrival positions in recs (start inclusive, end exclusive) but measured in sequence
// numbers (unwrapped in arrival order): from just past the newest sequence number that arrived
// before start to the newest that arrived before end. A packet counts as received if it arrived
// at any time in recs, so a retransmission that lands after end, or a late one of a packet
// before the window that lands inside it, does not distort the count.
func seqWindowLoss(recs []rtpRecord, start, end int) (missing, expected int) {
	if end <= start || end > len(recs) {
		return 0, 0
	}
	ext := make([]int64, len(recs))
	ext[0] = int64(recs[0].seq)
	for i := 1; i < len(recs); i++ {
		ext[i] = ext[i-1] + int64(int16(recs[i].seq-recs[i-1].seq))
	}
	lo := ext[start]
	if start > 0 {
		lo = slices.Max(ext[:start]) + 1
	}
	hi := slices.Max(ext[:end])
	got := make(map[int64]bool, len(ext))
	for _, e := range ext {
		got[e] = true
	}
	for s := lo; s <= hi; s++ {
		if !got[s] {
			missing++
		}
	}
	return missing, int(max(hi-lo+1, 0))
}
