package udpgso

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConcurrentWriters runs several writers against several destinations
// with holds and releases interleaved (nested, overlapping across writers,
// and unheld writes to addresses another writer holds). Every datagram must
// arrive exactly once, and each writer's datagrams in its order at each
// destination.
func TestConcurrentWriters(t *testing.T) {
	for _, o := range []Options{{}, {DisableGSO: true}} {
		t.Run(map[bool]string{false: "gso", true: "nogso"}[o.DisableGSO], func(t *testing.T) {
			testConcurrentWriters(t, o)
		})
	}
}

func testConcurrentWriters(t *testing.T, o Options) {
	const (
		writers = 4
		dests   = 4
		rounds  = 100
	)
	c := newConn(t, "127.0.0.1", o)
	recv := make([]*receiver, dests)
	for i := range recv {
		recv[i] = newReceiver(t, "127.0.0.1")
	}

	var sent [writers][dests]uint32 // per writer, per destination: datagrams written
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range rounds {
				d := (w + round) % dests
				addr := recv[d].addr
				hold := round%3 != 2
				nested := round%5 == 0
				if hold {
					c.Hold(addr)
					if nested {
						c.Hold(addr)
					}
				}
				for k := range 1 + (w+round)%8 {
					seq := sent[w][d]
					size := 100 + int(seq%4)*300
					if k == 5 {
						size = 40 // a shorter datagram ends a GSO run
					}
					if _, err := c.WriteToAddrPort(datagram(size, uint32(w), seq), addr); err != nil {
						t.Errorf("writer %d: %v", w, err)
						return
					}
					sent[w][d]++
					if nested && k == 2 {
						c.Release(addr)
					}
				}
				if hold {
					if nested && (w+round)%8 < 2 {
						c.Release(addr) // the inner hold was not released in the loop
					}
					c.Release(addr)
				}
			}
		}()
	}
	wg.Wait()

	var total uint64
	for d, r := range recv {
		var want, next [writers]uint32
		var n uint32
		for w := range writers {
			want[w] = sent[w][d]
			n += want[w]
		}
		for range n {
			b := r.next(t)
			w, seq := tag(b)
			require.Less(t, w, uint32(writers))
			require.Equal(t, next[w], seq, "destination %d writer %d out of order or duplicated", d, w)
			next[w]++
		}
		r.none(t)
		require.Equal(t, want, next)
		total += uint64(n)
	}
	require.Zero(t, c.active.Load(), "index must be empty after all releases")
	st := c.Stats()
	require.Equal(t, total, st.Datagrams)
	require.Zero(t, st.Errors)
	if o.DisableGSO {
		require.Zero(t, st.GSOSends)
	}
	t.Logf("%+v", st)
}
