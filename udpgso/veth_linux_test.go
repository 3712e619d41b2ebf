package udpgso

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// vethCmd runs ip and fails the test with its output if it fails.
func vethCmd(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	require.NoError(t, err, "ip %s: %s", strings.Join(args, " "), out)
}

// listenIn opens a UDP socket on addr inside network namespace ns: a socket belongs to the
// namespace of the thread that creates it, so it is made on a locked thread switched into ns,
// which is thrown away afterwards (the goroutine exits still locked).
func listenIn(t *testing.T, ns string, addr netip.Addr) *net.UDPConn {
	t.Helper()
	type result struct {
		uc  *net.UDPConn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		f, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("setns %s: %w", ns, err)}
			return
		}
		uc, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
		ch <- result{uc, err}
	}()
	r := <-ch
	require.NoError(t, r.err)
	t.Cleanup(func() { _ = r.uc.Close() })
	return r.uc
}

// TestGSOOverVeth: held datagrams leave as GSO sends over a real device (a veth pair with the
// usual 1500-byte MTU, between two network namespaces the test creates and removes), and
// arrive as separate datagrams with their bytes and order intact. Loopback alone would not
// show that a device with an ordinary MTU and checksum offload takes the segmented sends.
func TestGSOOverVeth(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root for network namespaces")
		}
		t.Skip("needs root for network namespaces (set CI=true to make this a failure)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs the ip command (iproute2)")
		}
		t.Skip("needs the ip command (iproute2)")
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	id := fmt.Sprintf("%06x", binary.BigEndian.Uint32(r[:])&0xffffff)
	subnet := int(r[3])
	nsA, nsB := "edgegso-a-"+id, "edgegso-b-"+id
	ifA, ifB := "egA"+id, "egB"+id
	addrA := netip.MustParseAddr(fmt.Sprintf("10.78.%d.1", subnet))
	addrB := netip.MustParseAddr(fmt.Sprintf("10.78.%d.2", subnet))
	vethCmd(t, "netns", "add", nsA)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", nsA).Run() })
	vethCmd(t, "netns", "add", nsB)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", nsB).Run() })
	vethCmd(t, "-n", nsA, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", nsB)
	for _, side := range []struct {
		ns, ifc string
		addr    netip.Addr
	}{{nsA, ifA, addrA}, {nsB, ifB, addrB}} {
		vethCmd(t, "-n", side.ns, "addr", "add", side.addr.String()+"/24", "dev", side.ifc)
		vethCmd(t, "-n", side.ns, "link", "set", side.ifc, "up")
	}

	c := New(listenIn(t, nsA, addrA), Options{})
	t.Cleanup(func() { _ = c.Close() })
	rx := listenIn(t, nsB, addrB)
	_ = rx.SetReadBuffer(4 << 20)
	dst := rx.LocalAddr().(*net.UDPAddr).AddrPort()

	sizes := []int{1200, 1200, 1200, 1200, 1200, 1200, 700} // one video frame
	const frames = 20
	for f := range frames {
		c.Hold(dst)
		for i, n := range sizes {
			b := make([]byte, n)
			binary.BigEndian.PutUint32(b, uint32(f*len(sizes)+i))
			for j := 4; j < n; j++ {
				b[j] = byte(f + i + j)
			}
			_, err := c.WriteToAddrPort(b, dst)
			require.NoError(t, err)
		}
		c.Release(dst)
	}
	buf := make([]byte, 65536)
	for k := range frames * len(sizes) {
		require.NoError(t, rx.SetReadDeadline(time.Now().Add(5*time.Second)))
		n, _, err := rx.ReadFromUDPAddrPort(buf)
		require.NoError(t, err, "datagram %d", k)
		f, i := k/len(sizes), k%len(sizes)
		require.Equal(t, sizes[i], n, "datagram %d: size", k)
		require.Equal(t, uint32(k), binary.BigEndian.Uint32(buf), "datagram %d: order", k)
		for j := 4; j < n; j++ {
			if buf[j] != byte(f+i+j) {
				t.Fatalf("datagram %d: byte %d is %d, want %d", k, j, buf[j], byte(f+i+j))
			}
		}
	}
	st := c.Stats()
	t.Logf("over veth: %d held datagrams, %d sends, %d GSO sends, %d errors", st.Held, st.Syscalls, st.GSOSends, st.Errors)
	require.Equal(t, uint64(frames), st.GSOSends, "every frame one GSO send (GSO stayed on)")
	require.Zero(t, st.Errors)
}
