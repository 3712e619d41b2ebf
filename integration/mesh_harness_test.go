package integration

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
)

// startMesh starts count edge nodes on 127.0.0.1 with ephemeral ports, each joining the first
// one's gossip, in region "r<i>", and waits until every node sees all of them alive.
func startMesh(t *testing.T, count int) []*node.Node {
	t.Helper()
	nodes := make([]*node.Node, 0, count)
	for i := range count {
		lw := &testLogWriter{t: t}
		t.Cleanup(lw.close)
		cfg := node.DevConfig()
		cfg.NodeID = fmt.Sprintf("edge-%d", i)
		cfg.Region = fmt.Sprintf("r%d", i)
		cfg.Port, cfg.RTCTCPPort, cfg.RTCUDPPort, cfg.GossipPort, cfg.RelayPort = 0, 0, 0, 0, 0
		cfg.LogLevel = "warn"
		if v := os.Getenv(envNodeLog); v != "" {
			cfg.LogLevel = v
		}
		if i > 0 {
			cfg.Join = []string{nodes[0].GossipAddr()}
		}
		level, err := zerolog.ParseLevel(cfg.LogLevel)
		require.NoError(t, err)
		logger := zerolog.New(zerolog.ConsoleWriter{Out: lw, NoColor: true, TimeFormat: "15:04:05"}).
			Level(level).With().Timestamp().Logger()
		n, err := node.New(cfg, logger)
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		require.NoError(t, n.Start(ctx), "start %s", cfg.NodeID)
		cancel()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, n.Shutdown(ctx), "shutdown %s", cfg.NodeID)
		})
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		waitFor(t, func() bool { return n.AliveNodes() == count },
			func() string { return sprintf("%s sees %d alive nodes, want %d", n.ID(), n.AliveNodes(), count) })
	}
	return nodes
}

// TestMeshSmoke: a publisher on edge 0 and a subscriber on edge 1 of one room: the subscriber
// sees the publisher and receives its audio and video through the relay, and data crosses.
func TestMeshSmoke(t *testing.T) {
	nodes := startMesh(t, 2)
	a := joinRoom(t, nodes[0], "mesh", "alice")
	b := joinRoom(t, nodes[1], "mesh", "bob")
	waitFor(t, func() bool { return b.room.GetParticipantByIdentity("alice") != nil },
		func() string { return "bob never saw alice from the other edge" })
	mic := publishMic(t, a)
	cam := publishCamera(t, a)
	waitPackets(t, b.subscribed(t, mic.pub.SID()), 50, "bob receives alice's microphone across edges")
	waitPackets(t, b.subscribed(t, cam.pub.SID()), 50, "bob receives alice's camera across edges")
}
