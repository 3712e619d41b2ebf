package codec

import "errors"

// Sentinel errors returned by the parsers in this package. They are returned
// unwrapped on the per-packet path so that parsing never allocates; match them
// with errors.Is.
var (
	// ErrShortPacket means the payload ended before the structure being parsed.
	ErrShortPacket = errors.New("codec: payload too short")
	// ErrShortBuffer means a destination buffer is too small for the output.
	ErrShortBuffer = errors.New("codec: destination buffer too short")
)
