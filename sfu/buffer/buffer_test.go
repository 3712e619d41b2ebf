package buffer

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/sfu/codec"
)

var t0 = time.Unix(1_700_000_000, 0)

func TestPushReturnsParsedPacket(t *testing.T) {
	b := newVP8Buffer(t, Params{AudioLevelExtID: 1})
	raw := packet(t, 1000, withTS(123456), withExtension(t, 1, []byte{0x80 | 20}))
	p, err := b.Push(raw, t0)
	require.NoError(t, err)
	require.Equal(t, t0.UnixNano(), p.Arrival)
	require.Equal(t, uint64(1000), p.ExtSeq)
	require.Equal(t, uint64(123456), p.ExtTS)
	require.Equal(t, uint16(1000), p.Header.SequenceNumber)
	require.Equal(t, uint32(testSSRC), p.Header.SSRC)
	require.Equal(t, raw, p.Raw)
	require.Equal(t, vp8Inter, p.Payload)
	require.True(t, p.VP8.HasPictureID)
	require.Equal(t, uint16(1), p.VP8.PictureID)
	require.False(t, p.KeyFrame)
	require.True(t, p.HasAudioLevel)
	require.Equal(t, uint8(20), p.AudioLevel)
	require.True(t, p.Voice)

	// The packet must not alias the caller's buffer: pion reuses its read buffers.
	for i := range raw {
		raw[i] = 0
	}
	require.Equal(t, vp8Inter, p.Payload)
	require.Equal(t, []byte{0x80 | 20}, p.Header.GetExtension(1))
}

func TestPushSequenceAndTimestampWrap(t *testing.T) {
	b := newVP8Buffer(t, Params{})
	const tsStart = 1<<32 - 6000
	var wantExt uint64 = 65533
	for i, sn := range []uint16{65533, 65534, 65535, 0, 1, 2} {
		ts := uint32(tsStart + uint64(i)*3000)
		p := push(t, b, t0, sn, withTS(ts))
		require.Equal(t, wantExt, p.ExtSeq, "sn %d", sn)
		require.Equal(t, uint64(tsStart)+uint64(i)*3000, p.ExtTS, "sn %d", sn)
		wantExt++
	}
	st := b.Stats()
	require.Equal(t, uint64(65538), st.HighestExtSeq)
	require.Equal(t, uint64(6), st.PacketsReceived)
	require.Zero(t, st.PacketsLost)
}

func TestPushReordering(t *testing.T) {
	tests := []struct {
		name    string
		seqs    []uint16
		wantExt []uint64
		wantOOO uint64
	}{
		{"in order", []uint16{10, 11, 12}, []uint64{10, 11, 12}, 0},
		{"swap", []uint16{10, 12, 11}, []uint64{10, 12, 11}, 1},
		{"across wrap", []uint16{65535, 1, 0}, []uint64{65535, 65537, 65536}, 1},
		{"late before first", []uint16{100, 101, 99}, []uint64{100, 101, 99}, 1},
		{"late behind the wrap", []uint16{0, 2, 65535, 1}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newVP8Buffer(t, Params{})
			for i, sn := range tt.seqs {
				p, err := b.Push(packet(t, sn, withTS(90000)), t0)
				if tt.wantExt == nil && sn == 65535 {
					// Would precede ext seq 0, the stream's first packet.
					require.ErrorIs(t, err, ErrTooOld)
					continue
				}
				require.NoError(t, err)
				if tt.wantExt != nil {
					require.Equal(t, tt.wantExt[i], p.ExtSeq)
				}
			}
			st := b.Stats()
			require.Equal(t, tt.wantOOO, st.PacketsOutOfOrder)
			require.Zero(t, st.PacketsLost)
		})
	}
}

func TestPushTimestampReordering(t *testing.T) {
	b := newVP8Buffer(t, Params{})
	require.Equal(t, uint64(1<<32-100), push(t, b, t0, 1, withTS(1<<32-100)).ExtTS)
	require.Equal(t, uint64(1<<32+200), push(t, b, t0, 3, withTS(200)).ExtTS)
	// A reordered packet from before the timestamp wrap keeps its cycle.
	require.Equal(t, uint64(1<<32-50), push(t, b, t0, 2, withTS(1<<32-50)).ExtTS)
	require.Equal(t, uint64(1<<32+300), push(t, b, t0, 4, withTS(300)).ExtTS)
}

func TestPushDuplicates(t *testing.T) {
	b := newVP8Buffer(t, Params{})
	push(t, b, t0, 5)
	push(t, b, t0, 6)
	_, err := b.Push(packet(t, 5), t0)
	require.ErrorIs(t, err, ErrDuplicate)
	_, err = b.Push(packet(t, 6), t0)
	require.ErrorIs(t, err, ErrDuplicate)
	st := b.Stats()
	require.Equal(t, uint64(2), st.PacketsDuplicate)
	require.Equal(t, uint64(2), st.PacketsReceived)
	require.Equal(t, uint64(2*len(packet(t, 5))), st.Bytes)
}

func TestPushTooOld(t *testing.T) {
	b := newVP8Buffer(t, Params{Size: 16})
	push(t, b, t0, 100)
	push(t, b, t0, 120) // 101..119 missing
	_, err := b.Push(packet(t, 104), t0)
	require.ErrorIs(t, err, ErrTooOld, "120-104 = 16 is outside a 16-packet window")
	p := push(t, b, t0, 105) // 15 behind: inside the window, late arrival
	require.Equal(t, uint64(105), p.ExtSeq)
	_, err = b.Push(packet(t, 100), t0)
	require.ErrorIs(t, err, ErrTooOld, "a duplicate outside the window is too old")

	st := b.Stats()
	require.Equal(t, uint64(2), st.PacketsTooOld)
	require.Equal(t, uint64(3), st.PacketsReceived)
	require.Equal(t, uint64(21-3), st.PacketsLost)
}

func TestLossCountingWithLateArrivals(t *testing.T) {
	clk := &fakeClock{t: t0}
	b := newVP8Buffer(t, Params{Now: clk.now})
	for _, sn := range []uint16{1, 2, 4, 5, 8} {
		push(t, b, t0, sn)
	}
	st := b.Stats()
	require.Equal(t, uint64(3), st.PacketsLost) // 3, 6, 7
	require.InDelta(t, 3.0/8.0, st.FractionLost, 1e-9)

	push(t, b, t0, 3)
	push(t, b, t0, 7)
	st = b.Stats()
	require.Equal(t, uint64(1), st.PacketsLost, "late arrivals reduce the lost count")
	require.Zero(t, st.FractionLost, "an interval with recovered packets is not negative loss")
	require.Equal(t, uint64(2), st.PacketsOutOfOrder)

	push(t, b, t0, 9)
	push(t, b, t0, 11)
	st = b.Stats()
	require.Equal(t, uint64(2), st.PacketsLost)
	require.InDelta(t, 1.0/3.0, st.FractionLost, 1e-9) // expected 9..11, received 9 and 11

	st = b.Stats()
	require.Zero(t, st.FractionLost, "empty interval")
}

func TestJitter(t *testing.T) {
	// 8 kHz clock, one packet per 20 ms (160 ticks) of media, arriving at
	// 0, 20, 45, 60 ms. Transit (RTP units): 0, 0, 40, 0, then 70 ms → 560-640 = -80.
	// J1 = 0; J2 = 40/16 = 2.5; J3 = 2.5 + (40-2.5)/16 = 4.84375;
	// J4 = 4.84375 + (80-4.84375)/16 = 9.541015625 ticks.
	b := New(Params{SSRC: testSSRC, MimeType: "audio/opus", ClockRate: 8000})
	arrivals := []time.Duration{0, 20, 45, 60, 70}
	for i, ms := range arrivals {
		push(t, b, t0.Add(ms*time.Millisecond), uint16(i), withTS(uint32(i*160)), withPayload([]byte{0xFC, 1, 2}))
		if i == 3 {
			require.InDelta(t, 4.84375/8000, b.Stats().Jitter, 1e-12)
		}
	}
	require.InDelta(t, 9.541015625/8000, b.Stats().Jitter, 1e-12)

	// Padding-only packets (probes with an old timestamp) do not count.
	push(t, b, t0.Add(500*time.Millisecond), 5, withTS(4*160), withPayload(nil), withPadding(200))
	require.InDelta(t, 9.541015625/8000, b.Stats().Jitter, 1e-12)
}

func TestReadPacket(t *testing.T) {
	b := newVP8Buffer(t, Params{Size: 16})
	buf := make([]byte, 1500)

	_, err := b.ReadPacket(buf, 0)
	require.ErrorIs(t, err, ErrNotFound, "empty buffer")

	for sn := uint16(0); sn < 16; sn++ {
		push(t, b, t0, sn)
	}
	n, err := b.ReadPacket(buf, 0)
	require.NoError(t, err)
	require.Equal(t, packet(t, 0), buf[:n])

	_, err = b.ReadPacket(buf[:10], 0)
	require.ErrorIs(t, err, ErrShortBuffer)

	push(t, b, t0, 16) // lands in the slot of 0
	_, err = b.ReadPacket(buf, 0)
	require.ErrorIs(t, err, ErrNotFound, "evicted")
	n, err = b.ReadPacket(buf, 16)
	require.NoError(t, err)
	require.Equal(t, packet(t, 16), buf[:n])

	_, err = b.ReadPacket(buf, 17)
	require.ErrorIs(t, err, ErrNotFound, "not yet received")
	_, err = b.ReadPacket(buf, 16+32768)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestReadPacketNeverReturnsSlotNeighbour(t *testing.T) {
	b := newVP8Buffer(t, Params{Size: 16})
	buf := make([]byte, 1500)
	push(t, b, t0, 1)  // slot 1
	push(t, b, t0, 18) // slot 2; 2..17 lost
	// 17 is inside the window and maps to slot 1, which still holds packet 1.
	_, err := b.ReadPacket(buf, 17)
	require.ErrorIs(t, err, ErrNotFound)
	// 1 is outside the window now even though its bytes are still in the slot.
	_, err = b.ReadPacket(buf, 1)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestReadPacketAcrossWrap(t *testing.T) {
	b := newVP8Buffer(t, Params{Size: 16})
	buf := make([]byte, 1500)
	for _, sn := range []uint16{65530, 65535, 0, 3} {
		push(t, b, t0, sn)
	}
	for _, sn := range []uint16{65535, 0, 3} {
		n, err := b.ReadPacket(buf, sn)
		require.NoError(t, err, "sn %d", sn)
		require.Equal(t, packet(t, sn), buf[:n])
	}
	_, err := b.ReadPacket(buf, 1)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestKeyframes(t *testing.T) {
	tests := []struct {
		mime    string
		payload []byte
		want    bool
	}{
		{"video/VP8", vp8Key, true},
		{"video/VP8", vp8Inter, false},
		{"video/H264", []byte{0x7C, 0x85, 0x88}, true},
		{"video/H264", []byte{0x41, 0x9A}, false},
		{"video/VP9", []byte{0x08, 0x82}, true},
		{"video/AV1", []byte{0x18, 0x0A}, true},
		{"audio/opus", []byte{0x10, 0x00}, false},
	}
	for _, tt := range tests {
		t.Run(tt.mime, func(t *testing.T) {
			clk := &fakeClock{t: t0}
			b := New(Params{SSRC: testSSRC, MimeType: tt.mime, Now: clk.now})
			require.Equal(t, codec.CodecFromMime(tt.mime), b.Codec())
			p := push(t, b, t0.Add(time.Second), 7, withPayload(tt.payload))
			require.Equal(t, tt.want, p.KeyFrame)
			if tt.want {
				require.Equal(t, t0.Add(time.Second).UnixNano(), b.Stats().LastKeyframe.UnixNano())
			} else {
				require.True(t, b.Stats().LastKeyframe.IsZero())
			}
		})
	}
}

func TestPushInvalid(t *testing.T) {
	good := packet(t, 1)
	tooLarge := make([]byte, 1501)
	copy(tooLarge, good)
	tests := []struct {
		name    string
		raw     []byte
		wantErr error
	}{
		{"empty", nil, ErrInvalidPacket},
		{"short", good[:11], ErrInvalidPacket},
		{"version 1", append([]byte{0x40}, good[1:]...), ErrInvalidPacket},
		{"other SSRC", packet(t, 1, withSSRC(1)), ErrInvalidPacket},
		{"CSRC count beyond end", append([]byte{0x8F}, good[1:12]...), ErrInvalidPacket},
		{"extension header truncated", append([]byte{0x90}, good[1:14]...), ErrInvalidPacket},
		{"extension length beyond end", append(append([]byte{0x90}, good[1:12]...), 0xBE, 0xDE, 0x00, 0x09), ErrInvalidPacket},
		{"padding zero", append(append([]byte{0xA0}, good[1:]...), 0x00), ErrInvalidPacket},
		{"padding beyond payload", append(append([]byte{0xA0}, good[1:12]...), 0x05), ErrInvalidPacket},
		{"bad VP8 descriptor", packet(t, 1, withPayload([]byte{0x80})), ErrInvalidPacket},
		{"too large", tooLarge, ErrPacketTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newVP8Buffer(t, Params{})
			p, err := b.Push(tt.raw, t0)
			require.ErrorIs(t, err, tt.wantErr)
			require.Nil(t, p)
			st := b.Stats()
			require.Equal(t, uint64(1), st.PacketsInvalid)
			require.Zero(t, st.PacketsReceived)
		})
	}
}

func TestPaddingOnlyPacket(t *testing.T) {
	b := newVP8Buffer(t, Params{})
	push(t, b, t0, 1)
	raw := packet(t, 2, withPayload(nil), withPadding(100))
	p, err := b.Push(raw, t0)
	require.NoError(t, err)
	require.Empty(t, p.Payload)
	require.Equal(t, raw, p.Raw)
	require.Equal(t, uint64(2), p.ExtSeq)
	require.False(t, p.KeyFrame)

	// A padded media packet keeps its payload without the padding.
	p = push(t, b, t0, 3, withPadding(4))
	require.Equal(t, vp8Inter, p.Payload)

	st := b.Stats()
	require.Equal(t, uint64(1), st.PacketsPadding)
	require.Equal(t, uint64(3), st.PacketsReceived)
	require.Zero(t, st.PacketsLost)
}

func TestBitrate(t *testing.T) {
	clk := &fakeClock{t: t0}
	b := newVP8Buffer(t, Params{Now: clk.now})
	size := len(packet(t, 0))
	for sn := range uint16(10) {
		push(t, b, clk.t, sn)
	}
	clk.advance(500 * time.Millisecond)
	require.InDelta(t, float64(10*size*8)/0.5, b.Stats().Bitrate, 1e-6)
	clk.advance(time.Second)
	require.Zero(t, b.Stats().Bitrate)
}

func TestSenderReport(t *testing.T) {
	b := newVP8Buffer(t, Params{})
	_, ok := b.LastSenderReport()
	require.False(t, ok)

	b.OnSenderReport(&rtcp.SenderReport{SSRC: 999, NTPTime: 1, RTPTime: 2}, t0)
	b.OnSenderReport(nil, t0)
	_, ok = b.LastSenderReport()
	require.False(t, ok, "other SSRC ignored")

	b.OnSenderReport(&rtcp.SenderReport{SSRC: testSSRC, NTPTime: 0xAABBCCDD00112233, RTPTime: 90000}, t0)
	sr, ok := b.LastSenderReport()
	require.True(t, ok)
	require.Equal(t, SenderReport{NTPTime: 0xAABBCCDD00112233, RTPTime: 90000, Arrival: t0}, sr)
}

func TestAudioLevelResetBetweenPackets(t *testing.T) {
	b := newVP8Buffer(t, Params{AudioLevelExtID: 3})
	p := push(t, b, t0, 1, withExtension(t, 3, []byte{0x7F}))
	require.True(t, p.HasAudioLevel)
	require.False(t, p.Voice)
	p = push(t, b, t0, 2)
	require.False(t, p.HasAudioLevel, "fields reset between packets")
	require.Empty(t, p.Header.Extensions)
}
