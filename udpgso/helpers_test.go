package udpgso

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// listen opens a UDP socket on the loopback address ip ("127.0.0.1" or
// "::1"), skipping the test if that address is unavailable.
func listen(t testing.TB, ip string) *net.UDPConn {
	t.Helper()
	a := netip.MustParseAddr(ip)
	network := "udp4"
	if a.Is6() {
		network = "udp6"
	}
	uc, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 0)))
	if err != nil {
		if a.Is6() {
			t.Skipf("%s unavailable: %v", ip, err)
		}
		require.NoError(t, err)
	}
	_ = uc.SetReadBuffer(4 << 20)
	_ = uc.SetWriteBuffer(4 << 20)
	t.Cleanup(func() { _ = uc.Close() })
	return uc
}

// newConn wraps a fresh loopback socket.
func newConn(t testing.TB, ip string, o Options) *Conn {
	t.Helper()
	c := New(listen(t, ip), o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// receiver collects the datagrams arriving at one loopback socket with a
// reader goroutine that ends when the test cleans up.
type receiver struct {
	addr netip.AddrPort
	ch   chan []byte
}

func newReceiver(t testing.TB, ip string) *receiver {
	t.Helper()
	uc := listen(t, ip)
	r := &receiver{
		addr: uc.LocalAddr().(*net.UDPAddr).AddrPort(),
		ch:   make(chan []byte, 4096),
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(r.ch)
		buf := make([]byte, 70000)
		for {
			n, err := uc.Read(buf)
			if err != nil {
				return
			}
			r.ch <- append([]byte(nil), buf[:n]...)
		}
	}()
	t.Cleanup(func() {
		_ = uc.Close()
		for range r.ch { //nolint:revive // drain so the reader can exit
		}
		wg.Wait()
	})
	return r
}

// next waits (bounded) for the next datagram.
func (r *receiver) next(t testing.TB) []byte {
	t.Helper()
	select {
	case b := <-r.ch:
		return b
	case <-time.After(5 * time.Second):
		t.Fatalf("no datagram at %s within 5s", r.addr)
		return nil
	}
}

// none asserts that nothing arrives within a short wait.
func (r *receiver) none(t testing.TB) {
	t.Helper()
	select {
	case b := <-r.ch:
		t.Fatalf("unexpected datagram of %d bytes at %s", len(b), r.addr)
	case <-time.After(50 * time.Millisecond):
	}
}

// datagram builds a payload of size bytes (at least 8) tagged with a writer
// id and sequence number, filled with a pattern derived from both.
func datagram(size int, writer, seq uint32) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint32(b[0:], writer)
	binary.BigEndian.PutUint32(b[4:], seq)
	for i := 8; i < size; i++ {
		b[i] = byte(seq*7 + writer*13 + uint32(i))
	}
	return b
}

// checkDatagram verifies that got is exactly datagram(size, writer, seq).
func checkDatagram(t testing.TB, got []byte, size int, writer, seq uint32) {
	t.Helper()
	require.Equal(t, datagram(size, writer, seq), got, "datagram writer %d seq %d", writer, seq)
}

// tag reads the writer id and sequence number of a datagram.
func tag(b []byte) (writer, seq uint32) {
	return binary.BigEndian.Uint32(b[0:]), binary.BigEndian.Uint32(b[4:])
}
