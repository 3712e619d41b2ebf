package relay

import "errors"

// Sentinel errors of the package. Functions wrap them with %w; match them
// with errors.Is.
var (
	// ErrMalformed means a peer sent bytes that do not parse as the relay
	// protocol: a bad frame, message, datagram or stream header. The link
	// that carried them is closed and the event counted.
	ErrMalformed = errors.New("relay: malformed message")
	// ErrVersion means the peer speaks a protocol version this node does not.
	ErrVersion = errors.New("relay: unsupported protocol version")
	// ErrUnauthenticated means the peer's certificate does not chain to the
	// cluster CA or names another node than expected.
	ErrUnauthenticated = errors.New("relay: peer not authenticated")
	// ErrClosed is returned by operations on a closed Endpoint, link or
	// RemoteTrack.
	ErrClosed = errors.New("relay: closed")
	// ErrTrackNotFound means the peer does not have the track (anymore).
	ErrTrackNotFound = errors.New("relay: track not found")
	// ErrTrackEnded means the peer's track ended (unpublished, or its
	// publisher left); its RemoteTrack closes with it.
	ErrTrackEnded = errors.New("relay: track ended")
	// ErrLinkDown means the link to the peer is not connected.
	ErrLinkDown = errors.New("relay: link down")
	// ErrQueueFull means a bounded send queue is full and the item was dropped.
	ErrQueueFull = errors.New("relay: send queue full")
	// ErrTooLarge means a data message exceeds the protocol's size limit.
	ErrTooLarge = errors.New("relay: message too large")
	// ErrInvalidConfig is returned by New for an unusable Config.
	ErrInvalidConfig = errors.New("relay: invalid config")
)
