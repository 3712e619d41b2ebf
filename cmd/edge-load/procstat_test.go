package main

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int64
		ok   bool
	}{
		{"plain", "1234 (edge) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 75 0 0 20 0 12 0 100 0 0", 325, true},
		{"name with spaces and parens", "42 (a b) c)) R 1 2 3 4 5 6 7 8 9 10 11 12 0 0 0", 23, true},
		{"no name", "42 edge S 1", 0, false},
		{"too short", "42 (edge) S 1 2 3", 0, false},
		{"not a number", "1 (e) S 1 1 1 0 -1 0 0 0 0 0 x 7 0", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tt.in))
			if !tt.ok {
				require.ErrorIs(t, err, errNoProcStat)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseStatusRSS(t *testing.T) {
	got, err := parseStatusRSS([]byte("Name:\tedge\nVmPeak:\t  9999 kB\nVmRSS:\t   51200 kB\nThreads:\t9\n"))
	require.NoError(t, err)
	require.EqualValues(t, 51200*1024, got)
	_, err = parseStatusRSS([]byte("Name:\tedge\n"))
	require.ErrorIs(t, err, errNoProcStat)
	_, err = parseStatusRSS([]byte("VmRSS:\t12 MB\n"))
	require.ErrorIs(t, err, errNoProcStat)
}

func TestParseHostCPU(t *testing.T) {
	a, err := parseHostCPU([]byte("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n"))
	require.NoError(t, err)
	require.Equal(t, hostCPU{busy: 150, total: 1000}, a)
	b, err := parseHostCPU([]byte("cpu  200 0 100 850 50 0 0 0 0 0\n"))
	require.NoError(t, err)
	require.InDelta(t, 150.0/200, busyFraction(a, b), 1e-9)
	require.Zero(t, busyFraction(b, b))
	_, err = parseHostCPU([]byte("intr 1 2 3\n"))
	require.ErrorIs(t, err, errNoProcStat)
}

func TestProcReadersOnSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	ticks, err := procCPUTicks(os.Getpid())
	require.NoError(t, err)
	require.GreaterOrEqual(t, ticks, int64(0))
	rss, err := procRSS(os.Getpid())
	require.NoError(t, err)
	require.Greater(t, rss, uint64(1<<20))
	_, err = readHostCPU()
	require.NoError(t, err)
	require.Positive(t, clockTicks(context.Background()))
}

func TestParseUDPStats(t *testing.T) {
	in := "Ip: Forwarding DefaultTTL\nIp: 1 64\n" +
		"Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n" +
		"Udp: 3444695 869 45231 3491754 45230 0\n" +
		"UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n" +
		"UdpLite: 0 0 0 0 0 0\n"
	u, err := parseUDPStats([]byte(in))
	require.NoError(t, err)
	require.Equal(t, udpStats{inDatagrams: 3444695, rcvbufErrors: 45230}, u)

	for _, bad := range []string{
		"Ip: 1 2\n",
		"Udp: InDatagrams RcvbufErrors\nUdp: 1\n",
		"Udp: InDatagrams RcvbufErrors\nUdp: 1 x\n",
		"Udp: InDatagrams NoPorts\nUdp: 1 2\n",
	} {
		_, err := parseUDPStats([]byte(bad))
		require.ErrorIs(t, err, errNoProcStat, bad)
	}
}
