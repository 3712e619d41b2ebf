package node

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/livekit/protocol/livekit"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

func wrapJoin(t testing.TB, jr *livekit.JoinRequest, gz bool) string {
	inner, err := proto.Marshal(jr)
	require.NoError(t, err)
	w := &livekit.WrappedJoinRequest{JoinRequest: inner}
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(inner)
		require.NoError(t, zw.Close())
		w.JoinRequest, w.Compression = buf.Bytes(), livekit.WrappedJoinRequest_GZIP
	}
	b, err := proto.Marshal(w)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestDecodeJoinRequest(t *testing.T) {
	jr := &livekit.JoinRequest{Metadata: "md", ParticipantSid: "PA_x", Reconnect: true,
		AddTrackRequests: []*livekit.AddTrackRequest{{Cid: "c1", Type: livekit.TrackType_AUDIO}},
		PublisherOffer:   &livekit.SessionDescription{Type: "offer", Sdp: "v=0"}}
	for _, gz := range []bool{false, true} {
		got, err := decodeJoinRequest(wrapJoin(t, jr, gz))
		require.NoError(t, err)
		require.True(t, proto.Equal(jr, got), "gzip=%v", gz)
	}
	bad := []string{"!!!", base64.RawURLEncoding.EncodeToString([]byte{0xff, 0xff}),
		base64.RawURLEncoding.EncodeToString(mustMarshal(t, &livekit.WrappedJoinRequest{
			Compression: livekit.WrappedJoinRequest_GZIP, JoinRequest: []byte("not gzip")})),
		base64.RawURLEncoding.EncodeToString(mustMarshal(t, &livekit.WrappedJoinRequest{Compression: 7}))}
	for _, b := range bad {
		_, err := decodeJoinRequest(b)
		require.Error(t, err, "%q", b)
		require.True(t, errors.Is(err, ErrBadRequest))
	}
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	b, err := proto.Marshal(m)
	require.NoError(t, err)
	return b
}

// FuzzDecodeJoinRequest: the v1 join_request parameter comes straight from the network.
func FuzzDecodeJoinRequest(f *testing.F) {
	f.Add(wrapJoin(f, &livekit.JoinRequest{Metadata: "x"}, false))
	f.Add(wrapJoin(f, &livekit.JoinRequest{Reconnect: true, ParticipantSid: "PA_1"}, true))
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		jr, err := decodeJoinRequest(s)
		if err == nil && jr == nil {
			t.Fatal("nil request without error")
		}
		if err != nil && !errors.Is(err, ErrBadRequest) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}
