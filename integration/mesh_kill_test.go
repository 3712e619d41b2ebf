package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
)

// The killed-edge test runs its victim edge in a child process: this test binary re-executed
// with meshChildEnv naming the node. The child starts an edge that joins the mesh through
// meshChildJoinEnv, connects meshChildVictims clients to it, prints one line
// "<meshChildReady><signal URL>" on stdout and runs until its stdin closes (or it is killed).

const (
	meshChildEnv     = "EDGE_MESH_CHILD"      // node id of the child edge
	meshChildJoinEnv = "EDGE_MESH_CHILD_JOIN" // gossip address to join
	meshChildRegion  = "EDGE_MESH_CHILD_REGION"
	meshChildMode    = "EDGE_MESH_CHILD_RELAY_MODE"
	meshChildRoom    = "killed"
	meshChildReady   = "MESHCHILD ready "
	meshChildVictims = 2
	// killDetectBound is the acceptance bound: an edge killed without leaving has its
	// participants removed from every other edge's clients within it.
	killDetectBound = 10 * time.Second
	// childStartTimeout bounds the child's start (a race-instrumented process on a busy host).
	childStartTimeout = time.Minute
)

// TestMeshChildEdge is not a test: it is the body of TestMeshEdgeKilled's child process.
func TestMeshChildEdge(t *testing.T) {
	id := os.Getenv(meshChildEnv)
	if id == "" {
		t.Skip("helper process of TestMeshEdgeKilled")
	}
	cfg := node.DevConfig()
	cfg.NodeID = id
	cfg.Region = "child"
	if r := os.Getenv(meshChildRegion); r != "" {
		cfg.Region = r
	}
	cfg.RelayMode = os.Getenv(meshChildMode)
	cfg.Port, cfg.RTCTCPPort, cfg.RTCUDPPort, cfg.GossipPort, cfg.RelayPort = 0, 0, 0, 0, 0
	cfg.Join = []string{os.Getenv(meshChildJoinEnv)}
	cfg.LogLevel = "warn"
	logger := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, NoColor: true, TimeFormat: "15:04:05.000"}).
		Level(zerolog.WarnLevel).With().Timestamp().Logger()
	n, err := node.New(cfg, logger)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, n.Start(ctx))
	for i := range meshChildVictims {
		meshJoin(t, n.URL(), meshChildRoom, fmt.Sprintf("victim-%d", i), false)
	}
	fmt.Printf("%s%s\n", meshChildReady, n.URL())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it (or dies)
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	require.NoError(t, n.Shutdown(sctx))
}

// childEdge is an edge node running in a child process.
type childEdge struct {
	cmd *exec.Cmd
	url string
}

// startChildEdge starts the child edge nodeID joining the gossip address join and waits until
// it is ready. The child is killed (if still running) and reaped when the test ends.
func startChildEdge(t *testing.T, nodeID, join string, env ...string) *childEdge {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestMeshChildEdge$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), meshChildEnv+"="+nodeID, meshChildJoinEnv+"="+join), env...)
	lw := &testLogWriter{t: t}
	cmd.Stderr = lw
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	ready := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if url, ok := strings.CutPrefix(sc.Text(), meshChildReady); ok {
				ready <- url
			}
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill() // the process this test started
		}
		<-scanned
		_ = cmd.Wait()
		lw.close()
	})
	select {
	case url := <-ready:
		return &childEdge{cmd: cmd, url: url}
	case <-scanned:
		t.Fatalf("child edge %s exited before it was ready", nodeID)
	case <-time.After(childStartTimeout):
		t.Fatalf("child edge %s not ready after %s", nodeID, childStartTimeout)
	}
	return nil
}

// TestMeshEdgeKilled (issue 3): an edge hosting two participants of a room is killed (SIGKILL:
// no leave, no goodbye to its clients or to the mesh). Clients on the two surviving edges get
// the participant-disconnected update for both within 10 s; the time is measured and logged.
func TestMeshEdgeKilled(t *testing.T) {
	nodes := startMesh(t, 2)
	var observers []*meshClient
	for i, n := range nodes {
		observers = append(observers, meshJoin(t, n.URL(), meshChildRoom, fmt.Sprintf("obs-%d", i), false))
	}
	child := startChildEdge(t, "edge-killed", nodes[0].GossipAddr())
	for _, n := range nodes {
		waitFor(t, func() bool { return n.AliveNodes() == 3 }, func() string {
			return sprintf("%s sees %d alive nodes, want 3", n.ID(), n.AliveNodes())
		})
	}
	victims := make([]string, meshChildVictims)
	for i := range victims {
		victims[i] = fmt.Sprintf("victim-%d", i)
	}
	for _, o := range observers {
		for _, v := range victims {
			waitFor(t, func() bool { return o.room.GetParticipantByIdentity(v) != nil },
				func() string { return sprintf("%s never saw %s on the child edge", o.identity, v) })
		}
	}

	killed := time.Now()
	require.NoError(t, child.cmd.Process.Kill())
	deadline := killed.Add(killDetectBound)
	var slowest time.Duration
	for _, o := range observers {
		for _, v := range victims {
			_, ok := pollUntil(time.Until(deadline)+time.Second, func() bool {
				_, ok := o.leftAt(v)
				return ok
			})
			require.True(t, ok, "%s still lists %s %s after the kill", o.identity, v, time.Since(killed).Round(time.Millisecond))
			at, _ := o.leftAt(v)
			slowest = max(slowest, at.Sub(killed))
			require.Nil(t, o.room.GetParticipantByIdentity(v), "%s still lists %s", o.identity, v)
		}
	}
	var dead time.Duration
	if at, ok := pollUntil(killDetectBound, func() bool {
		return nodes[0].AliveNodes() == 2 && nodes[1].AliveNodes() == 2
	}); ok {
		dead = at.Sub(killed)
	}
	t.Logf("killed edge: participants gone from every other edge's clients %s after SIGKILL (bound %s); "+
		"membership shows 2 alive nodes after %s", slowest.Round(time.Millisecond), killDetectBound,
		dead.Round(time.Millisecond))
	require.LessOrEqual(t, slowest, killDetectBound)
}
