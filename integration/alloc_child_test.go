package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
)

// The processes of the constrained-link test re-execute this test binary inside a network
// namespace with allocChildEnv naming their role. They report on stdout, one line each:
// allocLinePrefix, then a kind, a space and a JSON object. They run until stdin closes.

const (
	allocChildEnv   = "EDGE_ALLOC_CHILD" // role: node, publisher or subscriber
	allocAddrEnv    = "EDGE_ALLOC_ADDR"  // the node's address
	allocRoom       = "alloc"
	allocLinePrefix = "ALLOC "
	allocSignalPort = 7880
	// The second edge (remote-edge variant) in the same namespace: its own ports, joining the
	// first edge's gossip.
	allocSignalPort2 = 7980
	// allocReportEvery is how often the subscriber reports.
	allocReportEvery = 250 * time.Millisecond
	// allocSteadyFrames frames of one layer in a row make that layer the steady one.
	allocSteadyFrames = 15
)

// allocLayers is the publisher's camera for this test: ~150k / 500k / 1.5M at 30 fps with a
// keyframe (three times a delta frame) every second.
func allocLayers() []simLayer {
	spec := func(q livekit.VideoQuality, w, h uint16, bps int) simLayer {
		// One second is keyframeInterval frames: one keyframe (3 deltas) and the rest deltas.
		delta := bps / 8 / (keyframeInterval + 2)
		return simLayer{quality: q, width: w, height: h, deltaSize: delta, keySize: 3 * delta, bitrate: uint32(bps)}
	}
	return []simLayer{
		spec(livekit.VideoQuality_LOW, 320, 180, 150_000),
		spec(livekit.VideoQuality_MEDIUM, 640, 360, 500_000),
		spec(livekit.VideoQuality_HIGH, 1280, 720, 1_500_000),
	}
}

// TestAllocChild is not a test: it is the body of the constrained-link test's child processes.
func TestAllocChild(t *testing.T) {
	role := os.Getenv(allocChildEnv)
	if role == "" {
		t.Skip("helper process of TestAllocationConstrainedLink")
	}
	addr := os.Getenv(allocAddrEnv)
	require.NotEmpty(t, addr, allocAddrEnv)
	switch role {
	case "node":
		allocChildNode(t, addr, false)
	case "node2":
		allocChildNode(t, addr, true)
	case "publisher":
		allocChildPublisher(t, addr)
	case "subscriber":
		allocChildSubscriber(t, addr, allocSignalPort)
	case "subscriber2":
		allocChildSubscriber(t, addr, allocSignalPort2)
	default:
		t.Fatalf("unknown role %q", role)
	}
}

// emit writes one report line.
func emit(kind string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are reported
	}
	fmt.Printf("%s%s %s\n", allocLinePrefix, kind, b)
}

// untilStdinCloses blocks until the parent closes our stdin.
func untilStdinCloses() { _, _ = io.Copy(io.Discard, os.Stdin) }

func allocChildNode(t *testing.T, addr string, second bool) {
	cfg := node.DevConfig()
	cfg.Bind = addr
	if second {
		cfg.NodeID = "edge-b"
		cfg.Port, cfg.RTCTCPPort, cfg.RTCUDPPort = allocSignalPort2, 7981, 7982
		cfg.GossipPort, cfg.RelayPort = 7947, 7984
		cfg.Join = []string{net.JoinHostPort(addr, "7946")}
	} else {
		cfg.NodeID = "edge-a"
	}
	cfg.LogLevel = "debug"
	logger := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, NoColor: true, TimeFormat: "15:04:05.000"}).
		Level(zerolog.DebugLevel).With().Timestamp().Logger()
	n, err := node.New(cfg, logger)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, n.Start(ctx))
	emit("ready", map[string]string{"url": n.URL()})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the node's media counters, once a second, for the test log
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		c := n.Counters()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				logger.Info().Uint64("packetsOut", c.PacketsOut.Load()).Uint64("bytesOut", c.BytesOut.Load()).
					Uint64("nacks", c.NACKsIn.Load()).Uint64("retransmits", c.Retransmits.Load()).
					Uint64("plis", c.PLIsIn.Load()).Msg("media counters")
			}
		}
	}()
	untilStdinCloses()
	close(stop)
	<-done
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	require.NoError(t, n.Shutdown(sctx))
}

// allocJoin connects identity to the test room through url.
func allocJoin(t *testing.T, url, identity string) *client {
	t.Helper()
	ev := newEvents()
	tok := mintToken(t, tokenSpec{identity: identity, grant: fullGrant(allocRoom)})
	r, err := lksdk.ConnectToRoomWithToken(url, tok, ev.callbacks(),
		lksdk.WithAutoSubscribe(true), lksdk.WithLogger(sdkLogger()), lksdk.WithConnectTimeout(20*time.Second))
	require.NoError(t, err, "join %s", identity)
	c := &client{identity: identity, room: r, ev: ev}
	t.Cleanup(func() { c.leave(t) })
	return c
}

func allocChildPublisher(t *testing.T, addr string) {
	c := allocJoin(t, "ws://"+net.JoinHostPort(addr, fmt.Sprint(allocSignalPort)), "publisher")
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	var tracks []*lksdk.LocalTrack
	for i, l := range allocLayers() {
		src := newVP8Source(i, l)
		tr, err := lksdk.NewLocalTrack(codec,
			lksdk.WithSimulcast("publisher-camera", &livekit.VideoLayer{
				Quality: l.quality, Width: uint32(l.width), Height: uint32(l.height), Bitrate: l.bitrate,
			}),
			lksdk.WithRTCPHandler(src.onRTCP),
		)
		require.NoError(t, err)
		require.NoError(t, tr.StartWrite(src, nil))
		tracks = append(tracks, tr)
	}
	cam, err := c.room.LocalParticipant.PublishSimulcastTrack(tracks, &lksdk.TrackPublicationOptions{
		Name: cameraName, Source: livekit.TrackSource_CAMERA, VideoWidth: 1280, VideoHeight: 720,
	})
	require.NoError(t, err)
	mic := publishMic(t, c)
	emit("published", map[string]string{"video": cam.SID(), "audio": mic.pub.SID()})
	untilStdinCloses()
}

// allocStatus is what the subscriber reports every allocReportEvery. Counters are cumulative.
type allocStatus struct {
	Elapsed       time.Duration      `json:"elapsed"`
	Video         trackCounts        `json:"video"`
	Audio         trackCounts        `json:"audio"`
	Frames        [3]int             `json:"frames"`  // frame starts per layer (retransmitted ones included)
	Newest        [3]uint32          `json:"newest"`  // highest frame counter per layer: only new frames advance it
	Layer         int                `json:"layer"`   // layer of the newest frame, -1 if none
	Steady        int                `json:"steady"`  // layer of the last allocSteadyFrames frames, -1 if mixed
	Padding       int                `json:"padding"` // padding-only packets
	StreamStates  []streamStateEvent `json:"streamStates"`
	PayloadErrors string             `json:"payloadErrors,omitempty"`
}

// trackCounts are the RTP packets of one track: received (retransmissions that filled a gap
// included) and expected from the first to the newest sequence number.
type trackCounts struct {
	Received int64 `json:"received"`
	Expected int64 `json:"expected"`
}

// countPackets derives trackCounts from a recorder's records (sequence numbers unwrapped in
// arrival order).
func countPackets(recs []rtpRecord) trackCounts {
	if len(recs) == 0 {
		return trackCounts{}
	}
	var ext, lo, hi int64
	prev := recs[0].seq
	ext, lo, hi = int64(prev), int64(prev), int64(prev)
	for _, r := range recs[1:] {
		ext += int64(int16(r.seq - prev))
		prev = r.seq
		lo, hi = min(lo, ext), max(hi, ext)
	}
	return trackCounts{Received: int64(len(recs)), Expected: hi - lo + 1}
}

func allocChildSubscriber(t *testing.T, addr string, port int) {
	tap, err := startSignalTap(net.JoinHostPort(addr, fmt.Sprint(port)))
	require.NoError(t, err)
	t.Cleanup(tap.close)
	c := allocJoin(t, tap.URL(), "subscriber")
	start := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(allocReportEvery)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				emit("status", subscriberStatus(c, tap, time.Since(start)))
			}
		}
	}()
	untilStdinCloses()
	close(stop)
	wg.Wait()
}

// subscriberStatus summarises what the subscriber received so far.
func subscriberStatus(c *client, tap *signalTap, elapsed time.Duration) allocStatus {
	st := allocStatus{Elapsed: elapsed, Layer: -1, Steady: -1, StreamStates: tap.events()}
	for _, r := range c.ev.recorders() {
		recs := r.snapshot()
		if r.kind == lksdk.TrackKindAudio {
			st.Audio = countPackets(recs)
			continue
		}
		st.Video = countPackets(recs)
		if err := r.err(); err != nil {
			st.PayloadErrors = err.Error()
		}
		var last []int
		for _, rec := range recs {
			switch {
			case rec.padding:
				st.Padding++
			case rec.frameStart && rec.layer >= 0 && rec.layer < len(st.Frames):
				st.Frames[rec.layer]++
				st.Newest[rec.layer] = max(st.Newest[rec.layer], rec.counter)
				st.Layer = rec.layer
				last = append(last, rec.layer)
			}
		}
		if n := len(last); n >= allocSteadyFrames {
			st.Steady = last[n-1]
			for _, l := range last[n-allocSteadyFrames:] {
				if l != st.Steady {
					st.Steady = -1
				}
			}
		}
	}
	return st
}
