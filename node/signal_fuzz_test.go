package node

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// FuzzSignalRequest feeds arbitrary bytes through the signal decoder and, when they decode,
// through a live participant's request handler: nothing may panic, and the node must keep
// serving other participants.
func FuzzSignalRequest(f *testing.F) {
	seeds := []*livekit.SignalRequest{
		{Message: &livekit.SignalRequest_Ping{Ping: 1}},
		{Message: &livekit.SignalRequest_PingReq{PingReq: &livekit.Ping{Timestamp: 5, Rtt: 10}}},
		{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{Type: "offer", Sdp: "v=0\r\n"}}},
		{Message: &livekit.SignalRequest_Answer{Answer: &livekit.SessionDescription{Type: "answer", Sdp: "garbage"}}},
		{Message: &livekit.SignalRequest_Trickle{Trickle: &livekit.TrickleRequest{CandidateInit: "{}"}}},
		{Message: &livekit.SignalRequest_Trickle{Trickle: &livekit.TrickleRequest{CandidateInit: "not json", Target: livekit.SignalTarget_SUBSCRIBER}}},
		{Message: &livekit.SignalRequest_AddTrack{AddTrack: &livekit.AddTrackRequest{Cid: "c", Type: livekit.TrackType_VIDEO,
			Layers: []*livekit.VideoLayer{{Quality: livekit.VideoQuality_LOW}}}}},
		{Message: &livekit.SignalRequest_Mute{Mute: &livekit.MuteTrackRequest{Sid: "TR_unknown", Muted: true}}},
		{Message: &livekit.SignalRequest_TrackSetting{TrackSetting: &livekit.UpdateTrackSettings{TrackSids: []string{"TR_x"}, Width: 1 << 30}}},
		{Message: &livekit.SignalRequest_Subscription{Subscription: &livekit.UpdateSubscription{TrackSids: []string{"TR_x"}, Subscribe: true}}},
		{Message: &livekit.SignalRequest_SubscriptionPermission{SubscriptionPermission: &livekit.SubscriptionPermission{}}},
		{Message: &livekit.SignalRequest_UpdateMetadata{UpdateMetadata: &livekit.UpdateParticipantMetadata{Metadata: "m", RequestId: 3}}},
		{Message: &livekit.SignalRequest_UpdateVideoTrack{UpdateVideoTrack: &livekit.UpdateLocalVideoTrack{TrackSid: "TR_x", Width: 5}}},
	}
	for _, s := range seeds {
		b, err := proto.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xff, 0x00, 0x13})

	cfg := DevConfig()
	cfg.Port, cfg.RTCTCPPort, cfg.RTCUDPPort = 0, 0, 0
	cfg.Standalone = true
	n, err := New(cfg, testLoggerF(f))
	if err != nil {
		f.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	})

	var part *Participant
	var sc *signalConn
	fresh := func(t *testing.T) {
		grants := &auth.ClaimGrants{Identity: "fuzz", Video: &auth.VideoGrant{RoomJoin: true, Room: "fuzz"}}
		sc = newSignalConn(nil, n.log)
		sc.closeOnce.Do(func() { close(sc.done); sc.cancel() }) // nothing is written anywhere
		p, err := n.join(joinParams{grants: grants, room: "fuzz", autoSubscribe: true}, sc)
		if err != nil {
			t.Fatal(err)
		}
		part = p
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeSignalRequest(websocket.MessageBinary, data)
		if err != nil {
			return
		}
		if part == nil || part.isClosed() {
			fresh(t)
		}
		_ = part.handleSignal(sc, req)
	})
}
