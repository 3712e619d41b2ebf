package integration

import (
	"fmt"
	"testing"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
)

// deadLinkDataBound bounds how long bob waits for a burst of alice's messages while the link to
// a third edge is dead: well under the 2 s a message may wait for that edge.
const deadLinkDataBound = 3 * time.Second

// TestMeshDataDeadLink: alice (edge-0) sends a burst of reliable data to the room while the
// relay link between her edge and edge-2 (where carol is) is dead; bob on edge-1 gets every
// message promptly and in order: an unreachable edge delays only its own data.
func TestMeshDataDeadLink(t *testing.T) {
	conns := cutRelays(t, 3, [2]int{0, 2})
	nodes := startMeshWith(t, 3, func(i int, cfg *node.Config) { cfg.RelayPacketConn = conns[i] })
	const room = "deadlink"
	alice := joinRoom(t, nodes[0], room, "alice")
	bob := joinRoom(t, nodes[1], room, "bob")
	joinRoom(t, nodes[2], room, "carol")
	alice.remote(t, "bob")
	alice.remote(t, "carol")

	const burst = 20
	lp := alice.room.LocalParticipant
	start := time.Now()
	for i := range burst {
		require.NoError(t, lp.PublishDataPacket(lksdk.UserData([]byte(fmt.Sprintf("msg-%02d", i))),
			lksdk.WithDataPublishReliable(true)))
	}
	last := fmt.Sprintf("msg-%02d", burst-1)
	waitFor(t, func() bool { return len(bob.ev.dataWith(last)) == 1 },
		func() string { return "bob never got the end of alice's burst" })
	took := time.Since(start)
	t.Logf("dead link to edge-2: bob got %d messages from alice in %v", burst, took.Round(time.Millisecond))
	require.Less(t, took, deadLinkDataBound)
	got := bob.ev.received()
	require.Len(t, got, burst)
	for i, d := range got {
		require.Equal(t, receivedData{from: "alice", payload: fmt.Sprintf("msg-%02d", i)}, d, "in order")
	}
}
