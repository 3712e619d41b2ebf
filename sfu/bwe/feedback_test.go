package bwe

import (
	"errors"
	"testing"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/stretchr/testify/require"
)

func TestUnwrapReference(t *testing.T) {
	tests := []struct {
		name string
		ref  uint32
		prev int64
		want int64
	}{
		{"first report", 1000, -1, 1000},
		{"forward", 1010, 1000, 1010},
		{"slightly back (reordered report)", 995, 1000, 995},
		{"wraps forward", 5, referenceTimeSpan - 3, referenceTimeSpan + 5},
		{"wraps back", uint32(referenceTimeSpan - 2), referenceTimeSpan + 1, referenceTimeSpan - 2},
		{"upper bits ignored", 1<<24 | 7, 6, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, unwrapReference(tc.ref, tc.prev))
		})
	}
}

func walkAll(t *testing.T, fb *rtcp.TransportLayerCC, ref int64) ([]packetStatus, error) {
	t.Helper()
	r := newTWCCReader(fb, ref)
	var out []packetStatus
	for range 1000 {
		st, ok, err := r.next()
		if err != nil || !ok {
			return out, err
		}
		out = append(out, st)
	}
	t.Fatal("reader did not end")
	return nil, nil
}

func TestTWCCReader(t *testing.T) {
	small := func(us int64) *rtcp.RecvDelta {
		return &rtcp.RecvDelta{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: us}
	}
	large := func(us int64) *rtcp.RecvDelta {
		return &rtcp.RecvDelta{Type: rtcp.TypeTCCPacketReceivedLargeDelta, Delta: us}
	}
	got := func(seq uint16, arr int64) packetStatus {
		return packetStatus{seq: seq, received: true, hasArrival: true, arrivalUS: arr}
	}
	lost := func(seq uint16) packetStatus { return packetStatus{seq: seq} }
	const base = 10 * referenceTimeUnitUS

	tests := []struct {
		name    string
		fb      rtcp.TransportLayerCC
		want    []packetStatus
		wantErr bool
	}{
		{
			name: "run length of received packets",
			fb: rtcp.TransportLayerCC{
				BaseSequenceNumber: 65534, PacketStatusCount: 3, ReferenceTime: 10,
				PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{
					PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 3}},
				RecvDeltas: []*rtcp.RecvDelta{small(1000), small(250), small(0)},
			},
			want: []packetStatus{got(65534, base+1000), got(65535, base+1250), got(0, base+1250)},
		},
		{
			name: "two-bit status vector with loss and a negative large delta",
			fb: rtcp.TransportLayerCC{
				BaseSequenceNumber: 7, PacketStatusCount: 4, ReferenceTime: 10,
				PacketChunks: []rtcp.PacketStatusChunk{&rtcp.StatusVectorChunk{
					SymbolSize: rtcp.TypeTCCSymbolSizeTwoBit,
					SymbolList: []uint16{
						rtcp.TypeTCCPacketReceivedSmallDelta, rtcp.TypeTCCPacketNotReceived,
						rtcp.TypeTCCPacketReceivedLargeDelta, rtcp.TypeTCCPacketReceivedSmallDelta,
						rtcp.TypeTCCPacketNotReceived, rtcp.TypeTCCPacketNotReceived, rtcp.TypeTCCPacketNotReceived,
					}}},
				RecvDeltas: []*rtcp.RecvDelta{small(500), large(-250), small(750)},
			},
			// PacketStatusCount ends the walk inside the vector: its padding symbols are ignored.
			want: []packetStatus{got(7, base+500), lost(8), got(9, base+250), got(10, base+1000)},
		},
		{
			name: "one-bit vector then run of losses",
			fb: rtcp.TransportLayerCC{
				BaseSequenceNumber: 100, PacketStatusCount: 5, ReferenceTime: 10,
				PacketChunks: []rtcp.PacketStatusChunk{
					&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeOneBit, SymbolList: []uint16{1, 0, 1}},
					&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketNotReceived, RunLength: 2},
				},
				RecvDeltas: []*rtcp.RecvDelta{small(0), small(2000)},
			},
			want: []packetStatus{got(100, base), lost(101), got(102, base+2000), lost(103), lost(104)},
		},
		{
			name: "received without delta",
			fb: rtcp.TransportLayerCC{
				BaseSequenceNumber: 1, PacketStatusCount: 1, ReferenceTime: 10,
				PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{
					PacketStatusSymbol: rtcp.TypeTCCPacketReceivedWithoutDelta, RunLength: 1}},
			},
			want: []packetStatus{{seq: 1, received: true}},
		},
		{
			name: "count larger than the chunks",
			fb: rtcp.TransportLayerCC{
				BaseSequenceNumber: 1, PacketStatusCount: 9, ReferenceTime: 10,
				PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{
					PacketStatusSymbol: rtcp.TypeTCCPacketNotReceived, RunLength: 2}},
			},
			want: []packetStatus{lost(1), lost(2)},
		},
		{
			name: "missing delta",
			fb: rtcp.TransportLayerCC{
				BaseSequenceNumber: 1, PacketStatusCount: 2, ReferenceTime: 10,
				PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{
					PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 2}},
				RecvDeltas: []*rtcp.RecvDelta{small(0)},
			},
			want:    []packetStatus{got(1, base)},
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := walkAll(t, &tc.fb, unwrapReference(tc.fb.ReferenceTime, -1))
			if tc.wantErr {
				require.True(t, errors.Is(err, ErrMalformedFeedback), "error %v", err)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.want, out)
		})
	}
}

// TestTWCCReaderRoundTrip: a report built by pion's TWCC recorder, marshalled
// and parsed again, reads back the arrivals that were recorded (to the 250 µs
// resolution of the format) and the losses between them.
func TestTWCCReaderRoundTrip(t *testing.T) {
	rec := twcc.NewRecorder(1)
	arrivals := map[uint16]int64{40: 1_000_000, 41: 1_000_250, 43: 1_004_000, 44: 1_070_000}
	for _, seq := range []uint16{40, 41, 43, 44} {
		rec.Record(2, seq, arrivals[seq])
	}
	pkts := rec.BuildFeedbackPacket()
	require.Len(t, pkts, 1)
	raw, err := pkts[0].Marshal()
	require.NoError(t, err)
	parsed, err := rtcp.Unmarshal(raw)
	require.NoError(t, err)
	fb, ok := parsed[0].(*rtcp.TransportLayerCC)
	require.True(t, ok)
	out, err := walkAll(t, fb, unwrapReference(fb.ReferenceTime, -1))
	require.NoError(t, err)
	require.Len(t, out, 5)
	for _, st := range out {
		want, received := arrivals[st.seq]
		require.Equal(t, received, st.received, "seq %d", st.seq)
		if received {
			require.Equal(t, want, st.arrivalUS, "seq %d", st.seq)
		}
	}
}
