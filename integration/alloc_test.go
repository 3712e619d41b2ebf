package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAllocationConstrainedLink is the stream allocator's acceptance test. A server-sdk-go
// subscriber sits behind a rate-limited link (tbf on a veth into a network namespace the test
// creates); the publisher sends 3-layer VP8 simulcast (~150k / 500k / 1.5M) and Opus. The node,
// the publisher and the subscriber are child processes (this test binary, re-executed inside the
// namespaces). The test checks:
//   - 700 kbit/s: the subscriber settles on the middle layer within 10 s and loses < 2 % of its
//     packets over the following 10 s, staying on that layer;
//   - 5 Mbit/s: it reaches the high layer within 15 s;
//   - 100 kbit/s: video is paused, the client is told (StreamStateUpdate PAUSED), and audio keeps
//     arriving;
//   - 5 Mbit/s again: video resumes (StreamStateUpdate ACTIVE).
//
// The measured times are logged.
//
// It runs twice: with the subscriber on the publisher's edge, and with the subscriber on a
// second edge of the mesh that receives the track over the QUIC relay (both edges in the node
// namespace; the constrained link is the second edge's link to its subscriber).
func TestAllocationConstrainedLink(t *testing.T) {
	requireAllocNetns(t)
	t.Run("local edge", func(t *testing.T) { runConstrainedLink(t, false) })
	t.Run("remote edge", func(t *testing.T) { runConstrainedLink(t, true) })
}

func runConstrainedLink(t *testing.T, remote bool) {
	netw := newAllocNet(t)
	netw.shape(t, "700kbit", "10kb")

	nodeP := startAllocChild(t, netw.nodeNS, "node", netw.nodeAddr)
	nodeP.await(t, "ready", 60*time.Second)
	subRole := "subscriber"
	if remote {
		edge2 := startAllocChild(t, netw.nodeNS, "node2", netw.nodeAddr)
		edge2.await(t, "ready", 60*time.Second)
		subRole = "subscriber2"
	}
	pubP := startAllocChild(t, netw.nodeNS, "publisher", netw.nodeAddr)
	published := pubP.await(t, "published", 60*time.Second)
	var sids struct{ Video, Audio string }
	require.True(t, json.Unmarshal([]byte(published), &sids) == nil, "publisher report %q", published)
	subP := startAllocChild(t, netw.subNS, subRole, netw.nodeAddr)

	first := subP.awaitStatus(t, "first video packet", 60*time.Second, func(s allocStatus) bool { return s.Video.Received > 0 })
	began := first.Elapsed

	// 700 kbit/s: on the middle layer 10 s after the first video packet, since when?
	mark := subP.awaitStatus(t, "700 kbit/s: 10 s", 20*time.Second,
		func(s allocStatus) bool { return s.Elapsed >= began+10*time.Second })
	require.True(t, mark.Steady == 1, "700 kbit/s: not steady on the middle layer 10 s after the first video packet: %s", mark)
	settled := subP.runStart(func(s allocStatus) bool { return s.Steady == 1 })
	t.Logf("700 kbit/s: steady on the middle layer %v after the first video packet", (settled.Elapsed - began).Round(10*time.Millisecond))
	// ... and there for the next 10 s with < 2 % loss.
	end := subP.awaitStatus(t, "700 kbit/s: 10 s window", 20*time.Second,
		func(s allocStatus) bool { return s.Elapsed >= settled.Elapsed+10*time.Second })
	require.True(t, end.Frames[0] == settled.Frames[0] && end.Frames[2] == settled.Frames[2],
		"700 kbit/s: frames of other layers during the window: low %d→%d, high %d→%d",
		settled.Frames[0], end.Frames[0], settled.Frames[2], end.Frames[2])
	require.True(t, end.Frames[1]-settled.Frames[1] >= 250, "700 kbit/s: only %d middle-layer frames in 10 s",
		end.Frames[1]-settled.Frames[1])
	loss := windowLoss(settled, end)
	t.Logf("700 kbit/s: loss over the 10 s window %.2f %% (video %d/%d, audio %d/%d received/expected)", 100*loss,
		end.Video.Received-settled.Video.Received, end.Video.Expected-settled.Video.Expected,
		end.Audio.Received-settled.Audio.Received, end.Audio.Expected-settled.Audio.Expected)
	require.True(t, loss < 0.02, "700 kbit/s: loss %.2f %% over 10 s", 100*loss)

	// 5 Mbit/s: the high layer within 15 s.
	netw.shape(t, "5mbit", "64kb")
	lifted := subP.latest()
	high := subP.awaitStatus(t, "5 Mbit/s: steady on the high layer", 15*time.Second,
		func(s allocStatus) bool { return s.Steady == 2 })
	t.Logf("5 Mbit/s: steady on the high layer %v after the link was lifted", (high.Elapsed - lifted.Elapsed).Round(10*time.Millisecond))

	// 100 kbit/s: video paused, the client told, audio still arriving.
	netw.shape(t, "100kbit", "2kb")
	cut := subP.latest()
	paused := subP.awaitStatus(t, "100 kbit/s: video paused (StreamStateUpdate)", 30*time.Second,
		func(s allocStatus) bool { return lastState(s, sids.Video) == "PAUSED" })
	t.Logf("100 kbit/s: client told video PAUSED %v after the link was cut", (paused.Elapsed - cut.Elapsed).Round(10*time.Millisecond))
	// What was queued on the link when the pause came drains within a second; then no video
	// arrives, and audio does (50 packets/s).
	drained := subP.awaitStatus(t, "100 kbit/s: 1 s after the pause", 10*time.Second,
		func(s allocStatus) bool { return s.Elapsed >= paused.Elapsed+time.Second })
	after := subP.awaitStatus(t, "100 kbit/s: 2 s more", 10*time.Second,
		func(s allocStatus) bool { return s.Elapsed >= drained.Elapsed+2*time.Second })
	audio := after.Audio.Received - drained.Audio.Received
	t.Logf("100 kbit/s: from 1 s to 3 s after the pause %d audio packets; newest video frame per layer %v → %v",
		audio, drained.Newest, after.Newest)
	require.True(t, audio >= 80, "100 kbit/s: only %d audio packets in 2 s while video is paused", audio)
	require.True(t, after.Newest == drained.Newest, "100 kbit/s: new video frames arrived while paused: %v → %v",
		drained.Newest, after.Newest)

	// 5 Mbit/s again: video resumes.
	netw.shape(t, "5mbit", "64kb")
	restored := subP.latest()
	resumed := subP.awaitStatus(t, "5 Mbit/s again: video resumed", 30*time.Second, func(s allocStatus) bool {
		return lastState(s, sids.Video) == "ACTIVE" && framesTotal(s) > framesTotal(after)+30
	})
	t.Logf("5 Mbit/s again: video ACTIVE and flowing %v after the link was restored (now on layer %d)",
		(resumed.Elapsed - restored.Elapsed).Round(10*time.Millisecond), resumed.Layer)
	require.True(t, resumed.PayloadErrors == "", "video payload: %s", resumed.PayloadErrors)
}

func framesTotal(s allocStatus) int { return s.Frames[0] + s.Frames[1] + s.Frames[2] }

// lastState is the newest stream state the client was sent for track, "" if none.
func lastState(s allocStatus, track string) string {
	state := ""
	for _, e := range s.StreamStates {
		if e.Track == track {
			state = e.State
		}
	}
	return state
}

// windowLoss is the share of expected packets (video and audio) not received between a and b.
func windowLoss(a, b allocStatus) float64 {
	expected := (b.Video.Expected - a.Video.Expected) + (b.Audio.Expected - a.Audio.Expected)
	received := (b.Video.Received - a.Video.Received) + (b.Audio.Received - a.Audio.Received)
	if expected <= 0 {
		return 1
	}
	return max(float64(expected-received)/float64(expected), 0)
}

// allocChild is one child process of the test.
type allocChild struct {
	role  string
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu      sync.Mutex // guards reports, status, history and logOpen
	reports map[string]string
	status  *allocStatus
	history []allocStatus
	logOpen bool
	changed chan struct{} // capacity 1: a report arrived
}

// startAllocChild runs this test binary's TestAllocChild in namespace ns with role. It is
// stopped (stdin closed, then killed after 15 s) when the test ends.
func startAllocChild(t *testing.T, ns, role, addr string) *allocChild {
	t.Helper()
	exe, err := os.Executable()
	require.True(t, err == nil, "test binary: %v", err)
	c := &allocChild{role: role, reports: map[string]string{}, logOpen: true, changed: make(chan struct{}, 1)}
	t.Cleanup(func() { // registered first: runs last, after the process is gone
		c.mu.Lock()
		c.logOpen = false
		c.mu.Unlock()
	})
	c.cmd = exec.Command("ip", "netns", "exec", ns, exe, "-test.run=^TestAllocChild$", "-test.count=1")
	c.cmd.Env = append(os.Environ(), allocChildEnv+"="+role, allocAddrEnv+"="+addr)
	c.stdin, err = c.cmd.StdinPipe()
	require.True(t, err == nil, "stdin: %v", err)
	stdout, err := c.cmd.StdoutPipe()
	require.True(t, err == nil, "stdout: %v", err)
	stderr, err := c.cmd.StderrPipe()
	require.True(t, err == nil, "stderr: %v", err)
	require.True(t, c.cmd.Start() == nil, "start %s", role)
	var readers sync.WaitGroup
	readers.Add(2)
	go func() { defer readers.Done(); c.readStdout(t, stdout) }()
	go func() { defer readers.Done(); c.readStderr(t, stderr) }()
	t.Cleanup(func() {
		_ = c.stdin.Close()
		done := make(chan error, 1)
		go func() { readers.Wait(); done <- c.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Logf("%s exited: %v", role, err)
			}
		case <-time.After(15 * time.Second):
			t.Logf("%s did not stop: killing it", role)
			_ = c.cmd.Process.Kill()
			<-done
		}
	})
	return c
}

// logf forwards a line of the child to the test log while the test runs.
func (c *allocChild) logf(t *testing.T, format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.logOpen {
		t.Logf(format, args...)
	}
}

func (c *allocChild) readStdout(t *testing.T, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, allocLinePrefix)
		if !ok {
			c.logf(t, "[%s] %s", c.role, line)
			continue
		}
		kind, body, _ := strings.Cut(rest, " ")
		c.mu.Lock()
		c.reports[kind] = body
		if kind == "status" {
			var st allocStatus
			if json.Unmarshal([]byte(body), &st) == nil {
				c.status = &st
				c.history = append(c.history, st)
			}
		}
		c.mu.Unlock()
		select {
		case c.changed <- struct{}{}:
		default:
		}
	}
}

// readStderr forwards what tells the story of the allocation: its decisions and probes, and
// warnings and errors.
func (c *allocChild) readStderr(t *testing.T, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "allocation changed") || strings.Contains(line, "probe finished") ||
			strings.Contains(line, "estimate changed") || strings.Contains(line, "media counters") ||
			strings.Contains(line, " WRN ") || strings.Contains(line, " ERR ") || strings.Contains(line, "panic") ||
			strings.Contains(line, "FAIL") || c.role != "node" {
			c.logf(t, "[%s] %s", c.role, line)
		}
	}
}

// await waits for a report of kind and returns its JSON body.
func (c *allocChild) await(t *testing.T, kind string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		body, ok := c.reports[kind]
		c.mu.Unlock()
		if ok {
			return body
		}
		select {
		case <-c.changed:
		case <-deadline:
			t.Fatalf("%s: no %q report after %v", c.role, kind, timeout)
		}
	}
}

// latest returns the newest status (the zero status if none yet).
func (c *allocChild) latest() allocStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status == nil {
		return allocStatus{Layer: -1, Steady: -1}
	}
	return *c.status
}

// runStart returns the first status of the newest run of statuses that satisfy cond (the zero
// status if the newest does not).
func (c *allocChild) runStart(cond func(allocStatus) bool) allocStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	start := allocStatus{Layer: -1, Steady: -1}
	for i := len(c.history) - 1; i >= 0 && cond(c.history[i]); i-- {
		start = c.history[i]
	}
	return start
}

// awaitStatus waits until a status satisfies cond and returns it; on timeout it fails with the
// last status.
func (c *allocChild) awaitStatus(t *testing.T, what string, timeout time.Duration, cond func(allocStatus) bool) allocStatus {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if s := c.latest(); cond(s) {
			return s
		}
		select {
		case <-c.changed:
		case <-deadline:
			s := c.latest()
			b, _ := json.Marshal(s)
			t.Fatalf("%s: not reached within %v; last status: %s", what, timeout, b)
		}
	}
}

// String makes a status readable in failure messages.
func (s allocStatus) String() string {
	return fmt.Sprintf("t=%v layer=%d steady=%d frames=%v video=%+v audio=%+v padding=%d states=%d",
		s.Elapsed.Round(time.Millisecond), s.Layer, s.Steady, s.Frames, s.Video, s.Audio, s.Padding, len(s.StreamStates))
}
