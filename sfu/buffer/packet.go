package buffer

import (
	"encoding/binary"

	"github.com/pion/rtp"

	"github.com/edgemesh/edge/sfu/codec"
)

// ExtPacket is one received packet. Push returns it; it is valid only until
// the next Push on the same Buffer (the Buffer reuses it, and its slices point
// into the packet cache). Readers that need it longer must copy what they use.
type ExtPacket struct {
	Arrival  int64      // unix nanoseconds
	ExtSeq   uint64     // extended sequence number (RFC 3550 A.1 style, handles wrap and reordering)
	ExtTS    uint64     // extended RTP timestamp
	Header   rtp.Header // parsed header; its extension payloads point into the cache
	Payload  []byte     // RTP payload (after header, padding removed) – slice into cache
	Raw      []byte     // whole packet as received – slice into cache
	KeyFrame bool
	VP8      codec.VP8 // valid when MimeType is VP8 and payload non-empty

	HasAudioLevel bool
	AudioLevel    uint8 // 0..127, -dBov (RFC 6464)
	Voice         bool
}

// RFC 3550 §5.1 fixed header layout.
const (
	rtpVersion       = 2
	rtpVersionShift  = 6
	rtpPaddingBit    = 0x20
	rtpExtensionBit  = 0x10
	rtpCSRCCountMask = 0x0F
	rtpCSRCSize      = 4
	rtpExtHeaderSize = 4
	rtpExtWordSize   = 4
)

// rtpBounds validates the framing of an RTP packet without allocating and
// returns where its payload starts and ends (padding removed). It checks the
// version, the CSRC list, the extension block length (RFC 3550 §5.3.1) and
// the padding count (§5.1); extension elements are checked by rtp.Header.
func rtpBounds(raw []byte) (start, end int, ok bool) {
	if len(raw) < minPacketSize || raw[0]>>rtpVersionShift != rtpVersion {
		return 0, 0, false
	}
	start = minPacketSize + int(raw[0]&rtpCSRCCountMask)*rtpCSRCSize
	if raw[0]&rtpExtensionBit != 0 {
		if len(raw) < start+rtpExtHeaderSize {
			return 0, 0, false
		}
		words := int(binary.BigEndian.Uint16(raw[start+2:]))
		start += rtpExtHeaderSize + words*rtpExtWordSize
	}
	end = len(raw)
	if start > end {
		return 0, 0, false
	}
	if raw[0]&rtpPaddingBit != 0 {
		pad := int(raw[len(raw)-1])
		if pad == 0 || pad > end-start {
			return 0, 0, false
		}
		end -= pad
	}
	return start, end, true
}
