package codec

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCodecFromMime(t *testing.T) {
	tests := []struct {
		mime string
		want Codec
	}{
		{"audio/opus", CodecOpus},
		{"AUDIO/OPUS", CodecOpus},
		{"audio/red", CodecRED},
		{"video/VP8", CodecVP8},
		{"video/vp8", CodecVP8},
		{"video/h264", CodecH264},
		{"Video/Vp9", CodecVP9},
		{"video/av1", CodecAV1},
		{"video/H265", CodecUnknown},
		{"", CodecUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.mime, func(t *testing.T) {
			got := CodecFromMime(tt.mime)
			require.Equal(t, tt.want, got)
			if got != CodecUnknown {
				require.Equal(t, CodecFromMime(got.String()), got)
			}
		})
	}
	require.True(t, CodecVP9.IsVideo())
	require.False(t, CodecOpus.IsVideo())
	require.True(t, CodecRED.IsAudio())
	require.False(t, CodecAV1.IsAudio())
	require.Equal(t, "unknown", Codec(200).String())
}

func TestIsKeyframeH264(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"empty", nil, false},
		{"single IDR", []byte{0x65, 0x88, 0x84}, true},
		{"single SPS", []byte{0x67, 0x42, 0xC0}, true},
		{"single PPS", []byte{0x68, 0xCE}, false},
		{"single non-IDR slice", []byte{0x41, 0x9A}, false},
		{"SEI", []byte{0x06, 0x05}, false},
		{"STAP-A SPS+PPS", []byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xCE}, true},
		{"STAP-A PPS then IDR", []byte{0x78, 0x00, 0x02, 0x68, 0xCE, 0x00, 0x02, 0x65, 0x88}, true},
		{"STAP-A non-key units", []byte{0x78, 0x00, 0x02, 0x68, 0xCE, 0x00, 0x02, 0x41, 0x9A}, false},
		{"STAP-A truncated size", []byte{0x78, 0x00, 0x09, 0x67, 0x42}, false},
		{"STAP-A zero size", []byte{0x78, 0x00, 0x00, 0x67}, false},
		{"STAP-A header only", []byte{0x78}, false},
		{"STAP-B with DON", []byte{0x79, 0x00, 0x01, 0x00, 0x02, 0x65, 0x88}, true},
		{"STAP-B truncated DON", []byte{0x79, 0x00}, false},
		{"FU-A start IDR", []byte{0x7C, 0x85, 0x88}, true},
		{"FU-A middle IDR", []byte{0x7C, 0x05, 0x88}, false},
		{"FU-A end IDR", []byte{0x7C, 0x45, 0x88}, false},
		{"FU-A start non-IDR", []byte{0x7C, 0x81, 0x9A}, false},
		{"FU-A no header", []byte{0x7C}, false},
		{"FU-B start IDR", []byte{0x7D, 0x85, 0x00, 0x01, 0x88}, true},
		{"MTAP16 not inspected", []byte{0x7A, 0x00, 0x00}, false},
		{"reserved type 0", []byte{0x00, 0x65}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, IsKeyframe(MimeH264, tt.payload))
		})
	}
}

func TestIsKeyframeVP9(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"empty", nil, false},
		{"B=1 P=0 no optional fields", []byte{0x08, 0x82}, true},
		{"B=0 (not start of frame)", []byte{0x00, 0x82}, false},
		{"P=1 inter frame", []byte{0x48, 0x00}, false},
		{"descriptor only", []byte{0x08}, false},
		{"7-bit picture id", []byte{0x88, 0x12, 0x82}, true},
		{"15-bit picture id", []byte{0x88, 0x81, 0x12, 0x82}, true},
		{"truncated picture id", []byte{0x88}, false},
		{"truncated 15-bit picture id before L", []byte{0xA8, 0x81}, false},
		{"L: base spatial layer", []byte{0xA8, 0x81, 0x12, 0x00, 0x05}, true},
		{"L: spatial layer 1 of key picture", []byte{0xA8, 0x81, 0x12, 0x03, 0x05}, false},
		{"L: base layer, temporal layer 2", []byte{0x28, 0x40, 0x05}, true},
		{"L: inter-predicted base layer", []byte{0x68, 0x00, 0x05}, false},
		{"L missing", []byte{0x28}, false},
		{"flexible mode keyframe", []byte{0xB8, 0x81, 0x00, 0x00, 0x82}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, IsKeyframe(MimeVP9, tt.payload))
		})
	}
}

func TestIsKeyframeAV1(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"empty", nil, false},
		{"header only", []byte{0x08}, false},
		{"N=1 W=1", []byte{0x18, 0x0A}, true},
		{"N=1 W=0", []byte{0x08, 0x0B, 0x0A}, true},
		{"N=0 W=1", []byte{0x10, 0x32}, false},
		{"continuation Z=1 N=0", []byte{0x90, 0x32}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, IsKeyframe(MimeAV1, tt.payload))
		})
	}
}

func TestIsKeyframeAudioAndUnknown(t *testing.T) {
	key := []byte{0x10, 0x00, 0x9d, 0x01, 0x2a}
	require.True(t, IsKeyframe(MimeVP8, key))
	for _, mime := range []string{MimeOpus, MimeRED, "video/H265", "", "text/plain"} {
		require.False(t, IsKeyframe(mime, key), mime)
	}
}

func TestParseAudioLevel(t *testing.T) {
	tests := []struct {
		name      string
		ext       []byte
		wantLevel uint8
		wantVoice bool
		wantErr   error
	}{
		{name: "silence no voice", ext: []byte{0x7F}, wantLevel: 127},
		{name: "loud voice", ext: []byte{0x80}, wantLevel: 0, wantVoice: true},
		{name: "mid voice", ext: []byte{0x80 | 30}, wantLevel: 30, wantVoice: true},
		{name: "padded element", ext: []byte{0x1E, 0x00, 0x00}, wantLevel: 30},
		{name: "empty", ext: nil, wantErr: ErrShortPacket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			level, voice, err := ParseAudioLevel(tt.ext)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantLevel, level)
			require.Equal(t, tt.wantVoice, voice)
		})
	}
}
