package gossip

import (
	"fmt"
	"testing"
	"time"
)

// Directory hot paths (per received delta, per local write). Run with
//
//	go test -run xxx -bench . -benchmem ./gossip/

func BenchmarkEncodeDelta(b *testing.B) {
	r := &record{owner: "node-a", ver: version{1700000000000000000, 42},
		key: entryKey{kind: kindParticipant, room: "lobby", identity: "alice"}, part: richParticipant("alice")}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeDelta(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeDelta(b *testing.B) {
	msg, err := encodeDelta(&record{owner: "node-a", ver: version{1700000000000000000, 42},
		key: entryKey{kind: kindParticipant, room: "lobby", identity: "alice"}, part: richParticipant("alice")})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeMessage(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMergeDelta merges a new version of one of 2,000 participants into a directory
// holding them all (the part of NotifyMsg after decoding: merge, event, relay queueing).
func BenchmarkMergeDelta(b *testing.B) {
	const n = 2000
	m := newFakeMesh(b, "recv")
	d := m.dirs["recv"]
	recs := make([]*record, n)
	for i := range recs {
		id := fmt.Sprintf("p%04d", i)
		recs[i] = &record{owner: "node-a", ver: version{1, uint64(i + 1)},
			key: entryKey{kind: kindParticipant, room: fmt.Sprint("room-", i%200), identity: id}, part: richParticipant(id)}
		d.merge(recs[i : i+1])
	}
	seq := uint64(n)
	batch := make([]*record, 1)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		seq++
		r := *recs[i%n]
		r.ver.seq = seq
		batch[0] = &r
		if d.merge(batch) != 1 {
			b.Fatal("not applied")
		}
		if i%1024 == 0 {
			drain(d)
			m.now = m.now.Add(time.Second)
		}
	}
}
