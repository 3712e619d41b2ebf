package integration

import (
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// impairedConn delays and drops the datagrams a relay socket sends, per destination: a
// userspace impairer (this kernel has no netem). route returns the one-way delay and the loss
// share for a destination address.
type impairedConn struct {
	net.PacketConn
	route func(dst string) (time.Duration, float64)

	mu     sync.Mutex // guards rng and closed
	rng    *rand.Rand
	closed bool
	wg     sync.WaitGroup // delayed sends in flight
}

func newImpairedConn(pc net.PacketConn, seed uint64, route func(string) (time.Duration, float64)) *impairedConn {
	return &impairedConn{PacketConn: pc, route: route, rng: rand.New(rand.NewPCG(seed, seed+1))}
}

func (c *impairedConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	delay, loss := c.route(addr.String())
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	drop := loss > 0 && c.rng.Float64() < loss
	if !drop && delay > 0 {
		c.wg.Add(1)
	}
	c.mu.Unlock()
	switch {
	case drop:
		return len(p), nil
	case delay <= 0:
		return c.PacketConn.WriteTo(p, addr)
	}
	b := append([]byte(nil), p...)
	time.AfterFunc(delay, func() {
		defer c.wg.Done()
		_, _ = c.PacketConn.WriteTo(b, addr)
	})
	return len(p), nil
}

// close stops new sends, waits for the delayed ones and closes the socket.
func (c *impairedConn) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wg.Wait()
	_ = c.PacketConn.Close()
}
