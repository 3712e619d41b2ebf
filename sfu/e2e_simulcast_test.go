package sfu

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/edgemesh/edge/sfu/codec"
)

var simulcastRIDs = [NumLayers]string{"q", "h", "f"}

// simulcastPublisher sends three VP8 simulcast encodings of synthetic frames.
// Each packet carries its layer in the first byte after the VP8 payload
// header, so a subscriber can tell which layer it gets.
type simulcastPublisher struct {
	tracks   [NumLayers]*webrtc.TrackLocalStaticRTP
	sender   *webrtc.RTPSender
	midID    uint8
	ridID    uint8
	mid      string
	keyframe [NumLayers]atomic.Bool
	seq      [NumLayers]uint16
	ts       [NumLayers]uint32
	pid      [NumLayers]uint16
}

func newSimulcastPublisher(t *testing.T, pc *webrtc.PeerConnection) *simulcastPublisher {
	t.Helper()
	p := &simulcastPublisher{}
	for l, rid := range simulcastRIDs {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8},
			"video", "pub-stream", webrtc.WithRTPStreamID(rid))
		require.NoError(t, err)
		p.tracks[l] = tr
		p.keyframe[l].Store(true)
		// Independent numbering per layer, as real encoders do.
		p.seq[l] = uint16(1000 * (l + 1))
		p.ts[l] = uint32(7_000_000 * l)
		p.pid[l] = uint16(100 * l)
	}
	var err error
	p.sender, err = pc.AddTrack(p.tracks[0])
	require.NoError(t, err)
	require.NoError(t, p.sender.AddEncoding(p.tracks[1]))
	require.NoError(t, p.sender.AddEncoding(p.tracks[2]))
	for _, ext := range p.sender.GetParameters().HeaderExtensions {
		switch ext.URI {
		case sdp.SDESMidURI:
			p.midID = uint8(ext.ID)
		case sdp.SDESRTPStreamIDURI:
			p.ridID = uint8(ext.ID)
		}
	}
	require.NotZero(t, p.midID)
	require.NotZero(t, p.ridID)
	for l, rid := range simulcastRIDs {
		go func() { // PLIs per encoding ask for a keyframe on that layer
			for {
				pkts, _, err := p.sender.ReadSimulcastRTCP(rid)
				if err != nil {
					return
				}
				for _, pkt := range pkts {
					if _, ok := pkt.(*rtcp.PictureLossIndication); ok {
						p.keyframe[l].Store(true)
					}
				}
			}
		}()
	}
	return p
}

// sendFrame sends one frame of two packets on every layer.
func (p *simulcastPublisher) sendFrame() error {
	for l := range NumLayers {
		key := p.keyframe[l].CompareAndSwap(true, false)
		p.ts[l] += 3000
		p.pid[l] = (p.pid[l] + 1) & 0x7FFF
		for i := range 2 {
			first := byte(0x80) // X
			if i == 0 {
				first |= 0x10 // S, partition 0
			}
			vp8 := byte(0x01) // P=1: interframe
			if key {
				vp8 = 0x00
			}
			payload := make([]byte, 300)
			copy(payload, []byte{first, 0x80, 0x80 | byte(p.pid[l]>>8), byte(p.pid[l]), vp8, byte(l)})
			pkt := &rtp.Packet{Header: rtp.Header{
				Version: 2, PayloadType: 96, SequenceNumber: p.seq[l], Timestamp: p.ts[l], Marker: i == 1,
			}, Payload: payload}
			p.seq[l]++
			if err := pkt.Header.SetExtension(p.midID, []byte(p.mid)); err != nil {
				return err
			}
			if err := pkt.Header.SetExtension(p.ridID, []byte(simulcastRIDs[l])); err != nil {
				return err
			}
			if err := p.tracks[l].WriteRTP(pkt); err != nil {
				return err
			}
		}
	}
	return nil
}

// layerOf returns the layer marker and keyframe flag of a received packet.
func layerOf(t *testing.T, p *rtp.Packet) (layer int32, keyframe bool, pid uint16) {
	t.Helper()
	var v codec.VP8
	require.NoError(t, codec.ParseVP8(p.Payload, &v))
	require.Greater(t, len(p.Payload), v.HeaderSize+1)
	return int32(p.Payload[v.HeaderSize+1]), v.IsKeyframe, v.PictureID
}

func TestEndToEndSimulcastLayerSwitch(t *testing.T) {
	if testing.Short() {
		t.Skip("real PeerConnections")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	simulcast := func(m *webrtc.MediaEngine, ir *interceptor.Registry) error {
		if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
			return err
		}
		return nackAndReports(m, ir)
	}
	pub, sfuIn := newPC(t, newLoopbackAPI(t, simulcast)), newPC(t, newLoopbackAPI(t, simulcast))
	sfuOut, sub := newPC(t, newLoopbackAPI(t, nil)), newPC(t, newLoopbackAPI(t, nackAndReports))
	publisher := newSimulcastPublisher(t, pub)

	counters := &Counters{}
	var dynacastMu sync.Mutex
	var dynacast []int32
	r := NewReceiver(ReceiverParams{
		TrackID: "TR_sim", Kind: webrtc.RTPCodecTypeVideo, Codec: vp8Codec,
		WriteRTCP: func(p []rtcp.Packet) error { return sfuIn.WriteRTCP(p) },
		OnMaxLayerChanged: func(l int32) {
			dynacastMu.Lock()
			defer dynacastMu.Unlock()
			dynacast = append(dynacast, l)
		},
		Counters: counters, Logger: zerolog.Nop(),
	})
	receiverClosed := make(chan struct{})
	r.OnClose(func() { close(receiverClosed) })
	sfuIn.OnTrack(func(tr *webrtc.TrackRemote, rx *webrtc.RTPReceiver) {
		for l, rid := range simulcastRIDs {
			if rid == tr.RID() {
				if err := r.AddLayer(int32(l), tr, rx); err != nil {
					t.Errorf("add layer %s: %v", rid, err)
				}
			}
		}
	})
	negotiate(t, pub, sfuIn)
	for _, tr := range pub.GetTransceivers() {
		if tr.Sender() == publisher.sender {
			publisher.mid = tr.Mid()
		}
	}
	require.NotEmpty(t, publisher.mid)

	stop, pubDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(pubDone)
		tick := time.NewTicker(33 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if err := publisher.sendFrame(); err != nil {
					return
				}
			}
		}
	}()
	require.Eventually(t, func() bool { return len(r.Stats().Layers) == NumLayers }, 10*time.Second, 20*time.Millisecond,
		"all three layers attached")

	dt, err := NewDownTrack(DownTrackParams{Source: r, MaxLayer: LayerLow, Counters: counters, Logger: zerolog.Nop()})
	require.NoError(t, err)
	sender, err := sfuOut.AddTrack(dt)
	require.NoError(t, err)
	dt.SetRTPSender(sender)
	got := newReceived()
	subDone := make(chan struct{})
	sub.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		defer close(subDone)
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			got.add(p)
		}
	})
	negotiate(t, sfuOut, sub)

	// lastLayer is the layer of the newest packet the subscriber received.
	lastLayer := func() int32 {
		pkts := got.inOrder()
		if len(pkts) == 0 {
			return LayerNone
		}
		l, _, _ := layerOf(t, &pkts[len(pkts)-1])
		return l
	}
	require.Eventually(t, func() bool { return lastLayer() == LayerLow && len(got.inOrder()) > 20 },
		10*time.Second, 20*time.Millisecond, "low layer forwarded")
	dt.SetMaxLayer(LayerHigh)
	require.Eventually(t, func() bool { return lastLayer() == LayerHigh }, 10*time.Second, 20*time.Millisecond,
		"switched up at a keyframe of the high layer")
	dt.SetMaxLayer(LayerMid)
	require.Eventually(t, func() bool { return lastLayer() == LayerMid }, 10*time.Second, 20*time.Millisecond)
	n := len(got.inOrder())
	require.Eventually(t, func() bool { return len(got.inOrder()) > n+20 }, 10*time.Second, 20*time.Millisecond)
	close(stop)
	<-pubDone

	// The subscriber saw one continuous stream.
	pkts := got.inOrder()
	_, missing, monotonic := got.holes()
	require.Zero(t, missing, "sequence numbers continuous across switches")
	require.True(t, monotonic, "timestamps monotonic across switches")
	prevLayer, _, prevPID := layerOf(t, &pkts[0])
	switches := 0
	for i := 1; i < len(pkts); i++ {
		layer, key, pid := layerOf(t, &pkts[i])
		if layer != prevLayer {
			require.True(t, key, "switch %d→%d at packet %d without keyframe", prevLayer, layer, i)
			switches++
		}
		if pkts[i].Timestamp == pkts[i-1].Timestamp {
			require.Equal(t, prevPID, pid, "picture id within a frame")
		} else {
			require.Equal(t, (prevPID+1)&0x7FFF, pid, "picture id continuous at packet %d", i)
		}
		prevLayer, prevPID = layer, pid
	}
	require.Equal(t, 2, switches)
	dynacastMu.Lock()
	require.Equal(t, []int32{LayerLow, LayerHigh, LayerMid}, dynacast)
	dynacastMu.Unlock()
	require.Positive(t, counters.PLIsOut.Load())

	require.NoError(t, sub.Close())
	<-subDone
	require.NoError(t, pub.Close())
	require.NoError(t, sfuIn.Close())
	select {
	case <-receiverClosed:
	case <-time.After(10 * time.Second):
		t.Fatal("receiver did not close after the publisher left")
	}
	require.NoError(t, sfuOut.Close())
}
