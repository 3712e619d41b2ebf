package sfu

import (
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
)

// newLoopbackAPI builds a pion API whose ICE uses UDP over 127.0.0.1 only.
// interceptors registers the PeerConnection's interceptors.
func newLoopbackAPI(t *testing.T, interceptors func(*webrtc.MediaEngine, *interceptor.Registry) error) *webrtc.API {
	t.Helper()
	m := &webrtc.MediaEngine{}
	require.NoError(t, m.RegisterDefaultCodecs())
	ir := &interceptor.Registry{}
	if interceptors != nil {
		require.NoError(t, interceptors(m, ir))
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// nackAndReports registers what a plain WebRTC endpoint has: NACK
// generation/response and RTCP sender/receiver reports.
func nackAndReports(m *webrtc.MediaEngine, ir *interceptor.Registry) error {
	if err := webrtc.ConfigureNack(m, ir); err != nil {
		return err
	}
	return webrtc.ConfigureRTCPReports(ir)
}

func newPC(t *testing.T, api *webrtc.API) *webrtc.PeerConnection {
	t.Helper()
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

// negotiate runs a complete offer/answer exchange (non-trickle).
func negotiate(t *testing.T, offerer, answerer *webrtc.PeerConnection) {
	t.Helper()
	exchange := func(pc *webrtc.PeerConnection, desc webrtc.SessionDescription) {
		gathered := webrtc.GatheringCompletePromise(pc)
		require.NoError(t, pc.SetLocalDescription(desc))
		select {
		case <-gathered:
		case <-time.After(10 * time.Second):
			t.Fatal("ICE gathering timed out")
		}
	}
	offer, err := offerer.CreateOffer(nil)
	require.NoError(t, err)
	exchange(offerer, offer)
	require.NoError(t, answerer.SetRemoteDescription(*offerer.LocalDescription()))
	answer, err := answerer.CreateAnswer(nil)
	require.NoError(t, err)
	exchange(answerer, answer)
	require.NoError(t, offerer.SetRemoteDescription(*answerer.LocalDescription()))
}

// received collects what a subscriber's track delivers, keyed by sequence
// number (a retransmission of a packet already received replaces it).
type received struct {
	mu    sync.Mutex
	first int32 // sequence number of the first packet, -1 before
	pkts  map[uint16]rtp.Packet
}

func newReceived() *received {
	return &received{first: -1, pkts: map[uint16]rtp.Packet{}}
}

func (r *received) add(p *rtp.Packet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first < 0 {
		r.first = int32(p.SequenceNumber)
	}
	r.pkts[p.SequenceNumber] = rtp.Packet{Header: p.Header.Clone(), Payload: slices.Clone(p.Payload)}
}

// inOrder returns the packets sorted by sequence number, unwrapped from the
// first one received.
func (r *received) inOrder() []rtp.Packet {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]rtp.Packet, 0, len(r.pkts))
	for _, p := range r.pkts {
		out = append(out, p)
	}
	first := uint16(r.first)
	slices.SortFunc(out, func(a, b rtp.Packet) int {
		return int(a.SequenceNumber-first) - int(b.SequenceNumber-first)
	})
	return out
}

// holes returns the count of packets received and of sequence numbers
// missing between the lowest and the highest received, and whether
// timestamps are monotonic in sequence order.
func (r *received) holes() (count, missing int, monotonic bool) {
	pkts := r.inOrder()
	monotonic = true
	for i := 1; i < len(pkts); i++ {
		missing += int(pkts[i].SequenceNumber-pkts[i-1].SequenceNumber) - 1
		if int32(pkts[i].Timestamp-pkts[i-1].Timestamp) < 0 {
			monotonic = false
		}
	}
	return len(pkts), missing, monotonic
}
