package bwe

import (
	"encoding/binary"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtp"
)

// BenchmarkPionGCCWrite measures, for comparison, what pion's send-side GCC
// adds to every outgoing packet when its pacer is a pass-through
// (gcc.NewNoOpPacer): the feedback adapter's history (a container/list
// element, a map entry and an interface conversion per packet) and a fresh
// attributes map per packet. Its default pacer (the leaky bucket) adds a
// header clone, a payload copy and an attributes map per packet on top, and
// releases packets from a 5 ms ticker at 1.5 times the estimate: a queue on
// the fan-out path. See BENCHMARKS.md.
func BenchmarkPionGCCWrite(b *testing.B) {
	bwe, err := gcc.NewSendSideBWE(gcc.SendSideBWEPacer(gcc.NewNoOpPacer()), gcc.SendSideBWEInitialBitrate(1_000_000))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = bwe.Close() }()
	w := bwe.AddStream(twccStreamInfo(), interceptor.RTPWriterFunc(
		func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil }))
	h := headerWithTWCC(b, 1)
	ext := h.GetExtension(testTWCCExtID)
	payload := make([]byte, 1100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		binary.BigEndian.PutUint16(ext, uint16(i))
		if _, err := w.Write(h, payload, nil); err != nil {
			b.Fatal(err)
		}
	}
}
