package integration

import (
	"errors"
	"testing"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/stretchr/testify/require"
)

// TestDataPackets: user data from A reaches B on both the reliable and the lossy channel, with
// sender identity and topic; data addressed to B reaches B and not C; chat messages and RPC
// (request, ack, response, error) work between A and B.
func TestDataPackets(t *testing.T) {
	n := startNode(t)
	const room = "data"
	a := joinRoom(t, n, room, "alice")
	b := joinRoom(t, n, room, "bob")
	c := joinRoom(t, n, room, "carol")
	for _, x := range []*client{b, c} {
		x.remote(t, "alice")
	}
	a.remote(t, "bob")
	a.remote(t, "carol")

	lp := a.room.LocalParticipant
	received := func(x *client, payload string) func() bool {
		return func() bool { return len(x.ev.dataWith(payload)) > 0 }
	}

	t.Run("broadcast", func(t *testing.T) {
		require.NoError(t, lp.PublishDataPacket(lksdk.UserData([]byte("reliable-1")),
			lksdk.WithDataPublishReliable(true), lksdk.WithDataPublishTopic("news")))
		require.NoError(t, lp.PublishDataPacket(lksdk.UserData([]byte("lossy-1")),
			lksdk.WithDataPublishReliable(false), lksdk.WithDataPublishTopic("telemetry")))
		for _, x := range []*client{b, c} {
			for _, want := range []receivedData{
				{from: "alice", topic: "news", payload: "reliable-1"},
				{from: "alice", topic: "telemetry", payload: "lossy-1"},
			} {
				waitFor(t, received(x, want.payload), func() string {
					return sprintf("%s never got %q", x.identity, want.payload)
				})
				got := x.ev.dataWith(want.payload)
				require.Len(t, got, 1, "%s got %q more than once", x.identity, want.payload)
				require.Equal(t, want, got[0], "%s", x.identity)
			}
		}
	})

	t.Run("destination", func(t *testing.T) {
		for _, reliable := range []bool{true, false} {
			payload := "only-bob-lossy"
			if reliable {
				payload = "only-bob-reliable"
			}
			require.NoError(t, lp.PublishDataPacket(lksdk.UserData([]byte(payload)),
				lksdk.WithDataPublishReliable(reliable), lksdk.WithDataPublishDestination([]string{"bob"})))
			waitFor(t, received(b, payload), func() string { return sprintf("bob never got %q", payload) })
			never(t, received(c, payload), "carol got %q addressed to bob only", payload)
		}
	})

	t.Run("chat", func(t *testing.T) {
		msg := lksdk.ChatMessage(time.Now(), "hello bob")
		require.NoError(t, lp.PublishDataPacket(msg, lksdk.WithDataPublishReliable(true),
			lksdk.WithDataPublishDestination([]string{"bob"})))
		waitFor(t, received(b, "hello bob"), func() string { return "bob never got the chat message" })
		got := b.ev.dataWith("hello bob")[0]
		require.True(t, got.chat, "chat message arrived as user data")
		require.Equal(t, "alice", got.from)
		never(t, received(c, "hello bob"), "carol got a chat message addressed to bob")
	})

	t.Run("rpc", func(t *testing.T) {
		require.NoError(t, b.room.RegisterRpcMethod("greet", func(d lksdk.RpcInvocationData) (string, error) {
			if d.CallerIdentity != "alice" {
				return "", lksdk.NewRpcError(1001, "wrong caller "+d.CallerIdentity, nil)
			}
			return "hello " + d.CallerIdentity + ": " + d.Payload, nil
		}))
		timeout := 10 * time.Second
		resp, err := lp.PerformRpc(lksdk.PerformRpcParams{
			DestinationIdentity: "bob", Method: "greet", Payload: "hi", ResponseTimeout: &timeout,
		})
		require.NoError(t, err, "rpc greet")
		require.Equal(t, "hello alice: hi", *resp)

		// A method bob does not serve comes back as the built-in "unsupported method" error.
		_, err = lp.PerformRpc(lksdk.PerformRpcParams{
			DestinationIdentity: "bob", Method: "nope", Payload: "x", ResponseTimeout: &timeout,
		})
		var rpcErr *lksdk.RpcError
		require.True(t, errors.As(err, &rpcErr), "want RpcError, got %v", err)
		require.Equal(t, lksdk.RpcUnsupportedMethod, rpcErr.Code)
	})
}
