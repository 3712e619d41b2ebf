package sfu

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/sfu/codec"
)

func vp8Desc(pid uint16, mbit bool, tl0, keyIdx uint8) *codec.VP8 {
	return &codec.VP8{
		S: true, HasPictureID: true, PictureID: pid, MBit: mbit,
		HasTL0PICIDX: true, TL0PICIDX: tl0, HasKEYIDX: true, KEYIDX: keyIdx, HeaderSize: 5,
	}
}

func TestVP8Munger(t *testing.T) {
	t.Parallel()
	type step struct {
		resync bool
		in     *codec.VP8
		want   vp8Munged
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{
			name: "first mapping keeps values, 15-bit wrap",
			steps: []step{
				{resync: true, in: vp8Desc(32766, true, 254, 30), want: vp8Munged{32766, 254, 30}},
				{in: vp8Desc(32767, true, 255, 31), want: vp8Munged{32767, 255, 31}},
				{in: vp8Desc(0, true, 0, 0), want: vp8Munged{0, 0, 0}},
			},
		},
		{
			name: "7-bit ids are extended and written as 15-bit",
			steps: []step{
				{resync: true, in: vp8Desc(126, false, 1, 1), want: vp8Munged{126, 1, 1}},
				{in: vp8Desc(127, false, 2, 1), want: vp8Munged{127, 2, 1}},
				{in: vp8Desc(0, false, 3, 1), want: vp8Munged{128, 3, 1}},
				{in: vp8Desc(1, false, 4, 1), want: vp8Munged{129, 4, 1}},
				{in: vp8Desc(127, false, 2, 1), want: vp8Munged{127, 2, 1}}, // late packet
			},
		},
		{
			name: "switch continues every field",
			steps: []step{
				{resync: true, in: vp8Desc(500, true, 10, 3), want: vp8Munged{500, 10, 3}},
				{in: vp8Desc(501, true, 11, 3), want: vp8Munged{501, 11, 3}},
				{resync: true, in: vp8Desc(20, false, 200, 17), want: vp8Munged{502, 12, 4}},
				{in: vp8Desc(21, false, 201, 17), want: vp8Munged{503, 13, 4}},
				{resync: true, in: vp8Desc(9000, true, 0, 0), want: vp8Munged{504, 14, 5}},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m vp8Munger
			for i, st := range tc.steps {
				if st.resync {
					m.resync(st.in)
				}
				require.Equal(t, st.want, m.process(st.in), "step %d", i)
			}
		})
	}
}

func TestVP8MungedApply(t *testing.T) {
	t.Parallel()
	v := vp8Desc(5, false, 1, 2)
	v.HasKEYIDX = false
	vp8Munged{pictureID: 4000, tl0PicIdx: 9, keyIdx: 7}.apply(v)
	require.Equal(t, uint16(4000), v.PictureID)
	require.True(t, v.MBit, "always 15-bit")
	require.Equal(t, uint8(9), v.TL0PICIDX)
	require.Equal(t, uint8(2), v.KEYIDX, "absent field untouched")

	buf := make([]byte, 16)
	n, err := v.MarshalDescriptor(buf)
	require.NoError(t, err)
	var back codec.VP8
	require.NoError(t, codec.ParseVP8(append(buf[:n], 0x00), &back))
	require.Equal(t, uint16(4000), back.PictureID)
	require.Equal(t, uint8(9), back.TL0PICIDX)
}
