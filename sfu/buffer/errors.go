package buffer

import "errors"

// Sentinel errors of this package. Push and ReadPacket return them unwrapped
// so that the per-packet path never allocates; match them with errors.Is.
var (
	// ErrInvalidPacket means Push got bytes that are not a well-formed RTP
	// packet for this buffer: too short, wrong version, bad CSRC/extension/
	// padding lengths, another SSRC, or a malformed codec payload descriptor.
	ErrInvalidPacket = errors.New("buffer: invalid RTP packet")
	// ErrPacketTooLarge means the packet exceeds Params.MaxPacketSize.
	ErrPacketTooLarge = errors.New("buffer: packet larger than MaxPacketSize")
	// ErrDuplicate means a packet with this sequence number is already cached.
	ErrDuplicate = errors.New("buffer: duplicate packet")
	// ErrTooOld means the packet is older than the cache window (or would
	// precede the stream's first packet across a wrap), so it can be neither
	// cached nor checked for duplication.
	ErrTooOld = errors.New("buffer: packet older than cache window")
	// ErrNotFound means ReadPacket has no packet with that sequence number:
	// never received, or evicted from the cache.
	ErrNotFound = errors.New("buffer: packet not in cache")
	// ErrShortBuffer means the destination given to ReadPacket is too small.
	ErrShortBuffer = errors.New("buffer: destination buffer too short")
)
