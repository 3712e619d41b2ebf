package bwe

import "errors"

// Sentinel errors of the package; functions wrap them with %w.
var (
	// ErrMalformedFeedback is returned for a TWCC report whose chunks and
	// deltas do not agree.
	ErrMalformedFeedback = errors.New("bwe: malformed transport-wide feedback")
	// ErrProbeActive is returned by StartProbe while a probe is running or
	// waiting for its feedback.
	ErrProbeActive = errors.New("bwe: a probe is already active")
	// ErrProbeUnsupported is returned by StartProbe when the subscriber sends
	// no transport-wide feedback, so a probe could not be measured.
	ErrProbeUnsupported = errors.New("bwe: probing needs transport-wide feedback")
)
