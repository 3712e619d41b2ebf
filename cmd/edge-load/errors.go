package main

import "errors"

var (
	// errUsage marks command-line mistakes (exit code 2).
	errUsage = errors.New("invalid command line")
	// errNodeExited means the edge child process ended before or while it was needed.
	errNodeExited = errors.New("edge node exited")
	// errNodeNotHealthy means /healthz did not answer 200 in time.
	errNodeNotHealthy = errors.New("edge node not healthy")
	// errNoProcStat means /proc/<pid>/stat or /proc/<pid>/status could not be parsed.
	errNoProcStat = errors.New("unparsable /proc entry")
	// errMetricMissing means a required series is absent from /metrics.
	errMetricMissing = errors.New("metric missing")
	// errWarmup means not every subscriber received both tracks within the warm-up bound.
	errWarmup = errors.New("warm-up incomplete")
	// errPublish means the publisher could not publish its tracks.
	errPublish = errors.New("publish failed")
)
