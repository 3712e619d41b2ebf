//go:build linux

package udpgso

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestGSOFallbackDisablesGSO makes the kernel refuse GSO (a socket with
// SO_NO_CHECK gets EINVAL from a UDP_SEGMENT send, as a device without
// checksum offload gets EIO): the run must be resent one datagram at a time,
// GSO switched off for good, and nothing lost or counted as an error.
func TestGSOFallbackDisablesGSO(t *testing.T) {
	uc := listen(t, "127.0.0.1")
	raw, err := uc.SyscallConn()
	require.NoError(t, err)
	var serr error
	require.NoError(t, raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_NO_CHECK, 1)
	}))
	require.NoError(t, serr)
	c := New(uc, Options{})
	if c.gsoOff.Load() {
		t.Skip("GSO unsupported by this kernel")
	}
	r := newReceiver(t, "127.0.0.1")

	sendHeld(t, c, r, mixedSizes)
	expect(t, r, mixedSizes)
	require.True(t, c.gsoOff.Load(), "GSO must be off after an EINVAL")
	st := c.Stats()
	require.Zero(t, st.GSOSends)
	require.Zero(t, st.Errors)
	// One failed sendmsg, then every datagram singly.
	require.EqualValues(t, 1+len(mixedSizes), st.Syscalls)

	sendHeld(t, c, r, mixedSizes)
	expect(t, r, mixedSizes)
	require.EqualValues(t, 1+2*len(mixedSizes), c.Stats().Syscalls)
}
