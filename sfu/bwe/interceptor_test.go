package bwe

import (
	"encoding/binary"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/stretchr/testify/require"
)

const testTWCCExtID = 5

func twccStreamInfo() *interceptor.StreamInfo {
	return &interceptor.StreamInfo{
		SSRC:                1234,
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: testTWCCExtID}},
	}
}

// headerWithTWCC returns an RTP header carrying transport-wide sequence number seq.
func headerWithTWCC(t testing.TB, seq uint16) *rtp.Header {
	h := &rtp.Header{Version: 2, SSRC: 1234, SequenceNumber: seq}
	var ext [2]byte
	binary.BigEndian.PutUint16(ext[:], seq)
	if err := h.SetExtension(testTWCCExtID, ext[:]); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestFactoryTracksEstimators(t *testing.T) {
	f := NewFactory(Config{})
	i1, err := f.NewInterceptor("pc-1")
	require.NoError(t, err)
	_, err = f.NewInterceptor("pc-2")
	require.NoError(t, err)
	e1, ok := f.Estimator("pc-1")
	require.True(t, ok)
	require.Same(t, i1.(*Interceptor).Estimator(), e1)
	_, ok = f.Estimator("pc-3")
	require.False(t, ok)
	require.NoError(t, i1.Close())
	_, ok = f.Estimator("pc-1")
	require.False(t, ok, "a closed connection's estimator is forgotten")
	_, ok = f.Estimator("pc-2")
	require.True(t, ok)
}

func TestInterceptorRecordsSentPackets(t *testing.T) {
	f := NewFactory(Config{})
	ic, err := f.NewInterceptor("pc")
	require.NoError(t, err)
	est := ic.(*Interceptor).Estimator()

	var written int
	w := ic.BindLocalStream(twccStreamInfo(), interceptor.RTPWriterFunc(
		func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { written++; return 0, nil }))
	_, err = w.Write(headerWithTWCC(t, 77), make([]byte, 100), nil)
	require.NoError(t, err)
	require.Equal(t, 1, written)

	h := est.hist.Load()
	require.NotNil(t, h, "packet recorded")
	_, size, _, ok := h.take(77, 1<<40)
	require.True(t, ok, "packet 77 in the history")
	require.Equal(t, headerWithTWCC(t, 77).MarshalSize()+100+PacketOverhead, size, "RTP size plus the wire overhead")

	// A stream without the extension is passed through untouched.
	plain := &interceptor.StreamInfo{SSRC: 9}
	inner := interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil })
	require.NotNil(t, ic.BindLocalStream(plain, inner))
}

func TestInterceptorReadsFeedback(t *testing.T) {
	f := NewFactory(Config{})
	ic, err := f.NewInterceptor("pc")
	require.NoError(t, err)
	est := ic.(*Interceptor).Estimator()

	remb, err := (&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 420_000, SSRCs: []uint32{1234}}).Marshal()
	require.NoError(t, err)
	r := ic.BindRTCPReader(interceptor.RTCPReaderFunc(
		func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			return copy(b, remb), a, nil
		}))
	buf := make([]byte, 1500)
	n, _, err := r.Read(buf, nil)
	require.NoError(t, err)
	require.Equal(t, len(remb), n)
	bps, mode := est.Estimate()
	require.Equal(t, ModeREMB, mode)
	require.Equal(t, uint64(420_000), bps)
}

// BenchmarkOnPacketSent is the estimator's per-packet cost.
func BenchmarkOnPacketSent(b *testing.B) {
	e := New(Config{})
	now := e.epoch
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.OnPacketSent(uint16(i), 1200, now)
	}
}

// BenchmarkInterceptorWrite is the whole per-packet cost the interceptor adds
// to a PeerConnection's send path (clock read, extension lookup, record).
func BenchmarkInterceptorWrite(b *testing.B) {
	ic, _ := NewFactory(Config{}).NewInterceptor("pc")
	w := ic.BindLocalStream(twccStreamInfo(), interceptor.RTPWriterFunc(
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
