package relay

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/sfu"
)

// countingBatcher is an sfu.SendBatcher that counts holds and releases and the packets its
// down-track wrote while held.
type countingBatcher struct {
	mu       sync.Mutex
	depth    int
	holds    int
	releases int
}

func (b *countingBatcher) Hold() netip.AddrPort {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.depth++
	b.holds++
	return netip.MustParseAddrPort("127.0.0.1:9")
}

func (b *countingBatcher) Release(netip.AddrPort) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.depth--
	b.releases++
}

func (b *countingBatcher) state() (depth, holds, releases int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.depth, b.holds, b.releases
}

// TestRemoteTrackHoldsFrames: a relayed video frame is fanned out with the down-tracks' sends
// held from its first packet to its last (the marker); a frame whose last packet never comes
// is released by the timer after sfu.BurstMaxHold; closing the track releases a hold.
func TestRemoteTrackHoldsFrames(t *testing.T) {
	t.Parallel()
	rt := benchTrack(t)
	w := &countingWriter{}
	var batchers []*countingBatcher
	for i := range sfu.BurstMinSinks {
		b := &countingBatcher{}
		batchers = append(batchers, b)
		dt, err := sfu.NewDownTrack(sfu.DownTrackParams{Source: rt, MaxLayer: sfu.LayerLow,
			Logger: zerolog.Nop(), Batcher: b})
		require.NoError(t, err)
		_, err = dt.Bind(&fakeContext{codecs: []webrtc.RTPCodecParameters{vp8Codec},
			ssrc: webrtc.SSRC(100 + i), writer: w})
		require.NoError(t, err)
		t.Cleanup(dt.Close)
	}
	raw := vp8Packet(t, 1000)
	seq, ts := uint16(1), uint32(3000)
	// frame ingests n packets of one frame; the last has the marker unless open.
	frame := func(n int, open bool) {
		for i := range n {
			binary.BigEndian.PutUint16(raw[2:], seq)
			binary.BigEndian.PutUint32(raw[4:], ts)
			raw[1] = 96
			if i == n-1 && !open {
				raw[1] |= 0x80
			}
			rt.ingest(sfu.LayerLow, raw, time.Now())
			raw[12+4] = 0x01 // later packets are delta frames
			seq++
		}
		ts += 3000
	}
	check := func(wantDepth, wantHolds int, msg string) {
		t.Helper()
		for i, b := range batchers {
			depth, holds, releases := b.state()
			require.Equal(t, wantDepth, depth, "%s: batcher %d depth", msg, i)
			require.Equal(t, wantHolds, holds, "%s: batcher %d holds", msg, i)
			require.Equal(t, holds-depth, releases, "%s: batcher %d releases", msg, i)
		}
	}

	frame(4, false)
	check(0, 1, "a whole frame")
	require.Equal(t, uint64(4*len(batchers)), w.n.Load(), "every packet written")
	frame(1, false)
	check(0, 1, "a one-packet frame is not held")

	frame(3, true) // the last packet is lost
	check(1, 2, "a frame without its last packet stays held")
	require.Eventually(t, func() bool { d, _, _ := batchers[0].state(); return d == 0 },
		20*sfu.BurstMaxHold, time.Millisecond, "the timer releases it")
	check(0, 2, "after the timer")

	frame(2, true)
	check(1, 3, "held again")
	rt.Close()
	check(0, 3, "closing the track releases its hold")
}
