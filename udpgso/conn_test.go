package udpgso

import (
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

// sendHeld holds r's address, writes one datagram per size (tagged with its
// index), asserts nothing arrived yet, and releases.
func sendHeld(t *testing.T, c *Conn, r *receiver, sizes []int) {
	t.Helper()
	c.Hold(r.addr)
	for i, size := range sizes {
		n, err := c.WriteToAddrPort(datagram(size, 1, uint32(i)), r.addr)
		require.NoError(t, err)
		require.Equal(t, size, n)
	}
	if len(sizes) <= maxSegments {
		r.none(t)
	}
	c.Release(r.addr)
}

// expect checks that r receives exactly the datagrams sendHeld wrote.
func expect(t *testing.T, r *receiver, sizes []int) {
	t.Helper()
	for i, size := range sizes {
		checkDatagram(t, r.next(t), size, 1, uint32(i))
	}
}

var mixedSizes = []int{1100, 1100, 1100, 900, 1100, 1100, 500, 1200, 1200}

func TestHeldMixedSizes(t *testing.T) {
	for _, ip := range []string{"127.0.0.1", "::1"} {
		t.Run(ip, func(t *testing.T) {
			c := newConn(t, ip, Options{})
			r := newReceiver(t, ip)
			gsoAtStart := !c.gsoOff.Load()

			sendHeld(t, c, r, mixedSizes)
			expect(t, r, mixedSizes)
			r.none(t)

			st := c.Stats()
			require.EqualValues(t, len(mixedSizes), st.Datagrams)
			require.EqualValues(t, len(mixedSizes), st.Held)
			require.Zero(t, st.Errors)
			if !gsoAtStart || c.gsoOff.Load() {
				t.Logf("GSO unavailable or disabled by the first send (at start: %v); skipping GSO assertions", gsoAtStart)
				return
			}
			// Runs: [1100×3+900] [1100×2+500] [1200×2].
			require.EqualValues(t, 3, st.Syscalls)
			require.EqualValues(t, 3, st.GSOSends)
		})
	}
}

func TestHeldBeyondOneSendmsg(t *testing.T) {
	c := newConn(t, "127.0.0.1", Options{})
	r := newReceiver(t, "127.0.0.1")
	sizes := repeat(150, 1000) // 150 datagrams, 150000 bytes
	sizes[70] = 20

	sendHeld(t, c, r, sizes)
	expect(t, r, sizes)
	st := c.Stats()
	require.EqualValues(t, 150, st.Held)
	require.Zero(t, st.Errors)
	if !c.gsoOff.Load() {
		require.Less(t, st.Syscalls, uint64(10))
	}
}

func TestOversizedHeldDatagramFlushesFirst(t *testing.T) {
	c := newConn(t, "127.0.0.1", Options{})
	r := newReceiver(t, "127.0.0.1")

	c.Hold(r.addr)
	_, err := c.WriteToAddrPort(datagram(100, 1, 0), r.addr)
	require.NoError(t, err)
	n, err := c.WriteToAddrPort(datagram(maxBatchBytes+10, 1, 1), r.addr)
	require.NoError(t, err)
	require.Equal(t, maxBatchBytes+10, n)
	checkDatagram(t, r.next(t), 100, 1, 0)
	checkDatagram(t, r.next(t), maxBatchBytes+10, 1, 1)
	c.Release(r.addr)
	r.none(t)
}

func TestNotHeldGoesStraightOut(t *testing.T) {
	c := newConn(t, "127.0.0.1", Options{})
	held := newReceiver(t, "127.0.0.1")
	free := newReceiver(t, "127.0.0.1")

	c.Hold(held.addr)
	_, err := c.WriteToAddrPort(datagram(300, 1, 0), held.addr)
	require.NoError(t, err)
	_, err = c.WriteToAddrPort(datagram(300, 2, 0), free.addr)
	require.NoError(t, err)

	checkDatagram(t, free.next(t), 300, 2, 0)
	held.none(t)
	c.Release(held.addr)
	checkDatagram(t, held.next(t), 300, 1, 0)
	require.EqualValues(t, 1, c.Stats().Held)
}

func TestNestedHolds(t *testing.T) {
	c := newConn(t, "127.0.0.1", Options{})
	r := newReceiver(t, "127.0.0.1")

	c.Hold(r.addr)
	c.Hold(r.addr)
	for i := range 3 {
		_, err := c.WriteToAddrPort(datagram(700, 1, uint32(i)), r.addr)
		require.NoError(t, err)
	}
	c.Release(r.addr)
	r.none(t)
	c.Release(r.addr)
	for i := range 3 {
		checkDatagram(t, r.next(t), 700, 1, uint32(i))
	}
	r.none(t)
}

func TestReleaseWithoutHold(t *testing.T) {
	c := newConn(t, "127.0.0.1", Options{})
	r := newReceiver(t, "127.0.0.1")

	c.Release(r.addr) // never held
	c.Hold(r.addr)
	c.Release(r.addr)
	c.Release(r.addr) // one too many
	require.Zero(t, c.active.Load(), "index must be empty")

	// The count did not go negative: one Hold queues again.
	c.Hold(r.addr)
	_, err := c.WriteToAddrPort(datagram(64, 1, 0), r.addr)
	require.NoError(t, err)
	r.none(t)
	c.Release(r.addr)
	checkDatagram(t, r.next(t), 64, 1, 0)
	require.Zero(t, c.active.Load())
}

func TestWriteToUDPAddrAndMappedAddresses(t *testing.T) {
	c := newConn(t, "127.0.0.1", Options{})
	r := newReceiver(t, "127.0.0.1")
	mapped := netip.AddrPortFrom(netip.AddrFrom16(r.addr.Addr().As16()), r.addr.Port())
	require.True(t, mapped.Addr().Is4In6())

	c.Hold(mapped)
	// A 16-byte IPv4 UDPAddr yields the mapped form; the plain form must
	// match the same hold.
	ua := &net.UDPAddr{IP: net.IP(r.addr.Addr().AsSlice()).To16(), Port: int(r.addr.Port())}
	_, err := c.WriteTo(datagram(400, 1, 0), ua)
	require.NoError(t, err)
	_, err = c.WriteToAddrPort(datagram(400, 1, 1), r.addr)
	require.NoError(t, err)
	r.none(t)
	c.Release(r.addr)
	checkDatagram(t, r.next(t), 400, 1, 0)
	checkDatagram(t, r.next(t), 400, 1, 1)
	require.EqualValues(t, 2, c.Stats().Held)
}

func TestDisableGSO(t *testing.T) {
	c := newConn(t, "127.0.0.1", Options{DisableGSO: true})
	r := newReceiver(t, "127.0.0.1")

	sendHeld(t, c, r, mixedSizes)
	expect(t, r, mixedSizes)
	big := repeat(100, 900)
	sendHeld(t, c, r, big)
	expect(t, r, big)

	st := c.Stats()
	total := uint64(len(mixedSizes) + len(big))
	require.Equal(t, total, st.Held)
	require.Equal(t, total, st.Syscalls)
	require.Zero(t, st.GSOSends)
	require.Zero(t, st.Errors)
}

func TestIPv4DestinationOnIPv6Socket(t *testing.T) {
	// A dual-stack socket ("udp" on the IPv6 wildcard) sends to IPv4 peers
	// as 4-in-6 mapped addresses.
	uc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv6unspecified})
	if err != nil {
		t.Skipf("dual-stack socket unavailable: %v", err)
	}
	c := New(uc, Options{})
	t.Cleanup(func() { _ = c.Close() })
	if _, ok := uc.LocalAddr().(*net.UDPAddr); !ok || uc.LocalAddr().(*net.UDPAddr).IP.To4() != nil {
		t.Skip("not an IPv6 socket")
	}
	r := newReceiver(t, "127.0.0.1")
	sendHeld(t, c, r, mixedSizes)
	expect(t, r, mixedSizes)
	require.Zero(t, c.Stats().Errors)
}

func TestFlushErrorsAreCounted(t *testing.T) {
	c := newConn(t, "127.0.0.1", Options{})
	r := newReceiver(t, "127.0.0.1")

	c.Hold(r.addr)
	for i := range 4 {
		_, err := c.WriteToAddrPort(datagram(500, 1, uint32(i)), r.addr)
		require.NoError(t, err)
	}
	require.NoError(t, c.Close())
	c.Release(r.addr)
	require.EqualValues(t, 4, c.Stats().Errors)
}
