package udpgso

import (
	"net"
	"testing"

	"github.com/pion/ice/v4"
	"github.com/stretchr/testify/require"
)

var (
	_ net.PacketConn           = (*Conn)(nil)
	_ ice.AddrPortReaderWriter = (*Conn)(nil)
)

// TestICEUDPMux checks that pion's UDP mux takes the netip.AddrPort path
// over a Conn and that writes through a muxed conn honour holds.
func TestICEUDPMux(t *testing.T) {
	c := newConn(t, "127.0.0.1", Options{})
	r := newReceiver(t, "127.0.0.1")
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: c})
	t.Cleanup(func() { _ = mux.Close() })

	pc, err := mux.GetConn("ufrag", c.LocalAddr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	apc, ok := pc.(ice.AddrPortReaderWriter)
	require.True(t, ok, "the mux must expose netip.AddrPort writes over a Conn")

	c.Hold(r.addr)
	for i := range 3 {
		_, err := apc.WriteToAddrPort(datagram(1000, 1, uint32(i)), r.addr)
		require.NoError(t, err)
	}
	r.none(t)
	c.Release(r.addr)
	for i := range 3 {
		checkDatagram(t, r.next(t), 1000, 1, uint32(i))
	}
	require.EqualValues(t, 3, c.Stats().Held)
}
