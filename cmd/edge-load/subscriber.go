package main

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	protoLogger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/rs/zerolog"
)

// joinParams are what every participant of the load run needs to join.
type joinParams struct {
	url       string
	apiKey    string
	apiSecret string
	room      string
	singlePC  bool
	timeout   time.Duration
	sdkLogger protoLogger.Logger
}

func (p joinParams) options() []lksdk.ConnectOption {
	opts := []lksdk.ConnectOption{
		lksdk.WithAutoSubscribe(true),
		lksdk.WithConnectTimeout(p.timeout),
		lksdk.WithLogger(p.sdkLogger),
	}
	if p.singlePC {
		opts = append(opts, lksdk.WithSinglePeerConnection())
	}
	return opts
}

func (p joinParams) info(identity string) lksdk.ConnectInfo {
	return lksdk.ConnectInfo{
		APIKey: p.apiKey, APISecret: p.apiSecret, RoomName: p.room, ParticipantIdentity: identity,
	}
}

// subscriber is one auto-subscribing participant that counts what it receives.
//
// Concurrency: the SDK calls onTrackSubscribed from its own goroutines; snapshot and ready are
// safe from any goroutine; close is called once.
type subscriber struct {
	identity string
	log      zerolog.Logger

	mu       sync.Mutex // guards room and counters
	room     *lksdk.Room
	counters []*trackCounter
	readers  sync.WaitGroup
}

// subSnap is a point-in-time copy of one subscriber's counters.
type subSnap struct {
	identity string
	tracks   []counterSnap
}

func newSubscriber(identity string, log zerolog.Logger) *subscriber {
	return &subscriber{identity: identity, log: log.With().Str("participant", identity).Logger()}
}

// join connects the subscriber; media starts flowing once the node offers the tracks.
func (s *subscriber) join(p joinParams) error {
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = s.onTrackSubscribed
	room, err := lksdk.ConnectToRoom(p.url, p.info(s.identity), cb, p.options()...)
	if err != nil {
		return fmt.Errorf("join %s: %w", s.identity, err)
	}
	s.mu.Lock()
	s.room = room
	s.mu.Unlock()
	return nil
}

func (s *subscriber) onTrackSubscribed(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
	video := track.Kind() == webrtc.RTPCodecTypeVideo
	if video {
		// HIGH is the server's default; say it explicitly as browser SDKs do on attach.
		if err := pub.SetVideoQuality(livekit.VideoQuality_HIGH); err != nil {
			s.log.Warn().Err(err).Msg("set video quality")
		}
	}
	c := newTrackCounter(video)
	s.mu.Lock()
	s.counters = append(s.counters, c)
	s.readers.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.readers.Done()
		c.run(track)
	}()
}

// ready reports whether both an audio and a video track have delivered at least one packet.
func (s *subscriber) ready() bool {
	var audio, video bool
	for _, t := range s.snapshot().tracks {
		if t.packets > 0 {
			audio = audio || !t.video
			video = video || t.video
		}
	}
	return audio && video
}

func (s *subscriber) snapshot() subSnap {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := subSnap{identity: s.identity, tracks: make([]counterSnap, len(s.counters))}
	for i, c := range s.counters {
		snap.tracks[i] = c.snapshot()
	}
	return snap
}

// close leaves the room and waits (bounded by ctx) for the read loops to end.
func (s *subscriber) close(ctx context.Context) {
	s.mu.Lock()
	room := s.room
	s.room = nil
	s.mu.Unlock()
	if room == nil {
		return
	}
	room.Disconnect()
	done := make(chan struct{})
	go func() {
		s.readers.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.log.Warn().Msg("read loops still running after disconnect")
	}
}

// joinAll joins subs with at most parallel joins in flight. It fails when any join failed,
// naming how many and which; the subscribers that did join stay joined (the caller closes all
// of them).
func joinAll(ctx context.Context, subs []*subscriber, p joinParams, parallel int) error {
	sem := make(chan struct{}, max(parallel, 1))
	errs := make([]error, len(subs))
	var wg sync.WaitGroup
	for i, s := range subs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = s.join(p)
		}()
	}
	wg.Wait()
	var first error
	var failed []string
	for i, err := range errs {
		if err != nil {
			failed = append(failed, subs[i].identity)
			first = cmp.Or(first, err)
		}
	}
	if first != nil {
		return fmt.Errorf("%d of %d subscriber joins failed (%s); first: %w",
			len(failed), len(subs), strings.Join(failed, ", "), first)
	}
	return nil
}

// closeAll closes every subscriber concurrently, bounded by ctx.
func closeAll(ctx context.Context, subs []*subscriber) {
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.close(ctx)
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
