package main

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"
)

func TestParseRTP(t *testing.T) {
	marshal := func(t *testing.T, p *rtp.Packet) []byte {
		t.Helper()
		b, err := p.Marshal()
		require.NoError(t, err)
		return b
	}
	withExt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 65535, CSRC: []uint32{1, 2}}, Payload: []byte{1, 2, 3}}
	require.NoError(t, withExt.SetExtension(1, []byte{0xaa, 0xbb}))
	padded := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 7, Padding: true}, Payload: []byte{9}, PaddingSize: 3}

	tests := []struct {
		name    string
		pkt     []byte
		ok      bool
		seq     uint16
		payload []byte
	}{
		{"plain", marshal(t, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 42}, Payload: []byte{5, 6}}), true, 42, []byte{5, 6}},
		{"csrc and extension", marshal(t, withExt), true, 65535, []byte{1, 2, 3}},
		{"padding", marshal(t, padded), true, 7, []byte{9}},
		{"short", []byte{0x80, 0, 0}, false, 0, nil},
		{"version 0", make([]byte, 12), false, 0, nil},
		{"truncated extension", []byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe}, false, 0, nil},
		{"padding longer than payload", []byte{0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x05}, false, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := parseRTP(tt.pkt)
			require.Equal(t, tt.ok, ok)
			if tt.ok {
				require.Equal(t, tt.seq, v.seq)
				require.Equal(t, tt.payload, v.payload)
			}
		})
	}
}

func TestVP8Keyframe(t *testing.T) {
	key := []byte{0x90, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00} // 320x180
	tests := []struct {
		name string
		p    []byte
		ok   bool
		w, h uint16
	}{
		{"minimal descriptor", append([]byte{0x10}, key...), true, 320, 180},
		{"7-bit picture id", append([]byte{0x90, 0x80, 0x05}, key...), true, 320, 180},
		{"15-bit picture id", append([]byte{0x90, 0x80, 0x81, 0x02}, key...), true, 320, 180},
		{"picture id, tl0picidx, tid", append([]byte{0x90, 0xe0, 0x05, 0x07, 0x40}, key...), true, 320, 180},
		{"not start of partition", append([]byte{0x00}, key...), false, 0, 0},
		{"partition 1", append([]byte{0x11}, key...), false, 0, 0},
		{"inter frame", append([]byte{0x10, 0x91}, key[1:]...), false, 0, 0},
		{"bad start code", append([]byte{0x10}, append(append([]byte{}, key[:3]...), 0x9d, 0x01, 0x2b, 0, 0, 0, 0)...), false, 0, 0},
		{"truncated", []byte{0x10, 0x90, 0x02}, false, 0, 0},
		{"empty", nil, false, 0, 0},
		{"extension byte missing", []byte{0x90}, false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, h, ok := vp8Keyframe(tt.p)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.w, w)
			require.Equal(t, tt.h, h)
		})
	}
}

func FuzzParseRTPAndVP8(f *testing.F) {
	f.Add([]byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0, 0x10, 0x90, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, ok := parseRTP(b); ok {
			require.LessOrEqual(t, len(v.payload), len(b))
			_, _, _ = vp8Keyframe(v.payload)
		}
		_, _, _ = vp8Keyframe(b)
	})
}
