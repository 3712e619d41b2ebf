package integration

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/livekit/protocol/livekit"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

// TestClientLeaveLetsClientClose: after a client's LeaveRequest the node removes the
// participant at once but leaves the signal connection for the client to close, and closes it
// itself only after a bound. Closing first raced server-sdk-go's Disconnect (SendLeave, then
// mark the engine closed): a close that arrived in between was taken for a lost connection,
// and the SDK joined again as a ghost session that other participants saw for ~10 s (seen as
// 10 s leave propagation in TestMeshPresenceAndPropagation). The test speaks the protocol over a
// raw WebSocket, because the SDK always closes its end right after the leave. Messages on the
// lingering connection change nothing.
func TestClientLeaveLetsClientClose(t *testing.T) {
	n := startNode(t)
	const room = "linger"
	b := joinRoom(t, n, room, "bob")

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	conn := rawJoin(ctx, t, n.URL(), room, "leaver")
	waitFor(t, func() bool { return b.room.GetParticipantByIdentity("leaver") != nil },
		func() string { return "bob never saw leaver join" })

	send := func(req *livekit.SignalRequest) {
		t.Helper()
		raw, err := proto.Marshal(req)
		require.NoError(t, err)
		require.NoError(t, conn.Write(ctx, websocket.MessageBinary, raw))
	}
	send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{
		Reason: livekit.DisconnectReason_CLIENT_INITIATED, Action: livekit.LeaveRequest_DISCONNECT}}})
	left := time.Now()

	// Read until the node closes the connection (bounded by ctx).
	closed := make(chan time.Time, 1)
	go func() {
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				closed <- time.Now()
				return
			}
		}
	}()
	waitFor(t, func() bool { return b.ev.has(&b.ev.disconnected, "leaver") },
		func() string { return "bob never saw leaver leave" })

	// A request on the lingering connection is ignored: leaver does not come back.
	send(&livekit.SignalRequest{Message: &livekit.SignalRequest_UpdateMetadata{
		UpdateMetadata: &livekit.UpdateParticipantMetadata{Metadata: "still here?"}}})

	select {
	case at := <-closed:
		t.Fatalf("node closed the signal connection %s after the client's leave; the client closes it", at.Sub(left))
	case <-time.After(time.Second):
	}
	require.Nil(t, b.room.GetParticipantByIdentity("leaver"), "leaver is back after its leave")
	require.Equal(t, []string{"leaver"}, b.ev.list(&b.ev.connected), "leaver joined again")

	// A client that never closes is cut off after the linger.
	select {
	case at := <-closed:
		d := at.Sub(left)
		t.Logf("node closed the lingering connection %s after the leave", d.Round(time.Millisecond))
		require.Less(t, d, 5*time.Second)
	case <-ctx.Done():
		t.Fatal("node never closed the connection of a client that left")
	}
}
