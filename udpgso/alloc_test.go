package udpgso

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	for _, o := range []Options{{}, {DisableGSO: true}} {
		c := newConn(t, "127.0.0.1", o)
		s := newSinks(t, 4)
		payload := make([]byte, 1100)

		direct := testing.AllocsPerRun(100, func() {
			_, _ = c.WriteToAddrPort(payload, s.addrs[0])
		})
		require.Zero(t, direct, "unheld write")

		burst := func() {
			for _, a := range s.addrs {
				c.Hold(a)
				for range 6 {
					_, _ = c.WriteToAddrPort(payload, a)
				}
				c.Release(a)
			}
		}
		burst() // warm the free lists
		require.Zero(t, testing.AllocsPerRun(100, burst), "held burst, options %+v", o)

		// Writes to an unheld address while another is held take the slow
		// path; it must not allocate either.
		c.Hold(s.addrs[0])
		slow := testing.AllocsPerRun(100, func() {
			_, _ = c.WriteToAddrPort(payload, s.addrs[1])
		})
		c.Release(s.addrs[0])
		require.Zero(t, slow, "unheld write while another address is held")
	}
}
