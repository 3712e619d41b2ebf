package buffer

import (
	"math/bits"
	"strings"
	"time"
)

// Defaults applied by New to zero fields of Params.
const (
	DefaultVideoCacheSize = 512
	DefaultAudioCacheSize = 128
	DefaultMaxPacketSize  = 1500
	DefaultVideoClockRate = 90000
	DefaultAudioClockRate = 48000

	// MaxCacheSize bounds Params.Size: the cache window must stay below half
	// of the 16-bit sequence space so a sequence number maps to exactly one
	// cached packet.
	MaxCacheSize = 1 << 15
	minCacheSize = 16
	// minPacketSize is the size of a fixed RTP header (RFC 3550 §5.1).
	minPacketSize = 12
)

// Params configures a Buffer. The zero value of every field except SSRC and
// MimeType selects a documented default.
type Params struct {
	// SSRC of the stream; Push rejects packets of any other SSRC.
	SSRC uint32
	// ClockRate is the RTP clock rate in Hz, used for jitter. Default 90000
	// for video and 48000 for audio.
	ClockRate uint32
	// MimeType of the codec, e.g. "video/VP8" (case-insensitive). It selects
	// keyframe detection and VP8 descriptor parsing.
	MimeType string
	// Size is the packet cache capacity in packets, rounded up to a power of
	// two and clamped to [16, MaxCacheSize]. Default 512 for video, 128 for
	// audio. It is also the reordering window: older packets get ErrTooOld.
	Size int
	// AudioLevelExtID is the RTP header extension id of ssrc-audio-level
	// (RFC 6464); 0 = none.
	AudioLevelExtID uint8
	// MaxPacketSize is the largest packet accepted, in bytes. Default 1500.
	MaxPacketSize int
	// Now is the clock used for the Stats interval (bitrate). Default
	// time.Now. Packet arrival times are passed to Push instead.
	Now func() time.Time
}

func (p Params) isAudio() bool {
	const audioPrefix = "audio/"
	return len(p.MimeType) >= len(audioPrefix) && strings.EqualFold(p.MimeType[:len(audioPrefix)], audioPrefix)
}

// withDefaults returns p with zero fields defaulted and Size normalized.
func (p Params) withDefaults() Params {
	audio := p.isAudio()
	if p.ClockRate == 0 {
		p.ClockRate = DefaultVideoClockRate
		if audio {
			p.ClockRate = DefaultAudioClockRate
		}
	}
	if p.Size <= 0 {
		p.Size = DefaultVideoCacheSize
		if audio {
			p.Size = DefaultAudioCacheSize
		}
	}
	p.Size = roundCacheSize(p.Size)
	if p.MaxPacketSize <= 0 {
		p.MaxPacketSize = DefaultMaxPacketSize
	}
	if p.MaxPacketSize < minPacketSize {
		p.MaxPacketSize = minPacketSize
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	return p
}

// roundCacheSize rounds n up to a power of two within [minCacheSize, MaxCacheSize].
func roundCacheSize(n int) int {
	if n <= minCacheSize {
		return minCacheSize
	}
	if n >= MaxCacheSize {
		return MaxCacheSize
	}
	return 1 << bits.Len(uint(n-1))
}
