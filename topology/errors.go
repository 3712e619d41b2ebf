package topology

import "errors"

var (
	// ErrUnknownMode is returned for a route mode other than direct or regional.
	ErrUnknownMode = errors.New("topology: unknown route mode")
	// ErrUnknownPublisher is returned when the publisher's node is not in the snapshot.
	ErrUnknownPublisher = errors.New("topology: publisher node not in the mesh")
	// ErrPublisherDown is returned when the publisher's node is in the snapshot but not alive.
	ErrPublisherDown = errors.New("topology: publisher node is not alive")
)
