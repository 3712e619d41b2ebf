package main

import (
	"fmt"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// publisher is the one participant that publishes Opus audio and 3-layer VP8 simulcast video
// from synthetic sources. The SDK's write workers pace the sources and skip layers the node
// has paused (dynacast); PLI/FIR on a layer makes that layer's next frame a keyframe.
//
// Concurrency: the sources' counters may be read from any goroutine; close is called once.
type publisher struct {
	room     *lksdk.Room
	dynacast *dynacastLog
	video    [3]*vp8Source
	tracks   []*lksdk.LocalTrack
}

// publisherStats are the publisher-side counters reported after the run.
type publisherStats struct {
	rid       [3]string
	plis      [3]uint64
	keyframes [3]uint64
}

// startPublisher joins as identity and publishes the audio and simulcast video tracks. The
// node's layer pauses (dynacast) are recorded in the publisher's dynacast log.
func startPublisher(p joinParams, identity string) (*publisher, error) {
	dc := newDynacastLog(time.Now)
	p.sdkLogger = watchingLogger{next: p.sdkLogger, dc: dc}
	room, err := lksdk.ConnectToRoom(p.url, p.info(identity), lksdk.NewRoomCallback(), p.options()...)
	if err != nil {
		return nil, fmt.Errorf("%w: join %s: %w", errPublish, identity, err)
	}
	pub := &publisher{room: room, dynacast: dc}
	if err := pub.publish(); err != nil {
		pub.close()
		return nil, err
	}
	return pub, nil
}

func (pub *publisher) publish() error {
	audio, err := lksdk.NewLocalTrack(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
	})
	if err != nil {
		return fmt.Errorf("%w: audio track: %w", errPublish, err)
	}
	pub.tracks = append(pub.tracks, audio)
	if err := audio.StartWrite(newOpusSource(1), nil); err != nil {
		return fmt.Errorf("%w: audio writer: %w", errPublish, err)
	}
	if _, err := pub.room.LocalParticipant.PublishTrack(audio, &lksdk.TrackPublicationOptions{
		Name: "mic", Source: livekit.TrackSource_MICROPHONE,
	}); err != nil {
		return fmt.Errorf("%w: audio: %w", errPublish, err)
	}

	qualities := [3]livekit.VideoQuality{livekit.VideoQuality_LOW, livekit.VideoQuality_MEDIUM, livekit.VideoQuality_HIGH}
	layers := simulcastLayers()
	video := make([]*lksdk.LocalTrack, 0, len(layers))
	for i, spec := range layers {
		src := newVP8Source(spec, uint64(i+2))
		pub.video[i] = src
		t, err := lksdk.NewLocalTrack(
			webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
			lksdk.WithSimulcast("camera", &livekit.VideoLayer{
				Quality: qualities[i], Width: uint32(spec.width), Height: uint32(spec.height),
				Bitrate: uint32(spec.bitrate),
			}),
			lksdk.WithRTCPHandler(keyframeOnPLI(src)),
		)
		if err != nil {
			return fmt.Errorf("%w: video layer %s: %w", errPublish, spec.rid, err)
		}
		pub.tracks = append(pub.tracks, t)
		if err := t.StartWrite(src, nil); err != nil {
			return fmt.Errorf("%w: video writer %s: %w", errPublish, spec.rid, err)
		}
		video = append(video, t)
	}
	top := layers[len(layers)-1]
	if _, err := pub.room.LocalParticipant.PublishSimulcastTrack(video, &lksdk.TrackPublicationOptions{
		Name: "camera", Source: livekit.TrackSource_CAMERA,
		VideoWidth: int(top.width), VideoHeight: int(top.height),
	}); err != nil {
		return fmt.Errorf("%w: video: %w", errPublish, err)
	}
	return nil
}

// keyframeOnPLI returns an RTCP handler that asks src for a keyframe on PLI or FIR.
func keyframeOnPLI(src *vp8Source) func(rtcp.Packet) {
	return func(p rtcp.Packet) {
		switch p.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			src.requestKeyframe()
		}
	}
}

func (pub *publisher) stats() publisherStats {
	var s publisherStats
	for i, src := range pub.video {
		if src == nil {
			continue
		}
		s.rid[i] = src.spec.rid
		s.plis[i] = src.plis.Load()
		s.keyframes[i] = src.keyframes.Load()
	}
	return s
}

// close stops the writers and leaves the room.
func (pub *publisher) close() {
	for _, t := range pub.tracks {
		_ = t.Close()
	}
	pub.room.Disconnect()
}
