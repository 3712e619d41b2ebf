package codec

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseVP8(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    VP8
		wantErr error
	}{
		{
			name:    "minimal keyframe start",
			payload: []byte{0x10, 0x00, 0x9d},
			want:    VP8{FirstByte: 0x10, S: true, HeaderSize: 1, IsKeyframe: true},
		},
		{
			name:    "minimal interframe start (P=1)",
			payload: []byte{0x10, 0x01},
			want:    VP8{FirstByte: 0x10, S: true, HeaderSize: 1},
		},
		{
			name:    "continuation of partition 0 is not a keyframe",
			payload: []byte{0x00, 0x00},
			want:    VP8{FirstByte: 0x00, HeaderSize: 1},
		},
		{
			name:    "start of partition 1 is not a keyframe",
			payload: []byte{0x11, 0x00},
			want:    VP8{FirstByte: 0x11, S: true, PID: 1, HeaderSize: 1},
		},
		{
			name:    "non-reference frame",
			payload: []byte{0x30, 0x01},
			want:    VP8{FirstByte: 0x30, N: true, S: true, HeaderSize: 1},
		},
		{
			name:    "7-bit picture id",
			payload: []byte{0x90, 0x80, 0x55, 0x00},
			want: VP8{FirstByte: 0x90, S: true, HasPictureID: true, PictureID: 0x55,
				HeaderSize: 3, IsKeyframe: true},
		},
		{
			name:    "15-bit picture id",
			payload: []byte{0x90, 0x80, 0x81, 0x23, 0x01},
			want: VP8{FirstByte: 0x90, S: true, HasPictureID: true, PictureID: 0x0123, MBit: true,
				HeaderSize: 4},
		},
		{
			name:    "15-bit picture id, TL0PICIDX, TID, Y, KEYIDX",
			payload: []byte{0x90, 0xF0, 0xFF, 0xFF, 0x07, 0xB5, 0x00},
			want: VP8{FirstByte: 0x90, S: true, HasPictureID: true, PictureID: 0x7FFF, MBit: true,
				HasTL0PICIDX: true, TL0PICIDX: 7, HasTID: true, TID: 2, Y: true,
				HasKEYIDX: true, KEYIDX: 0x15, HeaderSize: 6, IsKeyframe: true},
		},
		{
			name:    "T without K ignores KEYIDX bits",
			payload: []byte{0x80, 0x20, 0x5F, 0x01},
			want:    VP8{FirstByte: 0x80, HasTID: true, TID: 1, HeaderSize: 3},
		},
		{
			name:    "K without T ignores TID and Y bits",
			payload: []byte{0x80, 0x10, 0xE3, 0x01},
			want:    VP8{FirstByte: 0x80, HasKEYIDX: true, KEYIDX: 3, HeaderSize: 3},
		},
		{
			name:    "L only",
			payload: []byte{0x80, 0x40, 0xAA, 0x01},
			want:    VP8{FirstByte: 0x80, HasTL0PICIDX: true, TL0PICIDX: 0xAA, HeaderSize: 3},
		},
		{
			name:    "X with no optional fields",
			payload: []byte{0x90, 0x00, 0x00},
			want:    VP8{FirstByte: 0x90, S: true, HeaderSize: 2, IsKeyframe: true},
		},
		{name: "empty", payload: nil, wantErr: ErrShortPacket},
		{name: "descriptor only", payload: []byte{0x10}, wantErr: ErrShortPacket},
		{name: "missing X byte", payload: []byte{0x80}, wantErr: ErrShortPacket},
		{name: "missing picture id", payload: []byte{0x80, 0x80}, wantErr: ErrShortPacket},
		{name: "missing second picture id byte", payload: []byte{0x80, 0x80, 0x80}, wantErr: ErrShortPacket},
		{name: "missing TL0PICIDX", payload: []byte{0x80, 0x40}, wantErr: ErrShortPacket},
		{name: "missing T/K byte", payload: []byte{0x80, 0x30}, wantErr: ErrShortPacket},
		{name: "no payload after full descriptor", payload: []byte{0x90, 0xF0, 0xFF, 0xFF, 0x07, 0xB5},
			wantErr: ErrShortPacket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got VP8
			err := ParseVP8(tt.payload, &got)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.want.IsKeyframe, IsKeyframe("video/vp8", tt.payload))
		})
	}
}

func TestVP8MarshalDescriptor(t *testing.T) {
	tests := []struct {
		name string
		in   VP8
		want []byte
	}{
		{
			name: "no extension",
			in:   VP8{S: true, N: true, PID: 2},
			want: []byte{0x32},
		},
		{
			name: "7-bit picture id is widened to 15 bits",
			in:   VP8{S: true, HasPictureID: true, PictureID: 0x55},
			want: []byte{0x90, 0x80, 0x80, 0x55},
		},
		{
			name: "15-bit picture id",
			in:   VP8{HasPictureID: true, PictureID: 0x1234, MBit: true},
			want: []byte{0x80, 0x80, 0x92, 0x34},
		},
		{
			name: "picture id masked to 15 bits",
			in:   VP8{HasPictureID: true, PictureID: 0xFFFF},
			want: []byte{0x80, 0x80, 0xFF, 0xFF},
		},
		{
			name: "all fields",
			in: VP8{S: true, HasPictureID: true, PictureID: 300, HasTL0PICIDX: true, TL0PICIDX: 9,
				HasTID: true, TID: 3, Y: true, HasKEYIDX: true, KEYIDX: 31},
			want: []byte{0x90, 0xF0, 0x81, 0x2C, 0x09, 0xFF},
		},
		{
			name: "TID without K, reserved bits and stale FirstByte ignored",
			in:   VP8{FirstByte: 0xFF, HasTID: true, TID: 1, KEYIDX: 7},
			want: []byte{0x80, 0x20, 0x40},
		},
		{
			name: "KEYIDX without T drops TID/Y",
			in:   VP8{HasKEYIDX: true, KEYIDX: 4, TID: 2, Y: true},
			want: []byte{0x80, 0x10, 0x04},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, len(tt.want), tt.in.DescriptorSize())
			buf := make([]byte, 8)
			n, err := tt.in.MarshalDescriptor(buf)
			require.NoError(t, err)
			require.Equal(t, tt.want, buf[:n])

			_, err = tt.in.MarshalDescriptor(buf[:len(tt.want)-1])
			require.ErrorIs(t, err, ErrShortBuffer)
		})
	}
}

func TestVP8RoundTripKeepsLengthAcrossPictureIDWidths(t *testing.T) {
	short := []byte{0x90, 0xE0, 0x7F, 0x05, 0x40, 0x00}
	var v VP8
	require.NoError(t, ParseVP8(short, &v))
	require.False(t, v.MBit)
	require.Equal(t, 5, v.HeaderSize)
	require.Equal(t, 6, v.DescriptorSize(), "7-bit id must be written as 15-bit")

	v.PictureID = 0x7FFE
	out := make([]byte, v.DescriptorSize()+len(short)-v.HeaderSize)
	n, err := v.MarshalDescriptor(out)
	require.NoError(t, err)
	copy(out[n:], short[v.HeaderSize:])

	var w VP8
	require.NoError(t, ParseVP8(out, &w))
	require.True(t, w.MBit)
	require.Equal(t, uint16(0x7FFE), w.PictureID)
	require.Equal(t, uint8(5), w.TL0PICIDX)
	require.Equal(t, uint8(1), w.TID)
	require.True(t, w.IsKeyframe)
}
