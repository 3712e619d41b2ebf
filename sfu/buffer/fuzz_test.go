package buffer

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// FuzzPush drives a small buffer with packet sequences derived from the
// input (mostly near-sequential, with jumps, duplicates, padding and raw
// garbage) and checks the accounting invariants after every step.
func FuzzPush(f *testing.F) {
	f.Add([]byte{0x00, 0x01, 0x00, 0x01, 0x00, 0x01})
	f.Add([]byte{0x00, 0xFF, 0x00, 0x02, 0x04, 0x01, 0x00, 0x80})
	f.Add([]byte{0x08, 0x01, 0x09, 0x01, 0x02, 0x7F, 0x00, 0x81, 0x01, 0x00})
	f.Add([]byte{0x01, 0x80, 0x00, 0x00, 0x01, 0x90, 0x10, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		clk := &fakeClock{t: t0}
		b := New(Params{SSRC: testSSRC, MimeType: "video/VP8", Size: 16, MaxPacketSize: 200, Now: clk.now})

		var (
			sn       uint16
			ts       uint32
			accepted = map[uint64][]byte{}
			minExt   = uint64(math.MaxUint64)
			maxExt   uint64
			dst      = make([]byte, 200)
			pkt      = rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: testSSRC}}
		)
		for len(data) >= 2 {
			op, arg := data[0], data[1]
			data = data[2:]
			clk.advance(time.Duration(arg) * time.Millisecond)

			var raw []byte
			if op&0x01 != 0 { // garbage: the next arg bytes verbatim
				n := min(int(arg)%24, len(data))
				raw, data = data[:n], data[n:]
			} else {
				sn += uint16(int16(int8(arg))) // -128..127
				if op&0x40 != 0 {
					sn += 0x4000 // big jump
				}
				ts += uint32(arg) * 90
				pkt.SequenceNumber, pkt.Timestamp = sn, ts
				pkt.Payload = []byte{0x10, op & 0x02 >> 1, byte(sn >> 8), byte(sn)}
				pkt.Padding, pkt.PaddingSize = false, 0
				if op&0x04 != 0 { // padding only
					pkt.Payload, pkt.Padding, pkt.PaddingSize = nil, true, 1+op>>4
				}
				var err error
				if raw, err = pkt.Marshal(); err != nil {
					t.Fatal(err)
				}
			}
			p, err := b.Push(raw, clk.t)
			if err == nil {
				if uint16(p.ExtSeq) != p.Header.SequenceNumber {
					t.Fatalf("ext seq %d does not extend %d", p.ExtSeq, p.Header.SequenceNumber)
				}
				if _, dup := accepted[p.ExtSeq]; dup {
					t.Fatalf("ext seq %d accepted twice", p.ExtSeq)
				}
				accepted[p.ExtSeq] = append([]byte(nil), raw...)
				minExt, maxExt = min(minExt, p.ExtSeq), max(maxExt, p.ExtSeq)
			}

			st := b.Stats()
			if st.PacketsReceived != uint64(len(accepted)) {
				t.Fatalf("received %d, accepted %d", st.PacketsReceived, len(accepted))
			}
			if len(accepted) == 0 {
				continue
			}
			if st.HighestExtSeq != maxExt {
				t.Fatalf("highest %d, want %d", st.HighestExtSeq, maxExt)
			}
			if want := maxExt - minExt + 1 - uint64(len(accepted)); st.PacketsLost != want {
				t.Fatalf("lost %d, want %d", st.PacketsLost, want)
			}
			if st.FractionLost < 0 || st.FractionLost > 1 || st.Jitter < 0 || math.IsNaN(st.Jitter) ||
				st.Bitrate < 0 || math.IsNaN(st.Bitrate) {
				t.Fatalf("bad interval stats %+v", st)
			}
			// The newest packet is always readable and is exactly what was pushed.
			n, err := b.ReadPacket(dst, uint16(maxExt))
			if err != nil || string(dst[:n]) != string(accepted[maxExt]) {
				t.Fatalf("ReadPacket(%d): n=%d err=%v", uint16(maxExt), n, err)
			}
			// Whatever ReadPacket returns for a recent sn is that packet.
			for back := range uint64(20) {
				if back > maxExt {
					break
				}
				ext := maxExt - back
				n, err := b.ReadPacket(dst, uint16(ext))
				if err == nil && (back >= 16 || string(dst[:n]) != string(accepted[ext])) {
					t.Fatalf("ReadPacket(%d) returned a wrong packet", uint16(ext))
				}
				if want, ok := accepted[ext]; ok && back < 16 && (err != nil || string(dst[:n]) != string(want)) {
					t.Fatalf("ReadPacket(%d) lost a cached packet: %v", uint16(ext), err)
				}
			}
			if binary.BigEndian.Uint16(accepted[maxExt][2:]) != uint16(maxExt) {
				t.Fatal("cached bytes do not match sequence number")
			}
		}
	})
}
