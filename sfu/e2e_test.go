package sfu

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// dropper is an interceptor that drops every nth outgoing RTP packet the
// first time it is sent; retransmissions (same sequence number again) pass.
type dropper struct {
	interceptor.NoOp
	every   int
	mu      sync.Mutex
	seen    map[uint16]bool
	n       int
	dropped atomic.Uint64
}

func (d *dropper) NewInterceptor(string) (interceptor.Interceptor, error) { return d, nil }

func (d *dropper) BindLocalStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		d.mu.Lock()
		drop := false
		if !d.seen[h.SequenceNumber] {
			d.seen[h.SequenceNumber] = true
			d.n++
			drop = d.n%d.every == 0
		}
		d.mu.Unlock()
		if drop {
			d.dropped.Add(1)
			return len(payload), nil
		}
		return w.Write(h, payload, a)
	})
}

func TestEndToEndForwardingWithNACK(t *testing.T) {
	if testing.Short() {
		t.Skip("real PeerConnections")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	counters := &Counters{}
	drop := &dropper{every: 20, seen: map[uint16]bool{}}
	pubAPI := newLoopbackAPI(t, nackAndReports)
	sfuInAPI := newLoopbackAPI(t, nackAndReports)
	// The SFU answers NACKs and sends sender reports itself: no pion NACK
	// responder or report interceptors on the subscriber-facing side.
	sfuOutAPI := newLoopbackAPI(t, func(_ *webrtc.MediaEngine, ir *interceptor.Registry) error {
		ir.Add(drop)
		return nil
	})
	subAPI := newLoopbackAPI(t, nackAndReports)

	// Publisher → SFU.
	pub, sfuIn := newPC(t, pubAPI), newPC(t, sfuInAPI)
	track, err := webrtc.NewTrackLocalStaticSample(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "pub-stream")
	require.NoError(t, err)
	pubSender, err := pub.AddTrack(track)
	require.NoError(t, err)
	var keyframeWanted atomic.Bool
	keyframeWanted.Store(true)
	go func() {
		for {
			pkts, _, err := pubSender.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if _, ok := p.(*rtcp.PictureLossIndication); ok {
					keyframeWanted.Store(true)
				}
			}
		}
	}()

	receivers := make(chan *Receiver, 1)
	sfuIn.OnTrack(func(tr *webrtc.TrackRemote, rx *webrtc.RTPReceiver) {
		r := NewReceiver(ReceiverParams{
			TrackID: "TR_e2e", Kind: tr.Kind(), Codec: tr.Codec(),
			WriteRTCP: func(p []rtcp.Packet) error { return sfuIn.WriteRTCP(p) },
			Counters:  counters, Logger: zerolog.Nop(),
		})
		if err := r.AddLayer(LayerLow, tr, rx); err != nil {
			t.Errorf("add layer: %v", err)
			return
		}
		receivers <- r
	})
	negotiate(t, pub, sfuIn)

	// The publisher sends ~30 fps VP8 of three packets per frame; keyframes
	// only on request (PLI) so the subscriber's start exercises the PLI path.
	stop := make(chan struct{})
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		tick := time.NewTicker(33 * time.Millisecond)
		defer tick.Stop()
		frame := make([]byte, 3000)
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			frame[0] = 0x01 // VP8 payload header P=1: interframe
			if keyframeWanted.CompareAndSwap(true, false) {
				frame[0] = 0x00
			}
			if err := track.WriteSample(media.Sample{Data: frame, Duration: 33 * time.Millisecond}); err != nil {
				return
			}
		}
	}()
	var r *Receiver
	select {
	case r = <-receivers:
	case <-time.After(10 * time.Second):
		t.Fatal("publisher track did not arrive")
	}
	receiverClosed := make(chan struct{})
	r.OnClose(func() { close(receiverClosed) })

	// SFU → subscriber through a DownTrack.
	sfuOut, sub := newPC(t, sfuOutAPI), newPC(t, subAPI)
	dt, err := NewDownTrack(DownTrackParams{
		Source: r, SubscriberID: "PA_sub", StreamID: "PA_pub|TR_e2e",
		MaxLayer: MaxLayerAuto, Counters: counters, Logger: zerolog.Nop(),
	})
	require.NoError(t, err)
	downClosed := make(chan struct{})
	dt.OnClose(func() { close(downClosed) })
	sender, err := sfuOut.AddTrack(dt)
	require.NoError(t, err)
	dt.SetRTPSender(sender)

	got := newReceived()
	subDone := make(chan struct{})
	sub.OnTrack(func(tr *webrtc.TrackRemote, rx *webrtc.RTPReceiver) {
		defer close(subDone)
		go func() { // RTCP must be read for the interceptors to see the SFU's sender reports
			for {
				if _, _, err := rx.ReadRTCP(); err != nil {
					return
				}
			}
		}()
		if tr.ID() != "TR_e2e" || tr.StreamID() != "PA_pub|TR_e2e" {
			t.Errorf("subscriber track id %q stream %q", tr.ID(), tr.StreamID())
		}
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			got.add(p)
		}
	})
	negotiate(t, sfuOut, sub)

	require.Eventually(t, func() bool {
		n, _, _ := got.holes()
		st := dt.Stats()
		return n > 200 && counters.Retransmits.Load() > 0 && st.SenderReports > 0 && st.RTT > 0
	}, 20*time.Second, 50*time.Millisecond, "media did not flow with retransmissions, sender reports and RTT")
	close(stop)
	<-pubDone

	// Every packet dropped on the subscriber leg was NACKed and retransmitted
	// from the receiver's cache: no holes remain.
	require.Eventually(t, func() bool {
		_, missing, _ := got.holes()
		return missing == 0
	}, 10*time.Second, 50*time.Millisecond)
	n, _, monotonic := got.holes()
	require.True(t, monotonic, "timestamps must not go backwards")
	require.Positive(t, drop.dropped.Load())
	require.GreaterOrEqual(t, counters.Retransmits.Load(), drop.dropped.Load()-1, "drops answered")
	require.Positive(t, counters.PLIsOut.Load(), "keyframe requested from the publisher")
	require.GreaterOrEqual(t, counters.PacketsIn.Load(), uint64(n))
	st := dt.Stats()
	t.Logf("received %d packets; dropped %d, NACKed %d, retransmitted %d, missed %d; PLIs out %d; SRs %d; RTT %v",
		n, drop.dropped.Load(), counters.NACKsIn.Load(), counters.Retransmits.Load(),
		counters.RetransmitMisses.Load(), counters.PLIsOut.Load(), st.SenderReports, st.RTT)
	require.Equal(t, LayerLow, st.CurrentLayer)
	require.False(t, st.LastReceiverReport.IsZero(), "subscriber receiver reports read")
	rs := r.Stats()
	require.Len(t, rs.Layers, 1)
	require.Positive(t, rs.PacketsReceived)
	require.Equal(t, 1, r.NumSinks())

	// Teardown: the publisher leaving closes the receiver, which closes the
	// down-track; every goroutine ends.
	require.NoError(t, sub.Close())
	<-subDone
	require.NoError(t, pub.Close())
	require.NoError(t, sfuIn.Close())
	select {
	case <-receiverClosed:
	case <-time.After(10 * time.Second):
		t.Fatal("receiver did not close after the publisher left")
	}
	select {
	case <-downClosed:
	case <-time.After(5 * time.Second):
		t.Fatal("down-track not closed with its receiver")
	}
	require.NoError(t, sfuOut.Close())
}
