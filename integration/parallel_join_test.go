package integration

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/stretchr/testify/require"
)

// TestParallelJoins: many clients joining one busy room at once all get in (every client must
// read its join response first, whatever else the room is telling everyone meanwhile), and all
// of them receive the publisher's audio.
func TestParallelJoins(t *testing.T) {
	n := startNode(t)
	const room = "crowd"
	a := joinRoom(t, n, room, "alice")
	mic := publishMic(t, a)

	// Keep the room busy while the guests join: every metadata change is broadcast to everyone
	// in the room, joining guests included.
	rs := lksdk.NewRoomServiceClient(n.HTTPURL(), devKey, devSecret)
	stop := make(chan struct{})
	churned := make(chan struct{})
	go func() {
		defer close(churned)
		for i := 0; i < 5000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = rs.UpdateParticipant(context.Background(), &livekit.UpdateParticipantRequest{
				Room: room, Identity: "alice", Metadata: fmt.Sprint(i)})
		}
	}()

	const joiners = 12
	clients := make([]*client, joiners)
	errs := make([]error, joiners)
	var wg sync.WaitGroup
	for i := range joiners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			clients[i], errs[i] = tryJoin(t, n, room, fmt.Sprintf("guest-%02d", i))
		}()
	}
	wg.Wait()
	close(stop)
	<-churned
	for i := range joiners {
		if clients[i] != nil {
			c := clients[i]
			t.Cleanup(func() { c.leave(t) })
		}
	}
	for i, err := range errs {
		require.NoError(t, err, "guest-%02d could not join", i)
	}
	for _, c := range clients {
		waitPackets(t, c.subscribed(t, mic.pub.SID()), 20, c.identity+" receives alice's microphone")
	}
}
