// Package codec parses the codec-specific parts of RTP payloads that an SFU
// needs on its media path: the VP8 payload descriptor (RFC 7741), keyframe
// detection for VP8, H.264 (RFC 6184), VP9 (RFC 9628) and AV1 (AV1 RTP
// specification), and the client-to-mixer audio level extension (RFC 6464).
//
// Everything here is pure: no state, no I/O, no allocation. All functions are
// safe for concurrent use.
package codec

import "strings"

// MIME types of the codecs the SFU understands, spelled as pion/webrtc spells
// them. Comparisons against them are case-insensitive (RFC 6838 §4.2).
const (
	MimeOpus = "audio/opus"
	MimeRED  = "audio/red"
	MimeVP8  = "video/VP8"
	MimeH264 = "video/H264"
	MimeVP9  = "video/VP9"
	MimeAV1  = "video/AV1"
)

// Codec identifies a codec by a small integer so that per-packet code can
// switch on it instead of comparing MIME strings. The zero value is
// CodecUnknown.
type Codec uint8

// Known codecs.
const (
	CodecUnknown Codec = iota
	CodecOpus
	CodecRED
	CodecVP8
	CodecH264
	CodecVP9
	CodecAV1
)

var codecNames = [...]string{
	CodecUnknown: "unknown",
	CodecOpus:    MimeOpus,
	CodecRED:     MimeRED,
	CodecVP8:     MimeVP8,
	CodecH264:    MimeH264,
	CodecVP9:     MimeVP9,
	CodecAV1:     MimeAV1,
}

// CodecFromMime maps a MIME type (case-insensitive, e.g. "video/vp8") to a
// Codec; unknown types map to CodecUnknown.
func CodecFromMime(mime string) Codec {
	for c := CodecOpus; int(c) < len(codecNames); c++ {
		if strings.EqualFold(mime, codecNames[c]) {
			return c
		}
	}
	return CodecUnknown
}

// String returns the codec's MIME type, or "unknown".
func (c Codec) String() string {
	if int(c) < len(codecNames) {
		return codecNames[c]
	}
	return codecNames[CodecUnknown]
}

// IsVideo reports whether c is a video codec.
func (c Codec) IsVideo() bool {
	switch c {
	case CodecVP8, CodecH264, CodecVP9, CodecAV1:
		return true
	default:
		return false
	}
}

// IsAudio reports whether c is an audio codec.
func (c Codec) IsAudio() bool {
	return c == CodecOpus || c == CodecRED
}

// IsKeyframe reports whether an RTP payload of codec c starts or contains a
// keyframe. Audio and unknown codecs always report false. See the package
// level IsKeyframe for the rules applied per codec.
func (c Codec) IsKeyframe(payload []byte) bool {
	switch c {
	case CodecVP8:
		return isVP8Keyframe(payload)
	case CodecH264:
		return isH264Keyframe(payload)
	case CodecVP9:
		return isVP9Keyframe(payload)
	case CodecAV1:
		return isAV1Keyframe(payload)
	default:
		return false
	}
}

// IsKeyframe reports whether an RTP payload of the codec with the given MIME
// type (case-insensitive) starts or contains a keyframe:
//
//   - VP8: start of partition 0 whose VP8 payload header has P=0 (RFC 7741 §4.3);
//   - H.264: an IDR slice (NAL type 5) or a sequence parameter set (type 7),
//     as a single NAL unit, inside a STAP-A/STAP-B aggregate, or at the start
//     of an FU-A/FU-B fragmented unit (RFC 6184 §5.6–5.8);
//   - VP9: the payload descriptor marks the start of a frame (B=1) that is not
//     inter-picture predicted (P=0) and, when layer indices are present, in
//     the base spatial layer (RFC 9628 §4.2);
//   - AV1: the aggregation header's N bit, set on the first packet of a new
//     coded video sequence (AV1 RTP specification §4.4).
//
// Audio and unknown MIME types report false. Per-packet callers should
// resolve the MIME type once with CodecFromMime and use Codec.IsKeyframe.
func IsKeyframe(mime string, payload []byte) bool {
	return CodecFromMime(mime).IsKeyframe(payload)
}
