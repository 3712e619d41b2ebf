package sfu

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/sfu/buffer"
)

// holdingSink is a PacketSink that can hold its sends (sendHolder): it records
// every packet's sequence number and how many packets each hold carried.
type holdingSink struct {
	slowFirst time.Duration // WriteRTP outside a hold sleeps this long (lets a burst queue up)

	mu       sync.Mutex
	depth    int
	inHold   int   // packets in the current hold
	holds    []int // packets carried by each released hold
	seqs     []uint16
	outsides int // packets written while not held
}

func (s *holdingSink) WriteRTP(p *buffer.ExtPacket, _ int32) {
	s.mu.Lock()
	s.seqs = append(s.seqs, p.Header.SequenceNumber)
	held := s.depth > 0
	if held {
		s.inHold++
	} else {
		s.outsides++
	}
	first := held && s.inHold == 1
	s.mu.Unlock()
	if first && s.slowFirst > 0 {
		time.Sleep(s.slowFirst)
	}
}

func (s *holdingSink) holdSends() netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.depth++
	s.inHold = 0
	return netip.MustParseAddrPort("127.0.0.1:9")
}

func (s *holdingSink) releaseSends(netip.AddrPort) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.depth--
	s.holds = append(s.holds, s.inHold)
}

func (s *holdingSink) WantedLayer() int32      { return LayerLow }
func (s *holdingSink) WantedLayers() LayerMask { return LayerBit(LayerLow) }
func (s *holdingSink) Close()                  {}

func (s *holdingSink) snapshot() (seqs []uint16, holds []int, depth, outsides int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]uint16(nil), s.seqs...), append([]int(nil), s.holds...), s.depth, s.outsides
}

// publishedReceiver connects a publisher PeerConnection sending track to a receiving one and
// returns the Receiver of the track there, calling write every 33 ms until the track arrives
// (the receiver has no sinks yet). The receiver is closed when the test ends.
func publishedReceiver(t *testing.T, track webrtc.TrackLocal, write func()) *Receiver {
	t.Helper()
	pub, sfuIn := newPC(t, newLoopbackAPI(t, nil)), newPC(t, newLoopbackAPI(t, nil))
	_, err := pub.AddTrack(track)
	require.NoError(t, err)
	receivers := make(chan *Receiver, 1)
	sfuIn.OnTrack(func(tr *webrtc.TrackRemote, rx *webrtc.RTPReceiver) {
		r := NewReceiver(ReceiverParams{TrackID: "TR_burst", Kind: tr.Kind(), Codec: tr.Codec(), Logger: zerolog.Nop()})
		if err := r.AddLayer(LayerLow, tr, rx); err != nil {
			t.Errorf("add layer: %v", err)
			return
		}
		receivers <- r
	})
	negotiate(t, pub, sfuIn)
	for i := 0; ; i++ {
		require.Less(t, i, 300, "publisher track did not arrive")
		write()
		select {
		case r := <-receivers:
			t.Cleanup(r.Close)
			time.Sleep(100 * time.Millisecond) // let what was sent so far drain
			return r
		case <-time.After(33 * time.Millisecond):
		}
	}
}

// TestReceiverBurstHoldsSends: a video frame's packets, queued behind its first one, are
// fanned out with every holding sink's sends held, one hold per burst; every packet reaches
// every sink once, in order, and every hold is released.
func TestReceiverBurstHoldsSends(t *testing.T) {
	if testing.Short() {
		t.Skip("real PeerConnections")
	}
	track, err := webrtc.NewTrackLocalStaticSample(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "pub")
	require.NoError(t, err)
	frame := make([]byte, 6000) // six packets at pion's 1200-byte MTU
	r := publishedReceiver(t, track, func() {
		require.NoError(t, track.WriteSample(media.Sample{Data: frame, Duration: 33 * time.Millisecond}))
	})

	// The first sink is slow on a burst's first packet, so the frame's other packets are
	// queued by the time the loop looks for them.
	sinks := []*holdingSink{{slowFirst: 3 * time.Millisecond}, {}, {}, {}, {}}
	for _, s := range sinks {
		require.NoError(t, r.AddSink(s))
	}
	const frames = 20
	for range frames {
		frame[0] = 0x01
		require.NoError(t, track.WriteSample(media.Sample{Data: frame, Duration: 33 * time.Millisecond}))
		time.Sleep(20 * time.Millisecond)
	}
	require.Eventually(t, func() bool {
		for _, s := range sinks {
			if seqs, _, _, _ := s.snapshot(); len(seqs) < frames*6 {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond, "every packet reaches every sink")

	want, _, _, _ := sinks[0].snapshot()
	for i := 1; i < len(want); i++ {
		require.Equal(t, want[i-1]+1, want[i], "sink 0: packet %d out of order", i)
	}
	for i, s := range sinks {
		seqs, holds, depth, outsides := s.snapshot()
		require.Equal(t, want, seqs, "sink %d saw other packets than sink 0", i)
		require.Zero(t, depth, "sink %d: a hold was never released", i)
		require.Zero(t, outsides, "sink %d: a video packet was written outside a hold", i)
		multi := 0
		for _, n := range holds {
			if n > 1 {
				multi++
			}
		}
		// Each frame's six packets: the first opens a hold, and the five queued behind it
		// (the slow sink makes sure of that) go in the same hold.
		require.GreaterOrEqual(t, multi, frames*3/4, "sink %d: holds %v", i, holds)
	}
}

// TestReceiverBurstLostLastPacket: when a frame's last packet (the marker) never comes, its
// burst ends at the burst deadline rather than waiting for the next frame, and every hold is
// released.
func TestReceiverBurstLostLastPacket(t *testing.T) {
	if testing.Short() {
		t.Skip("real PeerConnections")
	}
	track, err := webrtc.NewTrackLocalStaticRTP(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "pub")
	require.NoError(t, err)
	seq, ts := uint16(1000), uint32(0)
	payload := make([]byte, 1000)
	payload[0], payload[1] = 0x10, 0x01 // VP8 descriptor S=1, partition 0; payload header: interframe
	// frame writes a frame of n packets; the last carries the marker unless dropLast, in which
	// case it is not sent at all.
	frame := func(n int, dropLast bool) {
		ts += 3000
		for i := range n {
			last := i == n-1
			if !(last && dropLast) {
				require.NoError(t, track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96,
					SequenceNumber: seq, Timestamp: ts, Marker: last}, Payload: payload}))
			}
			seq++
		}
	}
	r := publishedReceiver(t, track, func() { frame(1, false) })

	sinks := []*holdingSink{{}, {}, {}, {}}
	for _, s := range sinks {
		require.NoError(t, r.AddSink(s))
	}
	frame(4, false)
	time.Sleep(30 * time.Millisecond)
	frame(4, true) // three packets arrive; the marker never does
	time.Sleep(4 * BurstMaxHold)
	frame(4, false)
	require.Eventually(t, func() bool {
		seqs, _, _, _ := sinks[3].snapshot()
		return len(seqs) == 11
	}, 5*time.Second, 5*time.Millisecond, "every sent packet reaches the sinks")
	for i, s := range sinks {
		seqs, holds, depth, outsides := s.snapshot()
		require.Len(t, seqs, 11, "sink %d", i)
		require.Zero(t, depth, "sink %d: a hold was never released", i)
		require.Zero(t, outsides, "sink %d", i)
		require.Equal(t, []int{4, 3, 4}, holds, "sink %d: one hold per frame; the frame without its "+
			"last packet ends at the deadline, not with the next frame", i)
	}
}
