package sfu

import "errors"

// Sentinel errors of the package. Functions wrap them with %w; match them with
// errors.Is.
var (
	// ErrReceiverClosed is returned by operations on a closed Receiver.
	ErrReceiverClosed = errors.New("sfu: receiver closed")
	// ErrDownTrackClosed is returned by operations on a closed DownTrack.
	ErrDownTrackClosed = errors.New("sfu: down-track closed")
	// ErrInvalidLayer is returned for a simulcast layer outside LayerLow..LayerHigh.
	ErrInvalidLayer = errors.New("sfu: invalid layer")
	// ErrLayerExists is returned by Receiver.AddLayer when the layer is already attached.
	ErrLayerExists = errors.New("sfu: layer already attached")
	// ErrLayerNotFound is returned when a layer has no attached stream.
	ErrLayerNotFound = errors.New("sfu: layer not attached")
	// ErrCodecNotNegotiated is returned by DownTrack.Bind when the subscriber's
	// PeerConnection did not negotiate the source's codec.
	ErrCodecNotNegotiated = errors.New("sfu: codec not negotiated")
	// ErrKindMismatch is returned when a remote track's kind differs from the Receiver's.
	ErrKindMismatch = errors.New("sfu: track kind mismatch")
	// ErrNoSource is returned by NewDownTrack without a TrackSource.
	ErrNoSource = errors.New("sfu: down-track has no source")
)
