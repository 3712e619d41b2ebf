package integration

import (
	"testing"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests. Every node is shut down and
// every SDK room disconnected by the tests' cleanups, so what remains must be process-global.
func TestMain(m *testing.M) {
	// The SDK logs (and hands pion) a package-level logger besides the per-room one; route it
	// through sdkLogger too. This is the only process-wide setting the tests make.
	lksdk.SetLogger(sdkLogger())
	// memberlist's Shutdown does not wait for a probe in flight: probeNode returns on its own
	// once its ack timeout (gossip's ProbeTimeout, well under a second) runs out.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/hashicorp/memberlist.(*Memberlist).probeNode"))
}
