package integration

import (
	"context"
	"net/url"
	"testing"

	"github.com/coder/websocket"
	"github.com/livekit/protocol/livekit"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

// garbageSignal is not a protobuf: its first byte is a field key with wire type 7, which does
// not exist (protobuf encoding spec), so any decoder must reject it.
var garbageSignal = []byte{0x0f, 0xde, 0xad, 0xbe, 0xef, 0x00, 0xff}

// rawJoin joins room as identity over a raw WebSocket to /rtc (for protocol behaviour the SDK
// cannot be made to show) and reads the node's first message, which must be a JoinResponse.
// The connection is closed at the end of the test.
func rawJoin(ctx context.Context, t *testing.T, base, room, identity string) *websocket.Conn {
	t.Helper()
	tok := mintToken(t, tokenSpec{identity: identity, grant: fullGrant(room)})
	u := base + "/rtc?protocol=16&auto_subscribe=1&sdk=go&access_token=" + url.QueryEscape(tok)
	conn, resp, err := websocket.Dial(ctx, u, nil)
	require.NoError(t, err, "raw WebSocket to /rtc")
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	conn.SetReadLimit(1 << 20)
	typ, msg, err := conn.Read(ctx)
	require.NoError(t, err, "reading the first signal message")
	require.Equal(t, websocket.MessageBinary, typ)
	var first livekit.SignalResponse
	require.NoError(t, proto.Unmarshal(msg, &first))
	require.NotNil(t, first.GetJoin(), "first message is not a JoinResponse: %v", &first)
	return conn
}

// TestMalformedSignal: a raw WebSocket to /rtc with a valid token that sends a binary message
// that is not a protobuf gets its connection closed by the node, while SDK participants in the
// same room keep exchanging media.
func TestMalformedSignal(t *testing.T) {
	require.Error(t, proto.Unmarshal(garbageSignal, &livekit.SignalRequest{}), "garbage must not decode")

	n := startNode(t)
	const room = "malformed"
	a := joinRoom(t, n, room, "alice")
	b := joinRoom(t, n, room, "bob")
	mic := publishMic(t, a)
	audio := b.subscribed(t, mic.pub.SID())

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	conn := rawJoin(ctx, t, n.URL(), room, "vandal")
	waitFor(t, func() bool { return b.room.GetParticipantByIdentity("vandal") != nil },
		func() string { return "bob never saw the raw participant join" })

	before := audio.count()
	require.NoError(t, conn.Write(ctx, websocket.MessageBinary, garbageSignal))

	// The node must close this connection: drain whatever it still sends until the read fails.
	closed := make(chan error, 1)
	go func() {
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				closed <- err
				return
			}
		}
	}()
	err := <-closed // bounded: reads fail at ctx's deadline at the latest
	require.NotErrorIs(t, err, context.DeadlineExceeded, "node kept the connection open after a non-protobuf message")
	t.Logf("node closed the connection: %v (close status %d)", err, websocket.CloseStatus(err))

	// Meanwhile alice -> bob media is unaffected: one more second of Opus arrives.
	waitPackets(t, audio, before+50, "audio at bob after the garbage")
}
