package sfu

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/sfu/buffer"
	"github.com/edgemesh/edge/sfu/codec"
)

const (
	simFrameInterval = int64(33 * time.Millisecond)
	simTSPerFrame    = 3000 // 90 kHz at ~30 fps
	simPktsPerFrame  = 2
)

// simLayer is the sending state of one simulated simulcast layer.
type simLayer struct {
	seq  uint64
	ts   uint32
	pid  uint16
	mbit bool // 15-bit picture ids
	tl0  uint8
}

// simOut is one packet offered to the forwarder and its verdict.
type simOut struct {
	layer int32
	frame int // global frame index
	key   bool
	pkt   buffer.ExtPacket
	d     decision
}

// sim feeds a forwarder with VP8 simulcast frames, all layers interleaved
// packet by packet as a publisher would send them.
type sim struct {
	t      *testing.T
	f      *forwarder
	layers [NumLayers]simLayer
	now    int64
	frames int
	out    []simOut
}

func newSim(t *testing.T, maxLayer int32) *sim {
	t.Helper()
	s := &sim{
		t:   t,
		f:   newForwarder(forwarderParams{video: true, vp8: true, clockRate: 90000, maxLayer: maxLayer}),
		now: int64(time.Hour),
	}
	// Independent sequence, timestamp and picture-id spaces per layer, close
	// to their wrap points so wrap-around is exercised too.
	s.layers[0] = simLayer{seq: 65530, ts: 4294960000, pid: 120, tl0: 250}
	s.layers[1] = simLayer{seq: 1000, ts: 5000000, pid: 32760, mbit: true, tl0: 3}
	s.layers[2] = simLayer{seq: 40000, ts: 77, pid: 7, mbit: true, tl0: 100}
	return s
}

func bit(l int32) uint8 { return 1 << uint(l) }

const allLayers = 0b111

// frame emits one frame on every layer in active; layers in key send a
// keyframe. Packets are interleaved across layers.
func (s *sim) frame(active, key uint8) {
	s.now += simFrameInterval
	var pkts [NumLayers][simPktsPerFrame]buffer.ExtPacket
	for l := int32(0); l < NumLayers; l++ {
		if active&bit(l) == 0 {
			continue
		}
		ly := &s.layers[l]
		ly.ts += simTSPerFrame
		if ly.mbit {
			ly.pid = (ly.pid + 1) & 0x7FFF
		} else {
			ly.pid = (ly.pid + 1) & 0x7F
		}
		ly.tl0++
		for i := range simPktsPerFrame {
			p := &pkts[l][i]
			p.Arrival = s.now
			p.ExtSeq = ly.seq
			p.Header.SequenceNumber = uint16(ly.seq)
			p.Header.Timestamp = ly.ts
			p.Header.Marker = i == simPktsPerFrame-1
			p.Payload = []byte{0x90, 0x80, 0, 0, 0, 0xAA}
			p.VP8 = codec.VP8{
				S: i == 0, HasPictureID: true, PictureID: ly.pid, MBit: ly.mbit,
				HasTL0PICIDX: true, TL0PICIDX: ly.tl0, HeaderSize: 4,
			}
			p.KeyFrame = i == 0 && key&bit(l) != 0
			p.VP8.IsKeyframe = p.KeyFrame
			ly.seq++
		}
	}
	for i := range simPktsPerFrame {
		for l := int32(0); l < NumLayers; l++ {
			if active&bit(l) != 0 {
				s.offer(&pkts[l][i], l, s.frames)
			}
		}
	}
	s.frames++
}

// frames emits n frames.
func (s *sim) framesN(n int, active, key uint8) {
	for range n {
		s.frame(active, key)
	}
}

func (s *sim) offer(p *buffer.ExtPacket, layer int32, frame int) {
	d := s.f.process(p, layer)
	s.out = append(s.out, simOut{layer: layer, frame: frame, key: p.KeyFrame, pkt: *p, d: d})
}

// forwarded returns the forwarded packets in order.
func (s *sim) forwarded() []simOut {
	var fw []simOut
	for _, o := range s.out {
		if o.d.drop == forwardPacket {
			fw = append(fw, o)
		}
	}
	return fw
}

// layerAt returns the layer forwarded last in frame, LayerNone if none.
func (s *sim) layerAt(frame int) int32 {
	l := LayerNone
	for _, o := range s.forwarded() {
		if o.frame == frame {
			l = o.layer
		}
	}
	return l
}

// keyframeRequests returns the layers keyframes were requested for.
func (s *sim) keyframeRequests() []int32 {
	var r []int32
	for _, o := range s.out {
		if o.d.keyframe != LayerNone {
			r = append(r, o.d.keyframe)
		}
	}
	return r
}

// requireContinuous checks the invariants of the outgoing stream: sequence
// numbers without gaps, timestamps increasing per frame, picture ids and
// TL0PICIDX incremented by exactly one per frame, layer changes only at
// keyframes.
func requireContinuous(t *testing.T, fw []simOut) {
	t.Helper()
	for i := 1; i < len(fw); i++ {
		prev, cur := fw[i-1], fw[i]
		require.Equal(t, prev.d.sn+1, cur.d.sn, "sequence gap at forwarded packet %d", i)
		if cur.layer != prev.layer {
			require.True(t, cur.key, "layer switch %d→%d at frame %d without keyframe", prev.layer, cur.layer, cur.frame)
		}
		if cur.frame == prev.frame && cur.layer == prev.layer {
			require.Equal(t, prev.d.ts, cur.d.ts, "timestamp within a frame")
			require.Equal(t, prev.d.vp8.pictureID, cur.d.vp8.pictureID, "picture id within a frame")
			require.Equal(t, prev.d.vp8.tl0PicIdx, cur.d.vp8.tl0PicIdx)
			continue
		}
		require.Positive(t, int32(cur.d.ts-prev.d.ts), "timestamp not increasing at frame %d", cur.frame)
		require.Equal(t, (prev.d.vp8.pictureID+1)&0x7FFF, cur.d.vp8.pictureID, "picture id at frame %d", cur.frame)
		require.Equal(t, prev.d.vp8.tl0PicIdx+1, cur.d.vp8.tl0PicIdx, "TL0PICIDX at frame %d", cur.frame)
	}
}
