package node

import (
	"errors"
	"fmt"
	"sync"

	"github.com/livekit/protocol/livekit"
	protosignalling "github.com/livekit/protocol/signalling"
	"github.com/pion/webrtc/v4"
	"github.com/rs/zerolog"

	"github.com/edgemesh/edge/egress"
	"github.com/edgemesh/edge/sfu"
)

// pcTransport wraps one peer connection with the negotiation bookkeeping LiveKit signaling
// needs: queued remote candidates until a remote description is set, and server-side offers
// that never overlap (a change while an offer is outstanding is folded into one more offer).
type pcTransport struct {
	pc     *webrtc.PeerConnection
	target livekit.SignalTarget
	log    zerolog.Logger
	send   func(*livekit.SignalResponse)

	// clientOffers: the client makes every offer (v1 single peer connection). The server asks
	// for one with MediaSectionsRequirement instead of offering.
	clientOffers bool

	mu           sync.Mutex // guards the negotiation state below
	remoteSet    bool
	candidates   []webrtc.ICECandidateInit
	offering     bool // an offer is out, waiting for the answer
	again        bool // renegotiate once the answer is in
	againRestart bool
	offerID      uint32
	closed       bool
	reliable     *webrtc.DataChannel // data channels the server sends this client data on
	lossy        *webrtc.DataChannel

	// batch holds the node's sends to this connection during a fan-out burst; nil when the
	// node does not batch (set once, before the transport is used).
	batch *pcSendBatch
	// egress sends this connection's media with the node's own SRTP; nil: pion's writer (set
	// once, before the transport is used).
	egress *egress.Path
}

// streamWriters returns the transport's sfu.StreamWriters, or nil (a nil interface).
func (t *pcTransport) streamWriters() sfu.StreamWriters {
	if t.egress == nil {
		return nil
	}
	return t
}

// sendBatcher returns the transport's sfu.SendBatcher, or nil (a nil interface, not a nil
// pointer in one).
func (t *pcTransport) sendBatcher() sfu.SendBatcher {
	if t.batch == nil {
		return nil
	}
	return t.batch
}

// setDataChannel records a data channel the server sends on (created by the server on the
// subscriber connection, or by the client on a single peer connection).
func (t *pcTransport) setDataChannel(dc *webrtc.DataChannel) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if dc.Label() == reliableLabel {
		t.reliable = dc
	} else {
		t.lossy = dc
	}
}

func (t *pcTransport) dataChannel(label string) *webrtc.DataChannel {
	t.mu.Lock()
	defer t.mu.Unlock()
	if label == reliableLabel {
		return t.reliable
	}
	return t.lossy
}

func newPCTransport(api *webrtc.API, target livekit.SignalTarget, log zerolog.Logger,
	send func(*livekit.SignalResponse)) (*pcTransport, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
		// No RTP header encryption (RFC 9335): the node's own SRTP path (package egress)
		// encrypts payloads only.
		RTPHeaderEncryptionPolicy: webrtc.RTPHeaderEncryptionPolicyDisable,
	})
	if err != nil {
		return nil, fmt.Errorf("new peer connection: %w", err)
	}
	t := &pcTransport{pc: pc, target: target, log: log.With().Str("transport", target.String()).Logger(), send: send}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		t.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Trickle{
			Trickle: protosignalling.ToProtoTrickle(c.ToJSON(), target, false)}})
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		t.log.Debug().Str("state", s.String()).Msg("peer connection state")
	})
	return t, nil
}

// addCandidate adds a remote candidate, or queues it until the remote description is set.
func (t *pcTransport) addCandidate(c webrtc.ICECandidateInit) error {
	t.mu.Lock()
	if !t.remoteSet {
		t.candidates = append(t.candidates, c)
		t.mu.Unlock()
		return nil
	}
	t.mu.Unlock()
	return t.pc.AddICECandidate(c)
}

func (t *pcTransport) flushCandidatesLocked() {
	for _, c := range t.candidates {
		if err := t.pc.AddICECandidate(c); err != nil {
			t.log.Debug().Err(err).Msg("add queued candidate")
		}
	}
	t.candidates = nil
}

// handleOffer answers a client offer (publisher transport).
func (t *pcTransport) handleOffer(sd webrtc.SessionDescription, id uint32) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return errors.New("transport closed")
	}
	if err := t.pc.SetRemoteDescription(sd); err != nil {
		return fmt.Errorf("set remote offer: %w", err)
	}
	t.remoteSet = true
	t.flushCandidatesLocked()
	answer, err := t.pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("create answer: %w", err)
	}
	if err := t.pc.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("set local answer: %w", err)
	}
	t.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Answer{
		Answer: protosignalling.ToProtoSessionDescription(*t.pc.LocalDescription(), id, nil)}})
	return nil
}

// negotiate sends a server offer (subscriber transport), or schedules one if an offer is out.
func (t *pcTransport) negotiate(iceRestart bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	if t.clientOffers {
		t.requestOfferLocked()
		return nil
	}
	if t.offering {
		t.again = true
		t.againRestart = t.againRestart || iceRestart
		return nil
	}
	return t.offerLocked(iceRestart)
}

// requestOfferLocked asks a single-peer-connection client to renegotiate, adding as many
// receive-only media sections as there are sending transceivers the client has not seen yet.
func (t *pcTransport) requestOfferLocked() {
	var audios, videos uint32
	for _, tr := range t.pc.GetTransceivers() {
		if tr.Mid() != "" || tr.Sender() == nil || tr.Sender().Track() == nil {
			continue
		}
		if tr.Kind() == webrtc.RTPCodecTypeAudio {
			audios++
		} else {
			videos++
		}
	}
	t.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_MediaSectionsRequirement{
		MediaSectionsRequirement: &livekit.MediaSectionsRequirement{NumAudios: audios, NumVideos: videos}}})
}

func (t *pcTransport) offerLocked(iceRestart bool) error {
	if t.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer && !iceRestart {
		// The previous offer was never answered (client reconnecting): resend it.
		t.offering = true
		t.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Offer{
			Offer: protosignalling.ToProtoSessionDescription(*t.pc.LocalDescription(), t.offerID, nil)}})
		return nil
	}
	if t.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
		// An ICE restart while an offer is pending: roll back first.
		if err := t.pc.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback}); err != nil {
			return fmt.Errorf("rollback: %w", err)
		}
	}
	offer, err := t.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: iceRestart})
	if err != nil {
		return fmt.Errorf("create offer: %w", err)
	}
	if err := t.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("set local offer: %w", err)
	}
	t.offering = true
	t.offerID++
	t.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Offer{
		Offer: protosignalling.ToProtoSessionDescription(*t.pc.LocalDescription(), t.offerID, nil)}})
	return nil
}

// handleAnswer applies the client's answer to our offer and sends a queued offer if any.
func (t *pcTransport) handleAnswer(sd webrtc.SessionDescription) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	if t.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return fmt.Errorf("%w: answer without an outstanding offer", ErrBadRequest)
	}
	if err := t.pc.SetRemoteDescription(sd); err != nil {
		return fmt.Errorf("set remote answer: %w", err)
	}
	t.remoteSet = true
	t.offering = false
	t.flushCandidatesLocked()
	if t.again {
		restart := t.againRestart
		t.again, t.againRestart = false, false
		return t.offerLocked(restart)
	}
	return nil
}

func (t *pcTransport) close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	t.mu.Unlock()
	if t.egress != nil {
		t.egress.Close() // also if the DTLS transport never reported its end
	}
	if err := t.pc.Close(); err != nil {
		t.log.Debug().Err(err).Msg("close peer connection")
	}
}
