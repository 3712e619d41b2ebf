package browser_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

const (
	// mediaTimeout bounds the wait for decoded media at the subscriber.
	mediaTimeout = 30 * time.Second
	// joinTimeout bounds one room.connect (+ publishing) in a page.
	joinTimeout = 20 * time.Second
	// evalTimeout bounds one stats query.
	evalTimeout = 5 * time.Second
)

// requirePrereqs skips the test when Chromium or the SDK is not installed,
// except in CI (CI=true), where a missing prerequisite fails the test.
func requirePrereqs(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := os.Stat(chromiumPath); err != nil {
		missing = append(missing, chromiumPath+" (apt-get install chromium)")
	}
	if _, err := os.Stat(sdkBundlePath); err != nil {
		missing = append(missing, "integration/browser/"+sdkBundlePath+" (npm ci in integration/browser)")
	}
	if len(missing) == 0 {
		return
	}
	msg := "browser test prerequisites missing: " + strings.Join(missing, ", ")
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// checkGoroutines fails the test if goroutines started during it are still
// running after all its other cleanups (registered later, so run earlier).
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a Go string always marshals
	}
	return string(b)
}

// jsBool renders b as a JavaScript boolean literal.
func jsBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// TestBrowserLoadsSDK checks the harness without a node: Chromium starts, the
// page loads, and the SDK in it is the pinned version.
func TestBrowserLoadsSDK(t *testing.T) {
	requirePrereqs(t)
	checkGoroutines(t)

	pageURL := servePage(t)
	browserCtx := startChromium(t)
	page := openTab(t, browserCtx, "page")
	page.navigate(t, pageURL)

	got, err := eval[string](page, evalTimeout, "edgeTest.sdkVersion()")
	require.NoError(t, err)
	require.Equal(t, installedSDKVersion(t), got, "livekit-client version in the page")

	wrapped, err := eval[bool](page, evalTimeout,
		"new RTCPeerConnection() && window.edgePeerConnections.length === 1")
	require.NoError(t, err)
	require.True(t, wrapped, "RTCPeerConnection wrapper did not record the new connection")
}
