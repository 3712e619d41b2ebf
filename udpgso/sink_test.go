package udpgso

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sinks are loopback receivers whose reader goroutines drain and count
// datagrams without allocating, for allocation tests and benchmarks.
type sinks struct {
	addrs []netip.AddrPort
	got   atomic.Uint64
}

func newSinks(tb testing.TB, n int) *sinks {
	tb.Helper()
	s := &sinks{}
	var wg sync.WaitGroup
	conns := make([]*net.UDPConn, n)
	for i := range conns {
		uc := listen(tb, "127.0.0.1")
		conns[i] = uc
		s.addrs = append(s.addrs, uc.LocalAddr().(*net.UDPAddr).AddrPort())
		buf := make([]byte, 70000) // allocated here, not in the goroutine, so benchmarks do not count it
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, err := uc.Read(buf); err != nil {
					return
				}
				s.got.Add(1)
			}
		}()
	}
	tb.Cleanup(func() {
		for _, uc := range conns {
			_ = uc.Close()
		}
		wg.Wait()
	})
	return s
}

// wait polls, bounded by timeout, until at least n datagrams were received
// in total, and returns the total.
func (s *sinks) wait(n uint64, timeout time.Duration) uint64 {
	for deadline := time.Now().Add(timeout); s.got.Load() < n && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	return s.got.Load()
}
