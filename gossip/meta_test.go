package gossip

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/hashicorp/memberlist"
	"github.com/stretchr/testify/require"
)

func TestNodeMetaRoundTrip(t *testing.T) {
	cases := []NodeMeta{
		{NodeID: "n"},
		{NodeID: "edge-eu-1", Region: "eu-west", SignalURL: "wss://eu1.example.com", RelayAddr: "10.0.0.1:7883",
			State: NodeDraining, Load: Load{Participants: 1234, Tracks: 5678, CPU: 73.4}, Epoch: 1700000000000000000},
		{NodeID: "x", State: NodeLeaving, Load: Load{Participants: math.MaxUint32, CPU: 100}},
	}
	for _, m := range cases {
		b, err := EncodeNodeMeta(m)
		require.NoError(t, err)
		require.LessOrEqual(t, len(b), memberlist.MetaMaxSize)
		got, err := DecodeNodeMeta(b)
		require.NoError(t, err)
		require.Equal(t, m, got)
	}
	b, err := EncodeNodeMeta(cases[1])
	require.NoError(t, err)
	t.Logf("typical node meta: %d bytes", len(b))
}

func TestNodeMetaLimitsAndClamps(t *testing.T) {
	_, err := EncodeNodeMeta(NodeMeta{NodeID: "n", SignalURL: strings.Repeat("x", 600)})
	require.True(t, errors.Is(err, ErrMetaTooLarge), "got %v", err)

	for _, tc := range []struct{ in, want float64 }{{-5, 0}, {math.NaN(), 0}, {250, 100}, {12.34, 12.3}} {
		b, err := EncodeNodeMeta(NodeMeta{NodeID: "n", Load: Load{CPU: tc.in}})
		require.NoError(t, err)
		m, err := DecodeNodeMeta(b)
		require.NoError(t, err)
		require.InDelta(t, tc.want, m.Load.CPU, 1e-9, "cpu %v", tc.in)
	}
}

func TestDecodeNodeMetaRejects(t *testing.T) {
	valid, err := EncodeNodeMeta(NodeMeta{NodeID: "n", Region: "r"})
	require.NoError(t, err)
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"other version", append([]byte{9}, valid[1:]...), ErrUnsupportedVersion},
		{"truncated", valid[:len(valid)-1], ErrMalformed},
		{"no node id", append([]byte{metaVersion}, appendString(nil, metaFieldRegion, "r")...), ErrMalformed},
		{"bad state", append(append([]byte{metaVersion}, appendString(nil, metaFieldID, "n")...), appendVarint(nil, metaFieldState, 9)...), ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeNodeMeta(tc.b)
			require.True(t, errors.Is(err, tc.want), "got %v", err)
		})
	}
}

func FuzzDecodeNodeMeta(f *testing.F) {
	for _, m := range []NodeMeta{{NodeID: "n"}, {NodeID: "edge-1", Region: "eu", SignalURL: "wss://x", RelayAddr: "1.2.3.4:5",
		State: NodeDraining, Load: Load{Participants: 3, Tracks: 4, CPU: 5}, Epoch: 6}} {
		b, err := EncodeNodeMeta(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{metaVersion, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeNodeMeta(b)
		if err != nil {
			return
		}
		if m.NodeID == "" || m.State > NodeLeaving || m.Load.CPU < 0 || m.Load.CPU > 100 {
			t.Fatalf("decoded invalid meta %+v", m)
		}
		again, err := EncodeNodeMeta(m)
		if err != nil {
			// Unknown fields can make the input longer than our own encoding, never shorter.
			if len(b) <= memberlist.MetaMaxSize {
				t.Fatalf("re-encode of %d-byte input: %v", len(b), err)
			}
			return
		}
		m2, err := DecodeNodeMeta(again)
		if err != nil || m2 != m {
			t.Fatalf("round trip: %+v vs %+v (%v)", m, m2, err)
		}
	})
}
