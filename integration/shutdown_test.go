package integration

import (
	"context"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/stretchr/testify/require"
)

// TestShutdownSendsLeave: when the node shuts down (what SIGTERM does), every connected
// participant is told to leave with reason SERVER_SHUTDOWN, and the shutdown finishes in time.
func TestShutdownSendsLeave(t *testing.T) {
	n := startNode(t)
	a := joinRoom(t, n, "shutdown", "alice")
	b := joinRoom(t, n, "shutdown", "bob")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, n.Shutdown(ctx))
	require.Less(t, time.Since(start), 5*time.Second, "shutdown took too long")

	for _, c := range []*client{a, b} {
		waitFor(t, func() bool { return c.ev.get(&c.ev.selfDisconnected) > 0 },
			func() string { return c.identity + " was not disconnected" })
		require.Equal(t, livekit.DisconnectReason_SERVER_SHUTDOWN, c.room.DisconnectReason(),
			"%s got the wrong leave reason", c.identity)
	}
}
