package buffer

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUnwrap(t *testing.T) {
	tests := []struct {
		name    string
		highest uint64
		v       uint64
		width   uint
		want    uint64
		wantOK  bool
	}{
		{"same", 100, 100, 16, 100, true},
		{"ahead", 100, 105, 16, 105, true},
		{"behind", 100, 95, 16, 95, true},
		{"wrap forward", 65535, 0, 16, 65536, true},
		{"wrap forward in cycle 3", 3<<16 | 65530, 4, 16, 4<<16 | 4, true},
		{"reordered across wrap", 65536 + 2, 65534, 16, 65534, true},
		{"before zero", 2, 65534, 16, 0, false},
		{"max ahead", 0, 32767, 16, 32767, true},
		{"half is behind", 40000, 40000 + 32768 - 65536, 16, 40000 - 32768, true},
		{"ts wrap", 1<<32 - 10, 20, 32, 1<<32 + 20, true},
		{"ts behind across wrap", 1<<32 + 20, 1<<32 - 10, 32, 1<<32 - 10, true},
		{"ts before zero", 5, 1<<32 - 5, 32, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := unwrap(tt.highest, tt.v, tt.width)
			require.Equal(t, tt.wantOK, ok)
			if ok {
				require.Equal(t, tt.want, got)
			}
		})
	}
}

func TestParamsDefaults(t *testing.T) {
	tests := []struct {
		name          string
		in            Params
		wantSize      int
		wantClock     uint32
		wantMaxPacket int
	}{
		{"video zero", Params{MimeType: "video/VP8"}, 512, 90000, 1500},
		{"audio zero", Params{MimeType: "audio/opus"}, 128, 48000, 1500},
		{"audio upper case", Params{MimeType: "AUDIO/OPUS"}, 128, 48000, 1500},
		{"unknown mime is video", Params{}, 512, 90000, 1500},
		{"round up", Params{Size: 300, ClockRate: 8000, MaxPacketSize: 1200}, 512, 8000, 1200},
		{"power of two kept", Params{Size: 1024}, 1024, 90000, 1500},
		{"tiny", Params{Size: 3, MaxPacketSize: 4}, 16, 90000, 12},
		{"huge", Params{Size: 1 << 20}, MaxCacheSize, 90000, 1500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(tt.in)
			require.Equal(t, tt.wantSize, b.CacheSize())
			require.Equal(t, tt.wantClock, b.ClockRate())
			require.Equal(t, tt.wantMaxPacket, b.maxPacketSize)
		})
	}
}
