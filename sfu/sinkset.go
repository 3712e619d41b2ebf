package sfu

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/edgemesh/edge/sfu/buffer"
)

// SinkSet is the fan-out of a TrackSource: the set of sinks every packet is
// handed to. The per-packet path (WriteRTP) reads a copy-on-write snapshot
// without locks and does not allocate; Add, Remove and Detach replace the
// snapshot. The zero value is an empty set ready to use. Safe for concurrent
// use; it must not be copied after first use.
type SinkSet struct {
	mu    sync.Mutex // serialises writers of sinks
	sinks atomic.Pointer[[]PacketSink]
}

func (s *SinkSet) load() []PacketSink {
	if p := s.sinks.Load(); p != nil {
		return *p
	}
	return nil
}

// Add adds k; it reports false if k was already in the set.
func (s *SinkSet) Add(k PacketSink) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.load()
	if slices.Contains(cur, k) {
		return false
	}
	next := make([]PacketSink, len(cur), len(cur)+1)
	copy(next, cur)
	next = append(next, k)
	s.sinks.Store(&next)
	return true
}

// Remove removes k; it reports false if k was not in the set.
func (s *SinkSet) Remove(k PacketSink) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.load()
	i := slices.Index(cur, k)
	if i < 0 {
		return false
	}
	next := make([]PacketSink, 0, len(cur)-1)
	next = append(next, cur[:i]...)
	next = append(next, cur[i+1:]...)
	s.sinks.Store(&next)
	return true
}

// Detach empties the set and returns the sinks it held (to close them).
func (s *SinkSet) Detach() []PacketSink {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.load()
	s.sinks.Store(nil)
	return cur
}

// Len returns the number of sinks.
func (s *SinkSet) Len() int { return len(s.load()) }

// Sinks returns a snapshot of the set. The caller must not modify it.
func (s *SinkSet) Sinks() []PacketSink { return s.load() }

// WriteRTP hands packet p of layer to every sink of the current snapshot. It
// does not allocate and holds no lock.
func (s *SinkSet) WriteRTP(p *buffer.ExtPacket, layer int32) {
	for _, k := range s.load() {
		k.WriteRTP(p, layer)
	}
}

// MaxWanted returns the highest layer any sink wants, LayerNone if none.
func (s *SinkSet) MaxWanted() int32 {
	want := LayerNone
	for _, k := range s.load() {
		want = max(want, k.WantedLayer())
	}
	return want
}

// WantedLayers returns the union of the layers the sinks want.
func (s *SinkSet) WantedLayers() LayerMask {
	var m LayerMask
	for _, k := range s.load() {
		m |= k.WantedLayers()
	}
	return m
}
