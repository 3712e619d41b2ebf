package bwe

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/stretchr/testify/require"
)

// walkReader returns the statuses r yields and the error that ended the
// walk. It fails the test if the walk does not end.
func walkReader[R feedbackReader](t testing.TB, r R) ([]packetStatus, error) {
	t.Helper()
	var out []packetStatus
	for range 1 << 17 { // a report covers at most 65535 statuses
		st, ok, err := r.next()
		if err != nil || !ok {
			return out, err
		}
		out = append(out, st)
	}
	t.Fatal("reader did not end")
	return nil, nil
}

// walkRaw walks pkt with a rawTWCCReader whose reference time is unwrapped
// as for a first report, as walkParsed does.
func walkRaw(t testing.TB, pkt []byte) ([]packetStatus, error) {
	t.Helper()
	r := newRawTWCCReader(pkt)
	r.setReference(unwrapReference(r.referenceTime(), -1))
	return walkReader(t, &r)
}

// walkParsed walks fb with a twccReader, reference unwrapped as for a first
// report.
func walkParsed(t testing.TB, fb *rtcp.TransportLayerCC) ([]packetStatus, error) {
	t.Helper()
	r := newTWCCReader(fb, unwrapReference(fb.ReferenceTime, -1))
	return walkReader(t, &r)
}

// parseTWCC is pion's parse of pkt, which must be one TWCC packet.
func parseTWCC(t testing.TB, pkt []byte) *rtcp.TransportLayerCC {
	t.Helper()
	pkts, err := rtcp.Unmarshal(pkt)
	require.NoError(t, err)
	require.Len(t, pkts, 1)
	fb, ok := pkts[0].(*rtcp.TransportLayerCC)
	require.True(t, ok, "%T", pkts[0])
	return fb
}

// marshalAll marshals every packet of a recorder's BuildFeedbackPacket on
// its own (as the receiver may send them in one compound packet, each is
// cut out by its length field).
func marshalAll(t testing.TB, pkts []rtcp.Packet) [][]byte {
	t.Helper()
	out := make([][]byte, 0, len(pkts))
	for _, p := range pkts {
		b, err := rtcp.Marshal([]rtcp.Packet{p})
		require.NoError(t, err)
		out = append(out, b)
	}
	return out
}

// Hand-built packets, for what pion's recorder never sends (symbol 3, empty
// runs, surplus statuses) and for malformed input.

// runChunk is a run-length chunk: 0 | symbol (2 bits) | run length (13 bits).
func runChunk(symbol, n uint16) uint16 { return symbol<<13 | n }

// vector1 is a status vector chunk of one-bit symbols (at most 14).
func vector1(symbols ...uint16) uint16 {
	c := uint16(0x8000)
	for i, s := range symbols {
		c |= s << (13 - i)
	}
	return c
}

// vector2 is a status vector chunk of two-bit symbols (at most 7).
func vector2(symbols ...uint16) uint16 {
	c := uint16(0xc000)
	for i, s := range symbols {
		c |= s << (12 - 2*i)
	}
	return c
}

// buildTWCC returns a TWCC packet with the given fields, chunks and receive
// delta bytes, zero-padded to whole 32-bit words.
func buildTWCC(baseSeq, count uint16, ref uint32, chunks []uint16, deltas []byte) []byte {
	b := make([]byte, twccFixedLength, 64)
	b[0], b[1] = rtcpVersion<<6|twccFormat, rtcpTypeRTPFB
	binary.BigEndian.PutUint32(b[4:], 1) // sender SSRC
	binary.BigEndian.PutUint32(b[8:], 2) // media SSRC
	binary.BigEndian.PutUint16(b[twccBaseSeqOffset:], baseSeq)
	binary.BigEndian.PutUint16(b[twccCountOffset:], count)
	b[16], b[17], b[18] = byte(ref>>16), byte(ref>>8), byte(ref)
	for _, c := range chunks {
		b = binary.BigEndian.AppendUint16(b, c)
	}
	b = append(b, deltas...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	setLength(b, len(b))
	return b
}

// setLength writes the RTCP length field of a packet of n bytes.
func setLength(pkt []byte, n int) { binary.BigEndian.PutUint16(pkt[2:], uint16(n/4-1)) }

// recorderScenario is a history of arrivals recorded by pion's TWCC
// recorder, flushed into reports every flushEvery packets.
type recorderScenario struct {
	name       string
	firstSeq   uint16
	packets    int
	gapUS      int64 // send spacing
	flushEvery int
	// arrive returns the arrival time of packet i sent at sendUS, or -1 if
	// it is lost.
	arrive func(i int, sendUS int64, rng *rand.Rand) int64
}

var recorderScenarios = []recorderScenario{
	{"runs of received packets", 1, 2000, 1000, 250, func(_ int, s int64, _ *rand.Rand) int64 { return s + 20_000 }},
	{"runs of losses", 100, 2000, 1000, 300, func(i int, s int64, _ *rand.Rand) int64 {
		if i/60%2 == 1 {
			return -1
		}
		return s + 20_000
	}},
	{"scattered losses and jitter", 7, 3000, 1000, 100, func(_ int, s int64, rng *rand.Rand) int64 {
		if rng.IntN(5) == 0 {
			return -1
		}
		return s + 20_000 + rng.Int64N(3000)
	}},
	{"large gaps", 3000, 1000, 5000, 40, func(i int, s int64, rng *rand.Rand) int64 {
		if i%9 == 0 {
			return s + 70_000 + rng.Int64N(200_000) // more than 64 ms after the one before
		}
		if rng.IntN(10) == 0 {
			return -1
		}
		return s + 20_000
	}},
	{"reordered arrivals", 500, 2000, 2000, 64, func(i int, s int64, rng *rand.Rand) int64 {
		if i%7 == 3 {
			return s + 20_000 - 5000 - rng.Int64N(10_000) // before the packets sent earlier
		}
		return s + 20_000 + rng.Int64N(500)
	}},
	{"sequence wrap", 65300, 600, 1000, 70, func(_ int, s int64, rng *rand.Rand) int64 {
		if rng.IntN(8) == 0 {
			return -1
		}
		return s + 20_000
	}},
	{"random mix", 65000, 4000, 1500, 90, func(_ int, s int64, rng *rand.Rand) int64 {
		switch rng.IntN(20) {
		case 0, 1:
			return -1
		case 2:
			return s + 20_000 + rng.Int64N(300_000)
		case 3:
			return s + rng.Int64N(20_000)
		}
		return s + 20_000 + rng.Int64N(2000)
	}},
}

// reports records the scenario and returns its marshalled reports.
func (sc recorderScenario) reports(t testing.TB) [][]byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(sc.firstSeq), uint64(sc.packets)))
	rec := twcc.NewRecorder(1)
	var out [][]byte
	for i := range sc.packets {
		sendUS := 1_000_000 + int64(i)*sc.gapUS
		if arr := sc.arrive(i, sendUS, rng); arr >= 0 {
			rec.Record(2, sc.firstSeq+uint16(i), arr)
		}
		if (i+1)%sc.flushEvery == 0 || i == sc.packets-1 {
			out = append(out, marshalAll(t, rec.BuildFeedbackPacket())...)
		}
	}
	return out
}

// handBuiltReports are valid reports with what the recorder does not send.
var handBuiltReports = []struct {
	name string
	pkt  []byte
}{
	{"received without delta", buildTWCC(10, 3, 10, []uint16{runChunk(3, 3)}, nil)},
	{"two-bit vector with every symbol", buildTWCC(20, 7, 10,
		[]uint16{vector2(1, 3, 2, 0, 3, 1, 0)}, []byte{4, 0xff, 0xf8, 255})},
	{"empty run", buildTWCC(30, 2, 10, []uint16{runChunk(1, 0), runChunk(1, 2)}, []byte{1, 2})},
	{"run longer than the count", buildTWCC(40, 2, 10, []uint16{runChunk(2, 100)}, []byte{0x00, 0x10, 0x80, 0x00})},
	{"one-bit vector with surplus statuses", buildTWCC(50, 3, 10,
		[]uint16{vector1(1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)}, []byte{1, 1})},
	{"no statuses", buildTWCC(60, 0, 10, nil, nil)},
	{"wrap", buildTWCC(65534, 4, 10, []uint16{runChunk(1, 4)}, []byte{1, 1, 1, 1})},
	{"negative reference time", buildTWCC(70, 1, 0xffffff, []uint16{runChunk(1, 1)}, []byte{9})},
	{"padding bit", func() []byte {
		b := buildTWCC(80, 2, 10, []uint16{runChunk(1, 2)}, []byte{1, 2, 0, 0, 0, 0})
		b[0] |= 0x20
		b[len(b)-1] = 4
		return b
	}()},
}

// TestRawTWCCReaderMatchesPion: over reports of every kind pion's recorder
// builds, and hand-built ones, the raw reader yields exactly what a
// twccReader yields over pion's parse of the same bytes.
func TestRawTWCCReaderMatchesPion(t *testing.T) {
	var runReceived, runLost, oneBit, twoBit, large, negative, wraps, reports int
	check := func(t *testing.T, pkt []byte) {
		fb := parseTWCC(t, pkt)
		want, err := walkParsed(t, fb)
		require.NoError(t, err)
		require.Len(t, want, int(fb.PacketStatusCount))
		got, err := walkRaw(t, pkt)
		require.NoError(t, err)
		require.Equal(t, want, got)
		reports++
		for _, c := range fb.PacketChunks {
			switch c := c.(type) {
			case *rtcp.RunLengthChunk:
				if c.PacketStatusSymbol == rtcp.TypeTCCPacketNotReceived {
					runLost++
				} else {
					runReceived++
				}
			case *rtcp.StatusVectorChunk:
				if c.SymbolSize == rtcp.TypeTCCSymbolSizeOneBit {
					oneBit++
				} else {
					twoBit++
				}
			}
		}
		for _, d := range fb.RecvDeltas {
			if d.Type == rtcp.TypeTCCPacketReceivedLargeDelta && d.Delta > 0 {
				large++
			}
			if d.Delta < 0 {
				negative++
			}
		}
		if int(fb.BaseSequenceNumber)+int(fb.PacketStatusCount) > 1<<16 {
			wraps++
		}
	}
	for _, sc := range recorderScenarios {
		t.Run(sc.name, func(t *testing.T) {
			for _, pkt := range sc.reports(t) {
				check(t, pkt)
			}
		})
	}
	for _, tc := range handBuiltReports {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.pkt) })
	}
	t.Logf("%d reports: %d received runs, %d lost runs, %d one-bit and %d two-bit vectors, "+
		"%d large and %d negative deltas, %d across the wrap",
		reports, runReceived, runLost, oneBit, twoBit, large, negative, wraps)
	for name, n := range map[string]int{"received runs": runReceived, "lost runs": runLost,
		"one-bit vectors": oneBit, "two-bit vectors": twoBit, "large deltas": large,
		"negative deltas": negative, "reports across the wrap": wraps} {
		require.NotZero(t, n, "the scenarios cover no %s", name)
	}
}

// TestRawTWCCReaderStatuses checks one hand-built report against the
// statuses it means, independently of pion.
func TestRawTWCCReaderStatuses(t *testing.T) {
	base := int64(10 * referenceTimeUnitUS)
	got, err := walkRaw(t, handBuiltReports[1].pkt)
	require.NoError(t, err)
	require.Equal(t, []packetStatus{
		{seq: 20, received: true, hasArrival: true, arrivalUS: base + 1000},
		{seq: 21, received: true},
		{seq: 22, received: true, hasArrival: true, arrivalUS: base + 1000 - 2000}, // large delta -8
		{seq: 23},
		{seq: 24, received: true},
		{seq: 25, received: true, hasArrival: true, arrivalUS: base - 1000 + 255*250},
		{seq: 26},
	}, got)
}

// mixedReport is a valid report of statuses 100..104: received with a small
// delta of 4, with a large delta of 256, lost, received without delta,
// received with a small delta of 8; the last chunk has two surplus statuses.
var mixedReport = buildTWCC(100, 5, 10, []uint16{vector2(1, 2, 0, 3, 1, 0, 0)}, []byte{4, 0x01, 0x00, 8})

// malformedCases are broken packets and how many statuses each yields before
// the error; early says the error comes before any status (the packet is not
// a usable report at all).
func malformedCases() []struct {
	name   string
	pkt    []byte
	prefix int
	early  bool
} {
	valid := mixedReport
	with := func(edit func([]byte) []byte) []byte { return edit(bytes.Clone(valid)) }
	return []struct {
		name   string
		pkt    []byte
		prefix int
		early  bool
	}{
		{"nil", nil, 0, true},
		{"header only", valid[:4], 0, true},
		{"fixed part cut", valid[:19], 0, true},
		{"version 1", with(func(b []byte) []byte { b[0] = 1<<6 | twccFormat; return b }), 0, true},
		{"version 0", with(func(b []byte) []byte { b[0] &^= 0xc0; return b }), 0, true},
		{"PT 206", with(func(b []byte) []byte { b[1] = 206; return b }), 0, true},
		{"PT 200", with(func(b []byte) []byte { b[1] = 200; return b }), 0, true},
		{"FMT 1 (NACK)", with(func(b []byte) []byte { b[0] = rtcpVersion<<6 | 1; return b }), 0, true},
		{"length one word too long", with(func(b []byte) []byte { setLength(b, len(b)+4); return b }), 0, true},
		{"length one word too short", with(func(b []byte) []byte { setLength(b, len(b)-4); return b }), 0, true},
		{"length zero", with(func(b []byte) []byte { setLength(b, 4); return b }), 0, true},
		{"length the maximum", with(func(b []byte) []byte { b[2], b[3] = 0xff, 0xff; return b }), 0, true},
		{"trailing bytes", append(bytes.Clone(valid), 0, 0, 0, 0), 0, true},
		{"count beyond the chunks", with(func(b []byte) []byte {
			binary.BigEndian.PutUint16(b[twccCountOffset:], 0xffff)
			return b
		}), 0, true},
		{"count beyond chunks that fill the packet", buildTWCC(1, 9, 10,
			[]uint16{runChunk(0, 4), runChunk(0, 4)}, nil), 0, true},
		{"chunks only up to the fixed part", buildTWCC(1, 1, 10, nil, nil), 0, true},
		{"missing small delta", buildTWCC(1, 3, 10, []uint16{runChunk(1, 3)}, []byte{1, 1}), 2, false},
		{"missing every delta", buildTWCC(1, 9, 10, []uint16{runChunk(1, 5), runChunk(1, 4)}, nil), 0, false},
		{"large delta cut in half", buildTWCC(1, 4, 10,
			[]uint16{vector2(1, 2, 2, 2)}, []byte{1, 0, 4, 0, 8, 0}), 3, false},
		{"missing delta after losses", buildTWCC(1, 13, 10,
			[]uint16{runChunk(0, 10), runChunk(2, 2), runChunk(0, 1)}, []byte{0, 4}), 11, false},
	}
}

// TestRawTWCCReaderMalformed: malformed packets end the walk with an error
// wrapping ErrMalformedFeedback after the statuses before the fault, and
// OnTransportCCRaw either rejects them untouched or uses them as far as they
// go.
func TestRawTWCCReaderMalformed(t *testing.T) {
	for _, tc := range malformedCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := walkRaw(t, tc.pkt)
			require.ErrorIs(t, err, ErrMalformedFeedback)
			require.Len(t, got, tc.prefix)
			r := newRawTWCCReader(tc.pkt)
			require.Equal(t, tc.early, r.malformed() != nil)
			_, _ = walkReader(t, &r)
			_, _, again := r.next()
			require.ErrorIs(t, again, ErrMalformedFeedback, "an ended walk stays ended")

			e := New(Config{})
			for s := range 16 {
				e.OnPacketSent(uint16(s), 1000, e.epoch.Add(time.Duration(s)*time.Millisecond))
			}
			before := e.Stats()
			require.ErrorIs(t, e.OnTransportCCRaw(tc.pkt, e.epoch.Add(time.Second)), ErrMalformedFeedback)
			if tc.early {
				require.Equal(t, before, e.Stats(), "a packet that is no report changes nothing")
			} else {
				require.Equal(t, ModeTWCC, e.Stats().Mode, "a report short of deltas is used as far as it goes")
			}
		})
	}
}

// TestRawTWCCReaderTruncated cuts valid reports at every length: with the
// length field left alone every cut is an error; with it set to the cut
// (whole words only) the walk yields a prefix of the statuses and then an
// error, or all of them if only padding was cut. Nothing panics.
func TestRawTWCCReaderTruncated(t *testing.T) {
	pkts := [][]byte{mixedReport}
	for _, tc := range handBuiltReports {
		pkts = append(pkts, tc.pkt)
	}
	for _, sc := range recorderScenarios[3:5] { // large and negative deltas
		pkts = append(pkts, sc.reports(t)[:3]...)
	}
	for i, pkt := range pkts {
		full, fullErr := walkRaw(t, pkt)
		for n := range len(pkt) {
			cut := pkt[:n:n]
			got, err := walkRaw(t, cut)
			require.ErrorIs(t, err, ErrMalformedFeedback, "packet %d cut to %d", i, n)
			require.Empty(t, got)
			if n < twccFixedLength || n%4 != 0 {
				continue
			}
			fixed := bytes.Clone(cut)
			setLength(fixed, n)
			got, err = walkRaw(t, fixed)
			require.True(t, slices.Equal(full[:len(got)], got), "packet %d cut to %d words: %v", i, n/4, got)
			if err == nil {
				require.Equal(t, full, got, "packet %d cut to %d words", i, n/4)
				require.Equal(t, fullErr, err)
			} else {
				require.ErrorIs(t, err, ErrMalformedFeedback)
			}
		}
	}
}

// TestOnTransportCCRawShortDeltas: a report short of deltas does to the
// estimator through OnTransportCCRaw what its parsed equivalent (fewer
// RecvDeltas than received statuses) does through OnTransportCC.
func TestOnTransportCCRawShortDeltas(t *testing.T) {
	pkt := buildTWCC(1, 4, 10, []uint16{runChunk(1, 4)}, []byte{4, 4})
	fb := &rtcp.TransportLayerCC{
		BaseSequenceNumber: 1, PacketStatusCount: 4, ReferenceTime: 10,
		PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{
			PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 4}},
		RecvDeltas: []*rtcp.RecvDelta{
			{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 1000},
			{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 1000},
		},
	}
	parsed, raw := New(Config{}), New(Config{})
	for _, e := range []*Estimator{parsed, raw} {
		for s := range 5 {
			e.OnPacketSent(uint16(s), 1000, e.epoch.Add(time.Duration(600+s)*time.Millisecond))
		}
	}
	require.ErrorIs(t, parsed.OnTransportCC(fb, parsed.epoch.Add(time.Second)), ErrMalformedFeedback)
	require.ErrorIs(t, raw.OnTransportCCRaw(pkt, raw.epoch.Add(time.Second)), ErrMalformedFeedback)
	require.Equal(t, parsed.Stats(), raw.Stats())
	for _, e := range []*Estimator{parsed, raw} {
		h := e.hist.Load()
		for s := range 5 {
			_, _, reported, _ := h.take(uint16(s), e.micros(e.epoch.Add(time.Second)))
			require.Equal(t, s == 1 || s == 2, reported, "seq %d", s)
		}
	}
}

// A nil parsed report is refused and changes nothing.
func TestOnTransportCCNil(t *testing.T) {
	e := New(Config{})
	e.OnPacketSent(1, 1000, e.epoch.Add(600*time.Millisecond))
	before := e.Stats()
	require.ErrorIs(t, e.OnTransportCC(nil, e.epoch.Add(time.Second)), ErrMalformedFeedback)
	require.Equal(t, before, e.Stats())
}

// TestOnTransportCCRawMatchesParsed: two estimators that send the same
// packets and receive the same reports, one parsed by pion and passed to
// OnTransportCC, the other's bytes passed to OnTransportCCRaw, agree after
// every report — through a clean start, a growing queue, reordering, loss,
// a probe and the sequence wrap.
func TestOnTransportCCRawMatchesParsed(t *testing.T) {
	parsed, raw := New(Config{InitialBitrate: 1_000_000}), New(Config{InitialBitrate: 1_000_000})
	at := func(e *Estimator, us int64) time.Time { return e.epoch.Add(time.Duration(us) * time.Microsecond) }
	both := func(f func(e *Estimator)) { f(parsed); f(raw) }
	rec := twcc.NewRecorder(1)
	rng := rand.New(rand.NewPCG(3, 4))
	seq := uint16(60_000)
	compare := func(nowUS int64) {
		t.Helper()
		e1, m1 := parsed.Estimate()
		e2, m2 := raw.Estimate()
		require.Equal(t, e1, e2, "estimate at %d µs", nowUS)
		require.Equal(t, m1, m2)
		require.Equal(t, parsed.Stats(), raw.Stats(), "at %d µs", nowUS)
	}
	flush := func(nowUS int64) {
		for _, pkt := range marshalAll(t, rec.BuildFeedbackPacket()) {
			err1 := parsed.OnTransportCC(parseTWCC(t, pkt), at(parsed, nowUS))
			err2 := raw.OnTransportCCRaw(pkt, at(raw, nowUS))
			require.NoError(t, err1)
			require.NoError(t, err2)
			compare(nowUS)
		}
	}
	reasons := map[string]bool{}
	probeDone := false
	nextFlush := int64(50_000)
	for sendUS := int64(0); sendUS < 6_000_000; {
		delay := int64(20_000)
		switch {
		case sendUS >= 1_000_000 && sendUS < 1_600_000:
			delay += (sendUS - 1_000_000) / 4 // a growing queue: congestion
		case sendUS >= 1_600_000 && sendUS < 2_000_000:
			delay += max(150_000-(sendUS-1_600_000), 0)
		}
		if rng.IntN(15) == 0 {
			delay -= 3000 // overtakes the packets before it
		}
		lossPct := 2
		if sendUS >= 3_000_000 && sendUS < 3_600_000 {
			lossPct = 25
		}
		seq++
		size := 1000 + rng.IntN(200)
		both(func(e *Estimator) { e.OnPacketSent(seq, size, at(e, sendUS)) })
		if rng.IntN(100) >= lossPct {
			rec.Record(2, seq, sendUS+delay+rng.Int64N(1000))
		}
		gap := int64(2000)
		switch {
		case sendUS == 4_500_000:
			both(func(e *Estimator) { require.NoError(t, e.StartProbe(at(e, sendUS), 6_000_000)) })
		case sendUS > 4_500_000 && sendUS < 4_700_000:
			gap = 500
		case sendUS == 4_700_000:
			both(func(e *Estimator) { e.EndProbe(at(e, sendUS)) })
		}
		sendUS += gap
		if sendUS >= nextFlush {
			flush(sendUS + 25_000)
			both(func(e *Estimator) { e.Update(at(e, sendUS+25_000)) })
			compare(sendUS)
			reasons[parsed.Stats().Reason] = true
			r1, ok1 := parsed.ProbeResult()
			r2, ok2 := raw.ProbeResult()
			require.Equal(t, ok1, ok2)
			require.Equal(t, r1, r2)
			probeDone = probeDone || ok1
			nextFlush += 50_000 + rng.Int64N(50_000)
		}
	}
	require.True(t, probeDone, "the probe concluded")
	require.True(t, reasons["delay"], "the queue was seen: %v", reasons)
	require.True(t, reasons["increase"], "the estimate grew: %v", reasons)
}

// steadyReports returns n reports of perReport packets each (sequence
// numbers 1.., packet s sent at s ms and arriving 20 ms later, every 17th
// lost).
func steadyReports(t testing.TB, n, perReport int) [][]byte {
	t.Helper()
	rec := twcc.NewRecorder(1)
	var out [][]byte
	for r := range n {
		for i := range perReport {
			s := r*perReport + i + 1
			if s%17 != 0 {
				rec.Record(2, uint16(s), int64(s)*1000+20_000)
			}
		}
		pkts := marshalAll(t, rec.BuildFeedbackPacket())
		require.Len(t, pkts, 1)
		out = append(out, pkts[0])
	}
	return out
}

// TestOnTransportCCRawAllocs: in steady state a report costs no allocation.
func TestOnTransportCCRawAllocs(t *testing.T) {
	const perReport = 50
	reports := steadyReports(t, 128, perReport)
	e := New(Config{})
	i := 0
	feed := func() {
		for s := i*perReport + 1; s <= (i+1)*perReport; s++ {
			e.OnPacketSent(uint16(s), 1200, e.epoch.Add(time.Duration(s)*time.Millisecond))
		}
		now := e.epoch.Add(time.Duration((i+1)*perReport+40) * time.Millisecond)
		if err := e.OnTransportCCRaw(reports[i], now); err != nil {
			panic(err)
		}
		i++
	}
	feed() // the first packet sent allocates the history
	require.Zero(t, testing.AllocsPerRun(100, feed))
	require.Equal(t, ModeTWCC, e.Stats().Mode)
	require.NotZero(t, e.Stats().Delivered)
}

// FuzzTWCCRaw: no input makes the raw reader or OnTransportCCRaw panic or
// write to the packet; where pion parses the input as one TWCC packet, the
// raw reader yields the same statuses without error and both paths leave the
// estimator in the same state.
func FuzzTWCCRaw(f *testing.F) {
	for _, sc := range recorderScenarios {
		for _, pkt := range sc.reports(f)[:2] {
			f.Add(pkt)
		}
	}
	for _, tc := range handBuiltReports {
		f.Add(tc.pkt)
	}
	for _, tc := range malformedCases() {
		f.Add(tc.pkt)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		got, err := walkRaw(t, data)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformedFeedback)
		}
		// Two estimators that sent the packets around the report's base.
		var base uint16
		if len(data) >= twccBaseSeqOffset+2 {
			base = binary.BigEndian.Uint16(data[twccBaseSeqOffset:])
		}
		parsed, raw := New(Config{}), New(Config{})
		for _, e := range []*Estimator{parsed, raw} {
			for s := range 64 {
				e.OnPacketSent(base+uint16(s), 1000, e.epoch.Add(time.Duration(s)*time.Millisecond))
			}
		}
		rawErr := raw.OnTransportCCRaw(data, raw.epoch.Add(time.Second))
		require.Equal(t, orig, data, "the packet was written to")
		require.Equal(t, err != nil, rawErr != nil)

		pkts, perr := rtcp.Unmarshal(data)
		if perr != nil || len(pkts) != 1 {
			return
		}
		fb, ok := pkts[0].(*rtcp.TransportLayerCC)
		if !ok {
			return
		}
		want, werr := walkParsed(t, fb)
		require.NoError(t, werr)
		require.NoError(t, err, "pion accepts what the raw reader rejects")
		require.Equal(t, want, got)
		require.NoError(t, parsed.OnTransportCC(fb, parsed.epoch.Add(time.Second)))
		require.Equal(t, parsed.Stats(), raw.Stats())
	})
}

// BenchmarkOnTransportCC is the processing of one TWCC report covering 100
// packets (all received) — 100 ms of a subscriber receiving ~1000 packets/s
// (about 8 Mbit/s of video):
//
//   - preparsed: OnTransportCC on reports pion's recorder built (the parse
//     left out, as this benchmark measured before the raw path existed);
//   - unmarshal: rtcp.Unmarshal of the report's bytes, then OnTransportCC —
//     the parsed path as the node runs it;
//   - raw: OnTransportCCRaw on the same bytes.
func BenchmarkOnTransportCC(b *testing.B) {
	const perReport, n = 100, 64
	rec := twcc.NewRecorder(1)
	var seq uint16
	reports := make([]*rtcp.TransportLayerCC, 0, n)
	for r := range n {
		for i := range perReport {
			us := int64(r*perReport+i) * 1000
			seq++
			rec.Record(2, seq, us+20_000)
		}
		for _, p := range rec.BuildFeedbackPacket() {
			if fb, ok := p.(*rtcp.TransportLayerCC); ok {
				reports = append(reports, fb)
			}
		}
	}
	raws := make([][]byte, len(reports))
	for i, fb := range reports {
		var err error
		if raws[i], err = fb.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
	run := func(b *testing.B, feed func(e *Estimator, r int, now time.Time)) {
		e := New(Config{})
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			r := i % len(reports)
			if r == 0 { // replay: record the packets of the reports again
				b.StopTimer()
				for s := range len(reports) * perReport {
					e.OnPacketSent(uint16(s+1), 1200,
						e.epoch.Add(time.Duration(i/len(reports)*len(reports)*perReport+s)*time.Millisecond))
				}
				b.StartTimer()
			}
			feed(e, r, e.epoch.Add(time.Duration(i)*100*time.Millisecond))
		}
	}
	b.Run("preparsed", func(b *testing.B) {
		run(b, func(e *Estimator, r int, now time.Time) { _ = e.OnTransportCC(reports[r], now) })
	})
	b.Run("unmarshal", func(b *testing.B) {
		run(b, func(e *Estimator, r int, now time.Time) {
			pkts, err := rtcp.Unmarshal(raws[r])
			if err != nil {
				panic(err)
			}
			for _, p := range pkts {
				if fb, ok := p.(*rtcp.TransportLayerCC); ok {
					_ = e.OnTransportCC(fb, now)
				}
			}
		})
	})
	b.Run("raw", func(b *testing.B) {
		run(b, func(e *Estimator, r int, now time.Time) { _ = e.OnTransportCCRaw(raws[r], now) })
	})
}

// TestRawTWCCReaderErrorText: the error of a malformed packet reads as
// ErrMalformedFeedback followed by what is wrong.
func TestRawTWCCReaderErrorText(t *testing.T) {
	for _, tc := range malformedCases() {
		_, err := walkRaw(t, tc.pkt)
		require.Contains(t, fmt.Sprint(err), ErrMalformedFeedback.Error()+": ", tc.name)
	}
}
