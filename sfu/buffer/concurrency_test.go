package buffer

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"
)

// TestReadPacketConcurrentWithPush runs NACK-style readers against a writer
// that wraps the sequence space with gaps; run it with -race. Every packet a
// reader gets must be the one it asked for.
func TestReadPacketConcurrentWithPush(t *testing.T) {
	const (
		total   = 3 * 65536 / 2
		readers = 3
	)
	b := newVP8Buffer(t, Params{Size: 64})
	raw := packet(t, 0, withPayload([]byte{0x10, 0x01, 0, 0}))
	setSeq := func(sn uint16) {
		binary.BigEndian.PutUint16(raw[2:], sn)
		binary.BigEndian.PutUint16(raw[len(raw)-2:], sn)
	}

	var (
		highest atomic.Uint32 // last pushed sn
		done    atomic.Bool
		hits    atomic.Uint64
		wg      sync.WaitGroup
	)
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := make([]byte, 1500)
			var h rtp.Header
			for i := 0; !done.Load(); i++ {
				sn := uint16(highest.Load()) - uint16((i*7+r)%80)
				n, err := b.ReadPacket(dst, sn)
				if err != nil {
					continue
				}
				if _, err := h.Unmarshal(dst[:n]); err != nil || h.SequenceNumber != sn ||
					binary.BigEndian.Uint16(dst[n-2:]) != sn {
					t.Errorf("asked for %d, got header seq %d payload seq %d (err %v)",
						sn, h.SequenceNumber, binary.BigEndian.Uint16(dst[n-2:]), err)
					return
				}
				hits.Add(1)
			}
		}()
	}

	for i := range total {
		if i%13 == 5 {
			continue // lost
		}
		sn := uint16(i)
		setSeq(sn)
		if _, err := b.Push(raw, t0); err != nil {
			done.Store(true)
			wg.Wait()
			require.NoError(t, err, "push %d", i)
		}
		highest.Store(uint32(sn))
	}
	done.Store(true)
	wg.Wait()

	st := b.Stats()
	require.Equal(t, uint64(total-1), st.HighestExtSeq)
	require.Equal(t, uint64(total/13+1), st.PacketsLost)
	require.NotZero(t, hits.Load(), "readers never found a packet")
}
