package node

import (
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/rs/zerolog"

	"github.com/edgemesh/edge/egress"
)

// newSendingTransport creates a peer connection the node sends media on (a subscriber
// connection, or a v1 single connection): with send batching when the node's UDP socket
// batches, and the node's own SRTP path (package egress) unless configured off.
func (n *Node) newSendingTransport(role pcRole, target livekit.SignalTarget, log zerolog.Logger,
	send func(*livekit.SignalResponse)) (*pcTransport, error) {
	api := n.apis.forRole(role)
	var capture *egress.Capture
	if !n.cfg.NoDirectEgress {
		capture = &egress.Capture{}
		api = n.apis.withCapture(role, capture)
	}
	t, err := newPCTransport(api, target, log, send)
	if err != nil {
		return nil, err
	}
	if n.rtc.gso != nil {
		t.batch = newPCSendBatch(n.rtc.gso)
	}
	if capture != nil {
		var obs egress.SentObserver
		var fb egress.Feedback
		if est, ok := n.alloc.estimator(t.pc.ID()); ok {
			obs, fb = est, est
		}
		t.egress = egress.NewPath(n.rtc.send, obs, &n.egress)
		if role == roleSubscriber && n.rtc.inbound != nil {
			// The client sends no media on its subscriber connection: all its RTCP there is
			// about the node's streams, so the path reads it itself.
			t.egress.Intercept(n.rtc.inbound, fb)
		}
		dtls := t.pc.SCTP().Transport()
		dtls.OnStateChange(func(s webrtc.DTLSTransportState) {
			switch s {
			case webrtc.DTLSTransportStateConnected:
				t.decideEgress(capture)
			case webrtc.DTLSTransportStateClosed, webrtc.DTLSTransportStateFailed:
				t.egress.Close()
			}
		})
	}
	t.followPair()
	return t, nil
}

// decideEgress makes the transport's path send directly if the DTLS handshake gave the keys
// and the connection runs over UDP, else hands it to pion for good. Called once the DTLS
// transport is up, before pion's SRTP session starts.
func (t *pcTransport) decideEgress(c *egress.Capture) {
	keys, err := c.Keys()
	if err == nil {
		err = t.egress.Activate(keys)
	}
	if err != nil {
		t.egress.Fallback()
		t.log.Info().Err(err).Msg("direct SRTP sends unavailable; pion sends this connection's media")
		return
	}
	t.log.Debug().Str("srtp_profile", keys.Profile.String()).Msg("direct SRTP sends")
}

// followPair tracks the selected candidate pair's remote address for send batching and the
// direct path (one handler: pion keeps one per event).
func (t *pcTransport) followPair() {
	if t.batch == nil && t.egress == nil {
		return
	}
	t.pc.SCTP().Transport().ICETransport().OnSelectedCandidatePairChange(func(p *webrtc.ICECandidatePair) {
		a := udpRemote(p)
		if t.batch != nil {
			t.batch.addr.Store(a)
		}
		if t.egress != nil {
			t.egress.SetRemote(a)
		}
	})
}

// StreamWriter implements sfu.StreamWriters: the direct path's writer for the stream, which
// falls back to pion's.
func (t *pcTransport) StreamWriter(ctx webrtc.TrackLocalContext, onRTCP func([]rtcp.Packet, time.Time)) webrtc.TrackLocalWriter {
	var tccID uint8
	for _, e := range ctx.HeaderExtensions() {
		if e.URI == sdp.TransportCCURI {
			tccID = uint8(e.ID)
		}
	}
	return t.egress.Stream(tccID, ctx.WriteStream(), onRTCP)
}
