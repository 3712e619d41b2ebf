package node

import (
	"sync"

	"github.com/pion/interceptor"
)

// inboundFactory builds interceptors that only act on incoming media (NACK generation, receiver
// reports, TWCC feedback) such that their timer loops start with the connection's first
// incoming stream instead of with the connection. Each of pion's inbound interceptors starts a
// ticking goroutine in BindRTCPWriter, which pion calls when the peer connection is created: a
// node with many participants that never publish would otherwise run one NACK loop per
// connection at 50 Hz for nothing (measured: 38 % of all goroutine wake-ups of a node fanning
// out to 50 subscribers).
//
// The wrapped interceptor's BindRTCPWriter must return the writer it was given (it only keeps
// it for its loop), as pion's nack.GeneratorInterceptor, report.ReceiverInterceptor and
// twcc.SenderInterceptor do: the wrapper hands the same writer down the chain at once and the
// wrapped interceptor gets it later.
type inboundFactory struct {
	inner interceptor.Factory
}

// NewInterceptor implements interceptor.Factory.
func (f inboundFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	in, err := f.inner.NewInterceptor(id)
	if err != nil {
		return nil, err
	}
	return &inboundInterceptor{Interceptor: in}, nil
}

// inboundInterceptor defers its inner interceptor's BindRTCPWriter to the first
// BindRemoteStream. Safe for concurrent use.
type inboundInterceptor struct {
	interceptor.Interceptor

	mu     sync.Mutex // guards writer and bound
	writer interceptor.RTCPWriter
	bound  bool
}

// BindRTCPWriter keeps writer for the first incoming stream and returns it unchanged.
func (l *inboundInterceptor) BindRTCPWriter(writer interceptor.RTCPWriter) interceptor.RTCPWriter {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writer = writer
	return writer
}

// BindRemoteStream binds the kept RTCP writer (starting the inner loop) before the first
// incoming stream.
func (l *inboundInterceptor) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	l.mu.Lock()
	if !l.bound && l.writer != nil {
		l.bound = true
		l.Interceptor.BindRTCPWriter(l.writer)
		l.writer = nil
	}
	l.mu.Unlock()
	return l.Interceptor.BindRemoteStream(info, reader)
}
