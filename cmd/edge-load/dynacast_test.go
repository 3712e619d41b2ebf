package main

import (
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	protoLogger "github.com/livekit/protocol/logger"
	"github.com/stretchr/testify/require"
)

func TestDynacastLog(t *testing.T) {
	now := time.Unix(100, 0)
	d := newDynacastLog(func() time.Time { return now })
	var l protoLogger.Logger = watchingLogger{next: protoLogger.GetDiscardLogger(), dc: d}
	// The SDK derives loggers before logging; derived ones keep watching.
	l = l.WithValues("isLocal", true).WithName("pub").WithComponent("x")

	l.Infow(sdkLayerEnableMsg, "trackID", "TR_1", "quality", livekit.VideoQuality_HIGH, "enabled", false)
	l.Infow(sdkLayerEnableMsg, "quality", livekit.VideoQuality_HIGH, "enabled", false) // already paused
	l.Infow("something else", "quality", livekit.VideoQuality_LOW, "enabled", false)
	l.Infow(sdkLayerEnableMsg, "quality", livekit.VideoQuality_LOW)                   // incomplete
	l.Infow(sdkLayerEnableMsg, "quality", livekit.VideoQuality_OFF, "enabled", false) // not a layer
	now = now.Add(2 * time.Second)
	s := d.snapshot()
	require.Equal(t, [3]time.Duration{0, 0, 2 * time.Second}, s.paused)
	require.Equal(t, [3]int{0, 0, 1}, s.pauses)
	require.Equal(t, [3]bool{false, false, true}, s.now)

	l.Infow(sdkLayerEnableMsg, "quality", livekit.VideoQuality_HIGH, "enabled", true)
	now = now.Add(5 * time.Second)
	l.Infow(sdkLayerEnableMsg, "quality", livekit.VideoQuality_MEDIUM, "enabled", false)
	now = now.Add(time.Second)
	s = d.snapshot()
	require.Equal(t, [3]time.Duration{0, time.Second, 2 * time.Second}, s.paused)
	require.Equal(t, [3]int{0, 1, 1}, s.pauses)
	require.Equal(t, [3]bool{false, true, false}, s.now)
}
