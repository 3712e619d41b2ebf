//go:build unix

package udpgso

import (
	"syscall"
	"testing"
	"time"
)

const (
	benchReceivers = 50
	benchBurst     = 6
	benchSize      = 1100
)

// cpuTime returns the process's user+system CPU time.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchFanOut sends benchBurst datagrams of benchSize bytes to each of
// benchReceivers loopback receivers per op with send, and reports the CPU
// time of the whole process (sender and receivers) per datagram sent, and
// the share of datagrams received.
func benchFanOut(b *testing.B, o Options, send func(c *Conn, s *sinks, payload []byte)) {
	c := newConn(b, "127.0.0.1", o)
	s := newSinks(b, benchReceivers)
	payload := make([]byte, benchSize)
	send(c, s, payload) // warm up queues and free lists
	s.wait(benchReceivers*benchBurst, 2*time.Second)

	b.ReportAllocs()
	b.ResetTimer()
	start, before := cpuTime(b), s.got.Load()
	for range b.N {
		send(c, s, payload)
	}
	want := uint64(b.N) * benchReceivers * benchBurst
	got := s.wait(before+want, 2*time.Second) - before
	b.StopTimer()
	cpu := cpuTime(b) - start
	b.ReportMetric(float64(cpu.Microseconds())/float64(want), "cpu-µs/pkt")
	b.ReportMetric(100*float64(got)/float64(want), "recv-%")
}

func sendPlain(c *Conn, s *sinks, payload []byte) {
	for _, a := range s.addrs {
		for range benchBurst {
			_, _ = c.WriteToAddrPort(payload, a)
		}
	}
}

func sendHeldBurst(c *Conn, s *sinks, payload []byte) {
	for _, a := range s.addrs {
		c.Hold(a)
		for range benchBurst {
			_, _ = c.WriteToAddrPort(payload, a)
		}
		c.Release(a)
	}
}

func BenchmarkFanOutPlain(b *testing.B)     { benchFanOut(b, Options{}, sendPlain) }
func BenchmarkFanOutGSO(b *testing.B)       { benchFanOut(b, Options{}, sendHeldBurst) }
func BenchmarkFanOutHeldNoGSO(b *testing.B) { benchFanOut(b, Options{DisableGSO: true}, sendHeldBurst) }
