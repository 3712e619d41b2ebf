package relay

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/sfu"
)

// withLoss makes an endpoint send through a socket that drops the fraction
// loss of its datagrams, chosen by a PRNG seeded with seed.
func withLoss(t testing.TB, loss float64, seed uint64) (func(*Config), *lossyConn) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	r := rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))
	c := &lossyConn{PacketConn: pc, next: r.Float64, loss: loss}
	return func(cfg *Config) { cfg.PacketConn = c }, c
}

// TestRelayLossRecovered relays video over a link losing 5% of its packets
// in each direction: NACKs answered from A's cache keep the loss B's sinks
// see below 0.5%.
func TestRelayLossRecovered(t *testing.T) {
	t.Parallel()
	lossA, connA := withLoss(t, 0.05, 1)
	lossB, connB := withLoss(t, 0.05, 2)
	video := newTestSource("TR_video", webrtc.RTPCodecTypeVideo, sfu.LayerBit(sfu.LayerLow)|sfu.LayerBit(sfu.LayerHigh))
	a := newEndpoint(t, "node-a", newTrackMap(video), lossA)
	b := newEndpoint(t, "node-b", nil, lossB)
	peer := dial(t, b, a)
	rt := subscribe(t, peer, "TR_video")
	sink := newRecvSink(sfu.LayerBit(sfu.LayerLow) | sfu.LayerBit(sfu.LayerHigh))
	require.NoError(t, rt.AddSink(sink))
	require.Eventually(t, func() bool { return video.maxWanted.Load() == sfu.LayerHigh }, waitFor, 5*time.Millisecond)

	const n = 1500
	var sent [sfu.NumLayers][]uint16
	for i := range n {
		for _, l := range []int32{sfu.LayerLow, sfu.LayerHigh} {
			sent[l] = append(sent[l], video.push(l, i%100 == 0, 900, time.Now()))
		}
		time.Sleep(2 * time.Millisecond)
	}
	missing := func() int {
		m := 0
		for _, l := range []int32{sfu.LayerLow, sfu.LayerHigh} {
			for _, sn := range sent[l] {
				if !sink.has(l, sn) {
					m++
				}
			}
		}
		return m
	}
	// Give the last NACKs time to be answered.
	for deadline := time.Now().Add(3 * time.Second); missing() > 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	unrecovered := float64(missing()) / float64(2*n)
	st := peer.Stats()
	t.Logf("dropped A→%d B→%d datagrams; NACKed %d, retransmitted %d, unrecovered %.3f%%",
		connA.dropped.Load(), connB.dropped.Load(), st.NACKsSent, a.Stats().Peers[0].Retransmits, 100*unrecovered)
	require.Less(t, unrecovered, 0.005)
	require.NotZero(t, connA.dropped.Load())
	require.NotZero(t, st.NACKsSent)
	require.NotZero(t, a.Stats().Peers[0].Retransmits)
}

// TestRelayReliableDataInOrder sends 10,000 reliable data messages A→B over
// a link losing 5% of its packets: all arrive, in order. Lossy messages go
// as datagrams.
func TestRelayReliableDataInOrder(t *testing.T) {
	t.Parallel()
	const n = 10000
	var (
		mu       sync.Mutex
		got      []uint32
		lossy    int
		badOrder bool
	)
	onData := func(c *Config) {
		c.OnData = func(from string, m DataMessage) {
			mu.Lock()
			defer mu.Unlock()
			if from != "node-a" || m.Room != "room-1" || m.Kind != 7 {
				badOrder = true
				return
			}
			if !m.Reliable {
				lossy++
				return
			}
			v := binary.BigEndian.Uint32(m.Payload)
			if len(got) > 0 && v != got[len(got)-1]+1 {
				badOrder = true
			}
			got = append(got, v)
		}
	}
	lossA, _ := withLoss(t, 0.05, 3)
	lossB, _ := withLoss(t, 0.05, 4)
	a := newEndpoint(t, "node-a", nil, lossA)
	b := newEndpoint(t, "node-b", nil, lossB, onData)
	dial(t, b, a)
	require.Eventually(t, func() bool {
		p, ok := a.Peer("node-b")
		return ok && p.Stats().Connected
	}, waitFor, time.Millisecond)
	toB := dial(t, a, b) // reuses the link B opened
	require.Equal(t, uint64(1), toB.Stats().Links)

	ctx, cancel := context.WithTimeout(context.Background(), 4*waitFor)
	defer cancel()
	for i := range uint32(n) {
		payload := binary.BigEndian.AppendUint32(nil, i)
		require.NoError(t, toB.SendData(ctx, DataMessage{Room: "room-1", Kind: 7, Reliable: true, Payload: payload}))
	}
	for range 20 {
		require.NoError(t, toB.SendData(ctx, DataMessage{Room: "room-1", Kind: 7, Payload: []byte("lossy")}))
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == n && lossy > 0
	}, 4*waitFor, 10*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	require.False(t, badOrder)
	require.Equal(t, uint32(n-1), got[n-1])
	st := toB.Stats()
	require.NotZero(t, st.Sent.Data)
	require.Equal(t, uint64(1), st.Links)

	big := DataMessage{Room: "room-1", Payload: make([]byte, maxDataPayload+1)}
	require.ErrorIs(t, toB.SendData(ctx, big), ErrTooLarge)
}
