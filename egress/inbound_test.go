package egress

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/srtp/v3"
)

type fakeFeedback struct {
	mu   sync.Mutex
	tccs int
	remb float64
}

func (f *fakeFeedback) OnTransportCCRaw(pkt []byte, _ time.Time) error {
	pkts, err := rtcp.Unmarshal(pkt)
	if err != nil {
		return err
	}
	if _, ok := pkts[0].(*rtcp.TransportLayerCC); !ok || len(pkts) != 1 {
		return nil
	}
	f.mu.Lock()
	f.tccs++
	f.mu.Unlock()
	return nil
}

func (f *fakeFeedback) OnREMB(bps float64, _ time.Time) {
	f.mu.Lock()
	f.remb = bps
	f.mu.Unlock()
}

// A subscriber's SRTCP is read past the wrapped socket's reader and reaches the Path's streams
// and estimator; STUN-like datagrams, RTCP that does not authenticate and RTCP from other
// addresses read through.
func TestInboundInterceptsSubscriberRTCP(t *testing.T) {
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cli, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	other, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	in := NewInbound()
	conn := in.Conn(srv).(*filterConn)
	fb := &fakeFeedback{}
	p := NewPath(discard{}, nil, nil)
	p.Intercept(in, fb)
	cliAddr := cli.LocalAddr().(*net.UDPAddr).AddrPort()
	p.SetRemote(&cliAddr)
	var got [][]rtcp.Packet
	var mu sync.Mutex
	w := p.Stream(3, &fakePion{}, func(pkts []rtcp.Packet, _ time.Time) {
		mu.Lock()
		got = append(got, append([]rtcp.Packet(nil), pkts...)) // pkts is reused after the call
		mu.Unlock()
	})
	k := testKeys()
	if err := p.Activate(k); err != nil {
		t.Fatal(err)
	}
	if in.Len() != 1 {
		t.Fatalf("%d addresses intercepted", in.Len())
	}
	// The client protects with its local keys: the node's remote ones.
	cctx, err := srtp.CreateContext(k.RemoteKey, k.RemoteSalt, k.Profile)
	if err != nil {
		t.Fatal(err)
	}
	seal := func(pkts ...rtcp.Packet) []byte {
		raw, err := rtcp.Marshal(pkts)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := cctx.EncryptRTCP(nil, raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		return enc
	}
	srvAddr := srv.LocalAddr().(*net.UDPAddr)
	send := func(from *net.UDPConn, b []byte) {
		if _, err := from.WriteToUDP(b, srvAddr); err != nil {
			t.Fatal(err)
		}
	}
	pli := seal(&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 0x1111},
		&rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: 1, Bitrate: 1e6, SSRCs: []uint32{0x1111}})
	rec := twcc.NewRecorder(1)
	rec.Record(0x1111, 0, 1000)
	rec.Record(0x1111, 1, 3000)
	fbPkts := rec.BuildFeedbackPacket()
	if len(fbPkts) == 0 {
		t.Fatal("no TWCC feedback built")
	}
	// A receiver report and the feedback in one compound: the report goes to the streams, the
	// feedback to the estimator.
	twccPkt := seal(append([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 0x1111}}}}, fbPkts...)...)
	forged := append([]byte(nil), pli...)
	forged[len(forged)-5] ^= 0xff // breaks the authentication tag

	send(cli, pli)
	send(cli, twccPkt)
	send(cli, forged)
	send(other, pli)                                      // right keys, wrong address: not this path's
	send(cli, []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42}) // STUN-like

	_ = srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	wantThrough := [][]byte{forged, pli, {0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42}}
	for i, want := range wantThrough {
		n, from, err := conn.ReadFromAddrPort(buf)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if string(buf[:n]) != string(want) {
			t.Errorf("read %d: %d bytes from %s, want the %d-byte datagram %d", i, n, from, len(want), i)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("the stream saw %d compound packets, want 2", len(got))
	}
	if _, ok := got[0][0].(*rtcp.PictureLossIndication); !ok {
		t.Errorf("first packet %T", got[0][0])
	}
	if _, ok := got[1][0].(*rtcp.ReceiverReport); !ok || len(got[1]) != 1 {
		t.Errorf("second compound gave the stream %v, want the receiver report alone", got[1])
	}
	fb.mu.Lock()
	if fb.tccs != 1 || fb.remb != 1e6 {
		t.Errorf("estimator saw %d TWCC reports, REMB %v", fb.tccs, fb.remb)
	}
	fb.mu.Unlock()
	if st := p.sum; st.RTCPIn.Load() != 2 || st.RTCPInErrors.Load() != 1 {
		t.Errorf("counted %d in, %d refused", st.RTCPIn.Load(), st.RTCPInErrors.Load())
	}

	// Unbound streams get nothing; a closed path intercepts nothing.
	w.Unbind()
	p.Close()
	if in.Len() != 0 {
		t.Errorf("%d addresses still intercepted after Close", in.Len())
	}
	if in.consume(pli, cliAddr) {
		t.Error("a closed path consumed RTCP")
	}
}

func TestIsRTCP(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		want bool
	}{
		{[]byte{0x80, 200, 0, 6, 0, 0, 0, 1}, true},               // SR
		{[]byte{0x81, 205, 0, 6, 0, 0, 0, 1}, true},               // RTPFB
		{[]byte{0x80, 96, 0, 6, 0, 0, 0, 1}, false},               // RTP, PT 96
		{[]byte{0x80, 0xe0, 0, 6, 0, 0, 0, 1}, false},             // RTP with marker, PT 96
		{[]byte{0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0}, false},          // DTLS
		{[]byte{0x00, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42}, false}, // STUN
		{[]byte{0x80, 200, 0}, false},
	} {
		if got := isRTCP(tc.b); got != tc.want {
			t.Errorf("isRTCP(% x) = %v", tc.b, got)
		}
	}
	_ = netip.AddrPort{}
}
