package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// FuzzDownTrackRTCP feeds arbitrary bytes, as a subscriber could send them, through pion's RTCP
// parser and the down-track's RTCP handling (NACK retransmission, PLI/FIR, receiver reports,
// REMB/TWCC): nothing may panic, and a NACK can only ever resend packets the down-track sent.
func FuzzDownTrackRTCP(f *testing.F) {
	seeds := [][]rtcp.Packet{
		{&rtcp.TransportLayerNack{MediaSSRC: testOutSSRC, Nacks: []rtcp.NackPair{{PacketID: 1, LostPackets: 0xffff}}}},
		{&rtcp.PictureLossIndication{MediaSSRC: testOutSSRC}},
		{&rtcp.FullIntraRequest{MediaSSRC: testOutSSRC, FIR: []rtcp.FIREntry{{SSRC: testOutSSRC}}}},
		{&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: testOutSSRC, FractionLost: 200,
			TotalLost: 5, LastSenderReport: 0x12345678, Delay: 100}}}},
		{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 1e6, SSRCs: []uint32{testOutSSRC}}},
	}
	for _, s := range seeds {
		b, err := rtcp.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x80, 0xc9, 0x00, 0x01, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		pkts, err := rtcp.Unmarshal(data)
		if err != nil {
			return
		}
		dt, src, w, _ := newBoundDownTrack(t, LayerHigh)
		b := newVP8Buffer(1000)
		now := time.Now()
		for i := range 5 {
			dt.WriteRTP(pushVP8(src, b, 0, 1000, uint16(100+i), uint32(3000*i), uint16(i), i == 0, now), LayerLow)
		}
		before := w.packets()
		seqs := map[uint16]bool{}
		for _, p := range before {
			seqs[p.SequenceNumber] = true
		}
		dt.handleRTCP(pkts, now)
		for _, p := range w.packets()[len(before):] {
			if !seqs[p.SequenceNumber] {
				t.Fatalf("resent seq %d, which was never sent", p.SequenceNumber)
			}
		}
	})
}
