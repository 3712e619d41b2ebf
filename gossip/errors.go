package gossip

import "errors"

// Sentinel errors. Functions wrap them with %w; match them with errors.Is.
var (
	// ErrInvalidConfig reports a Config that failed validation.
	ErrInvalidConfig = errors.New("gossip: invalid config")
	// ErrNotStarted is returned by operations that need a running cluster.
	ErrNotStarted = errors.New("gossip: cluster not started")
	// ErrAlreadyStarted is returned by a second Start.
	ErrAlreadyStarted = errors.New("gossip: cluster already started")
	// ErrClosed is returned once the cluster has been shut down.
	ErrClosed = errors.New("gossip: cluster shut down")
	// ErrMetaTooLarge reports node metadata that does not fit memberlist's meta limit.
	ErrMetaTooLarge = errors.New("gossip: node metadata too large")
	// ErrMalformed reports a directory message or node metadata that could not be decoded.
	ErrMalformed = errors.New("gossip: malformed message")
	// ErrUnsupportedVersion reports an encoding version this build does not understand.
	ErrUnsupportedVersion = errors.New("gossip: unsupported encoding version")
	// ErrInvalidEntry reports a directory entry the directory refuses to store
	// (missing room name or identity, or too large to replicate).
	ErrInvalidEntry = errors.New("gossip: invalid directory entry")
)
