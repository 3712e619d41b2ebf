package sfu

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/sfu/buffer"
)

// TestReportClockBatchesPerConnection: two down-tracks to one subscriber
// connection share a clock; the subscriber gets their sender reports in one
// compound packet, and the clock's goroutine ends with the last down-track.
func TestReportClockBatchesPerConnection(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	starts := 0
	clock := NewReportClock(50*time.Millisecond, func() bool {
		mu.Lock()
		defer mu.Unlock()
		starts++
		wg.Add(1)
		return true
	}, wg.Done)

	// The SFU side's ICE runs on a socket that records the size of each
	// SRTCP packet starting with a sender report (the first 8 bytes of SRTCP
	// are in the clear).
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	wire := &srtcpSizes{PacketConn: conn}
	mux := webrtc.NewICEUDPMux(nil, wire)
	t.Cleanup(func() { _ = mux.Close() })
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEUDPMux(mux)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	m := &webrtc.MediaEngine{}
	require.NoError(t, m.RegisterDefaultCodecs())
	sfuOut := newPC(t, webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)))
	sub := newPC(t, newLoopbackAPI(t, nil))
	var dts []*DownTrack
	var srcs []*fakeSource
	for i, id := range []string{"TR_one", "TR_two"} {
		src := newFakeSource(webrtc.RTPCodecTypeVideo, vp8Codec)
		src.id = id
		dt, err := NewDownTrack(DownTrackParams{Source: src, SubscriberID: "PA_sub",
			StreamID: "PA_pub|" + id, MaxLayer: MaxLayerAuto, Logger: zerolog.Nop(), Reports: clock})
		require.NoError(t, err, i)
		sender, err := sfuOut.AddTrack(dt)
		require.NoError(t, err)
		dt.SetRTPSender(sender)
		dts, srcs = append(dts, dt), append(srcs, src)
	}
	sub.OnTrack(func(tr *webrtc.TrackRemote, rx *webrtc.RTPReceiver) {
		go func() {
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
			}
		}()
		for {
			if _, _, err := rx.ReadRTCP(); err != nil {
				return
			}
		}
	})
	negotiate(t, sfuOut, sub)
	require.Eventually(t, func() bool {
		return dts[0].bound.Load() != nil && dts[1].bound.Load() != nil
	}, 10*time.Second, 10*time.Millisecond, "both down-tracks bound")

	// Each down-track forwards keyframes until one reaches the subscriber (a
	// timestamp offset exists), and its source has the publisher's report.
	now := time.Now()
	for i, dt := range dts {
		b := newVP8Buffer(uint32(4000 + i))
		sn := uint16(1)
		require.Eventually(t, func() bool {
			dt.WriteRTP(pushVP8(srcs[i], b, LayerHigh, uint32(4000+i), sn, 9000+uint32(sn)*3000, sn, true, now), LayerHigh)
			sn++
			return dt.Stats().PacketsSent > 0
		}, 10*time.Second, 20*time.Millisecond, "a packet forwarded")
		srcs[i].mu.Lock()
		srcs[i].sr[LayerHigh] = buffer.SenderReport{NTPTime: 0xE000_0000_0000_0000, RTPTime: 9000, Arrival: now}
		srcs[i].mu.Unlock()
	}
	// A compound of two sender reports is 56 bytes before encryption, one
	// report 28; SRTCP adds at most 20 (index and AES-GCM tag).
	require.Eventually(t, func() bool { return wire.largest() >= 56 }, 10*time.Second, 10*time.Millisecond,
		"no SRTCP packet carrying both down-tracks' sender reports")
	require.Positive(t, dts[0].Stats().SenderReports)
	require.Positive(t, dts[1].Stats().SenderReports)

	dts[0].Close()
	dts[1].Close()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the clock's goroutine did not end with its last down-track")
	}
	mu.Lock()
	require.Equal(t, 1, starts, "one goroutine for both down-tracks")
	mu.Unlock()
}

// srtcpSizes is a PacketConn that records the largest SRTCP packet written
// whose first RTCP packet is a sender report.
type srtcpSizes struct {
	net.PacketConn
	mu  sync.Mutex
	max int
}

func (c *srtcpSizes) WriteTo(b []byte, addr net.Addr) (int, error) {
	if len(b) >= 8 && b[0]>>6 == 2 && b[1] == 200 {
		c.mu.Lock()
		c.max = max(c.max, len(b))
		c.mu.Unlock()
	}
	return c.PacketConn.WriteTo(b, addr)
}

func (c *srtcpSizes) largest() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.max
}
