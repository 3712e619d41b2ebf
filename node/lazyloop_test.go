package node

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/stretchr/testify/require"
)

// recordingInterceptor notes the order of the binds it gets.
type recordingInterceptor struct {
	interceptor.NoOp
	calls  []string
	writer interceptor.RTCPWriter
}

func (r *recordingInterceptor) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	r.calls = append(r.calls, "rtcp-writer")
	r.writer = w
	return w
}

func (r *recordingInterceptor) BindRemoteStream(_ *interceptor.StreamInfo, rd interceptor.RTPReader) interceptor.RTPReader {
	r.calls = append(r.calls, "remote-stream")
	return rd
}

type recordingFactory struct{ made *recordingInterceptor }

func (f *recordingFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	f.made = &recordingInterceptor{}
	return f.made, nil
}

func TestInboundInterceptorBindsWriterWithFirstStream(t *testing.T) {
	f := &recordingFactory{}
	in, err := inboundFactory{f}.NewInterceptor("")
	require.NoError(t, err)
	var wrote int
	w := interceptor.RTCPWriterFunc(func([]rtcp.Packet, interceptor.Attributes) (int, error) { wrote++; return 0, nil })

	got := in.BindRTCPWriter(w)
	_, _ = got.Write(nil, nil)
	require.Equal(t, 1, wrote, "the writer is passed down the chain unchanged")
	require.Empty(t, f.made.calls, "no loop before an incoming stream")

	in.BindRemoteStream(&interceptor.StreamInfo{SSRC: 1}, nil)
	in.BindRemoteStream(&interceptor.StreamInfo{SSRC: 2}, nil)
	require.Equal(t, []string{"rtcp-writer", "remote-stream", "remote-stream"}, f.made.calls)
	_, _ = f.made.writer.Write(nil, nil)
	require.Equal(t, 2, wrote, "the inner interceptor got the connection's writer")
}
