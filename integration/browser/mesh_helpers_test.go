package browser_test

import (
	"context"
	"encoding/binary"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/edgemesh/edge/node"
)

// meshWait bounds every wait of the mesh tests for a condition of the mesh.
const meshWait = 30 * time.Second

// checkMeshGoroutines is checkGoroutines for tests that run a mesh: memberlist's Shutdown does
// not wait for a probe in flight, which returns on its own once its ack timeout runs out.
func checkMeshGoroutines(t *testing.T) {
	t.Helper()
	opts := []goleak.Option{goleak.IgnoreCurrent(),
		goleak.IgnoreTopFunction("github.com/hashicorp/memberlist.(*Memberlist).probeNode")}
	t.Cleanup(func() { goleak.VerifyNone(t, opts...) })
}

// requireChromium skips the test when Chromium is not installed, except in CI (CI=true), where
// it fails. The mesh page needs no SDK bundle.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err == nil {
		return
	}
	msg := "browser test prerequisite missing: " + chromiumPath + " (apt-get install chromium)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// lineLog passes a node's log lines to t.Log until the test ends (t.Log panics afterwards).
type lineLog struct {
	mu     sync.Mutex // guards t and closed
	t      testing.TB
	closed bool
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (l *lineLog) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
}

// meshNode names one edge of startMeshNodes.
type meshNode struct{ id, region string }

// startMeshNodes starts one in-process edge per spec on 127.0.0.1 (ephemeral ports for
// signaling, ICE, gossip and relay), each joining the first one's gossip, and waits until every
// edge sees all of them alive. They are shut down in the cleanup, after everything registered
// later (clients, the browser).
func startMeshNodes(t *testing.T, specs ...meshNode) []*node.Node {
	t.Helper()
	var nodes []*node.Node
	for _, s := range specs {
		lw := &lineLog{t: t}
		t.Cleanup(lw.close)
		cfg := node.DevConfig()
		cfg.NodeID, cfg.Region = s.id, s.region
		cfg.Port, cfg.RTCTCPPort, cfg.RTCUDPPort, cfg.GossipPort, cfg.RelayPort = 0, 0, 0, 0, 0
		cfg.LogLevel = "warn"
		if len(nodes) > 0 {
			cfg.Join = []string{nodes[0].GossipAddr()}
		}
		logger := zerolog.New(zerolog.ConsoleWriter{Out: lw, NoColor: true, TimeFormat: "15:04:05"}).
			Level(zerolog.WarnLevel).With().Timestamp().Logger()
		n, err := node.New(cfg, logger)
		require.NoError(t, err, "node.New %s", s.id)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = n.Start(ctx)
		cancel()
		require.NoError(t, err, "start %s", s.id)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, n.Shutdown(ctx), "shutdown %s", s.id)
		})
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		require.Eventually(t, func() bool { return n.AliveNodes() == len(specs) }, meshWait, 20*time.Millisecond,
			"%s sees %d alive nodes, want %d", n.ID(), n.AliveNodes(), len(specs))
	}
	return nodes
}

// adminToken mints a dev-key token that may read the admin API (roomList).
func adminToken(t *testing.T) string {
	t.Helper()
	tok, err := auth.NewAccessToken(devAPIKey, devAPISecret).SetIdentity("ops").
		SetVideoGrant(&auth.VideoGrant{RoomList: true}).SetValidFor(10 * time.Minute).ToJWT()
	require.NoError(t, err)
	return tok
}

// sdkClient is one server-sdk-go participant; it counts the RTP packets of the tracks it
// subscribes to.
type sdkClient struct {
	room     *lksdk.Room
	received atomic.Int64
	readers  sync.WaitGroup
}

// quietSDKLogger is a logger for the SDK that drops everything below fatal.
func quietSDKLogger(t *testing.T) protologger.Logger {
	t.Helper()
	l, err := protologger.NewZapLogger(&protologger.Config{Level: "fatal"})
	require.NoError(t, err)
	return l
}

// silenceSDK hands the SDK's package-level logger (which it also gives pion) a quiet one; by
// default it prints pion's informational lines to stderr. It is process-wide: call it before
// the test starts any SDK client, while no SDK goroutine runs.
func silenceSDK(t *testing.T) {
	t.Helper()
	lksdk.SetLogger(quietSDKLogger(t))
}

// joinSDK connects identity to room on n with the Go SDK (auto-subscribe). The client leaves
// in the cleanup, which waits for its track readers to stop.
func joinSDK(t *testing.T, n *node.Node, room, identity string) *sdkClient {
	t.Helper()
	c := &sdkClient{}
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
		c.readers.Add(1)
		go func() {
			defer c.readers.Done()
			for {
				if _, _, err := track.ReadRTP(); err != nil {
					return
				}
				c.received.Add(1)
			}
		}()
	}
	r, err := lksdk.ConnectToRoomWithToken(n.URL(), joinToken(t, room, identity), cb,
		lksdk.WithAutoSubscribe(true), lksdk.WithLogger(quietSDKLogger(t)), lksdk.WithConnectTimeout(10*time.Second))
	require.NoError(t, err, "%s joins %s on %s", identity, room, n.ID())
	c.room = r
	t.Cleanup(func() {
		r.Disconnect()
		done := make(chan struct{})
		go func() { c.readers.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s: track readers did not stop after disconnect", identity)
		}
	})
	return c
}

// publishMic publishes a synthetic Opus microphone (20 ms frames) of c and returns its sid.
func publishMic(t *testing.T, c *sdkClient) string {
	t.Helper()
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	tr, err := lksdk.NewLocalSampleTrack(codec)
	require.NoError(t, err)
	require.NoError(t, tr.StartWrite(&opusFrames{}, nil))
	pub, err := c.room.LocalParticipant.PublishTrack(tr, &lksdk.TrackPublicationOptions{
		Name: "mic", Source: livekit.TrackSource_MICROPHONE,
	})
	require.NoError(t, err, "publish microphone")
	return pub.SID()
}

// opusFrames is a lksdk.SampleProvider of 20 ms Opus frames: a CELT-only fullband TOC byte
// (RFC 6716 §3.1, config 31), a frame counter and filler.
type opusFrames struct {
	lksdk.BaseSampleProvider
	n atomic.Uint32
}

// NextSample implements lksdk.SampleProvider.
func (s *opusFrames) NextSample(ctx context.Context) (media.Sample, error) {
	if err := ctx.Err(); err != nil {
		return media.Sample{}, err
	}
	b := make([]byte, 80)
	b[0] = 31 << 3
	binary.BigEndian.PutUint32(b[1:5], s.n.Add(1))
	for i := 5; i < len(b); i++ {
		b[i] = 0x55
	}
	return media.Sample{Data: b, Duration: 20 * time.Millisecond}, nil
}
