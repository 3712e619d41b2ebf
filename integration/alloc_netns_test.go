package integration

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A two-namespace test network for the constrained-link test: the node's namespace and the
// subscriber's, joined by a veth pair on a /24 of 10.77.0.0/16 that exists only inside them.
// The link from the node to the subscriber is shaped with tbf (this kernel has no netem).
// Every address is inside namespaces the test creates; nothing touches the host's network.

// allocNet is the created network.
type allocNet struct {
	nodeNS, subNS     string // namespace names
	nodeIf, subIf     string // veth ends
	nodeAddr, subAddr string // IPv4 addresses (without prefix length)
}

// requireAllocNetns skips the test unless it can create network namespaces (root, `ip` and `tc`
// present). With CI=true it fails instead: CI must run it.
func requireAllocNetns(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "not running as root")
	}
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, "`"+tool+"` not found")
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "constrained-link test needs network namespaces: " + strings.Join(missing, ", ")
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg + " (set CI=true to make this a failure)")
}

// allocCmd runs a command (ip, tc) and fails the test with its output if it fails.
func allocCmd(t *testing.T, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// newAllocNet creates the two namespaces and the veth pair and removes them when the test
// ends (deleting a namespace deletes the veth end inside it, and with it the pair).
func newAllocNet(t *testing.T) *allocNet {
	t.Helper()
	var r [4]byte
	_, _ = rand.Read(r[:])
	id := fmt.Sprintf("%06x", binary.BigEndian.Uint32(r[:])&0xffffff)
	subnet := int(r[3]) // 10.77.<subnet>.0/24
	n := &allocNet{
		nodeNS:   "edgealloc-n-" + id,
		subNS:    "edgealloc-s-" + id,
		nodeIf:   "eaN" + id, // IFNAMSIZ: at most 15 characters
		subIf:    "eaS" + id,
		nodeAddr: fmt.Sprintf("10.77.%d.1", subnet),
		subAddr:  fmt.Sprintf("10.77.%d.2", subnet),
	}
	allocCmd(t, "ip", "netns", "add", n.nodeNS)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", n.nodeNS).Run() })
	allocCmd(t, "ip", "netns", "add", n.subNS)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", n.subNS).Run() })
	allocCmd(t, "ip", "-n", n.nodeNS, "link", "add", n.nodeIf, "type", "veth", "peer", "name", n.subIf, "netns", n.subNS)
	for _, side := range []struct{ ns, ifc, addr string }{
		{n.nodeNS, n.nodeIf, n.nodeAddr}, {n.subNS, n.subIf, n.subAddr},
	} {
		allocCmd(t, "ip", "-n", side.ns, "addr", "add", side.addr+"/24", "dev", side.ifc)
		allocCmd(t, "ip", "-n", side.ns, "link", "set", side.ifc, "up")
		allocCmd(t, "ip", "-n", side.ns, "link", "set", "lo", "up")
	}
	t.Logf("network: %s (%s, %s) <-> %s (%s, %s)", n.nodeNS, n.nodeIf, n.nodeAddr, n.subNS, n.subIf, n.subAddr)
	return n
}

// shape limits the node→subscriber direction to rate (a tc rate such as "700kbit") with a
// token bucket whose queue holds latency worth of traffic; later calls change the rate.
func (n *allocNet) shape(t *testing.T, rate, burst string) {
	t.Helper()
	allocCmd(t, "ip", "netns", "exec", n.nodeNS, "tc", "qdisc", "replace", "dev", n.nodeIf, "root",
		"tbf", "rate", rate, "burst", burst, "latency", allocQueueLatency)
	t.Logf("link node→subscriber: tbf rate %s burst %s latency %s", rate, burst, allocQueueLatency)
}

// allocQueueLatency is how long a packet may wait in the shaped link's queue before tbf drops it
// (a home router's buffer).
const allocQueueLatency = "200ms"
