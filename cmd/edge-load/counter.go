package main

import (
	"sync/atomic"

	"github.com/pion/webrtc/v4"
)

// trackCounter counts the RTP packets one subscriber receives on one track.
//
// Concurrency: run (or observe) is called by one goroutine, the track's read loop; snapshot
// may be called from any goroutine at any time (it reads atomics; its fields may be one
// packet apart from each other).
type trackCounter struct {
	video bool

	packets   atomic.Uint64
	bytes     atomic.Uint64
	expected  atomic.Uint64 // highest extended sequence number - first + 1 (RFC 3550 A.3)
	keyframes atomic.Uint64
	lastKey   atomic.Uint32 // width<<16 | height of the last keyframe seen (video)

	// Owned by the read loop.
	started  bool
	firstExt uint64
	highExt  uint64
}

// counterSnap is a point-in-time copy of a trackCounter.
type counterSnap struct {
	video     bool
	packets   uint64
	bytes     uint64
	expected  uint64
	keyframes uint64
	keyWidth  uint16
	keyHeight uint16
}

func newTrackCounter(video bool) *trackCounter {
	return &trackCounter{video: video}
}

// run reads track until it fails (the peer connection closed), counting every packet. It
// reuses one buffer: no allocation per packet.
func (c *trackCounter) run(track *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			return
		}
		c.observe(buf[:n])
	}
}

// observe accounts one raw RTP packet.
func (c *trackCounter) observe(pkt []byte) {
	v, ok := parseRTP(pkt)
	if !ok {
		return
	}
	c.packets.Add(1)
	c.bytes.Add(uint64(len(pkt)))
	c.track(v.seq)
	if c.video {
		if w, h, key := vp8Keyframe(v.payload); key {
			c.keyframes.Add(1)
			c.lastKey.Store(uint32(w)<<16 | uint32(h))
		}
	}
}

// track extends seq to 64 bits against the highest sequence number seen so far and updates the
// expected count. Late and duplicate packets do not move the highest number.
func (c *trackCounter) track(seq uint16) {
	if !c.started {
		c.started = true
		c.firstExt = 1<<16 | uint64(seq) // room below for reordered packets
		c.highExt = c.firstExt
		c.expected.Store(1)
		return
	}
	diff := int16(seq - uint16(c.highExt))
	if diff <= 0 {
		return
	}
	c.highExt += uint64(diff)
	c.expected.Store(c.highExt - c.firstExt + 1)
}

func (c *trackCounter) snapshot() counterSnap {
	k := c.lastKey.Load()
	return counterSnap{
		video:     c.video,
		packets:   c.packets.Load(),
		bytes:     c.bytes.Load(),
		expected:  c.expected.Load(),
		keyframes: c.keyframes.Load(),
		keyWidth:  uint16(k >> 16),
		keyHeight: uint16(k),
	}
}
