package egress

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/srtp/v3"
)

// FuzzInboundRTCP feeds a direct, intercepting Path bytes from the network: raw (what an
// attacker without the keys sends) and sealed with the subscriber's real keys (what a
// misbehaving client sends). Nothing may panic; raw bytes are never consumed.
func FuzzInboundRTCP(f *testing.F) {
	pli, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 2}})
	nack, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.TransportLayerNack{SenderSSRC: 1, MediaSSRC: 2,
		Nacks: []rtcp.NackPair{{PacketID: 10, LostPackets: 0xff}}}})
	rr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 2}}}})
	for _, seed := range [][]byte{pli, nack, rr, {0x80, 200, 0, 0}, {0x8f, 205, 0, 1, 0, 0, 0, 1}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := NewInbound()
		p := NewPath(discard{}, nil, nil)
		p.Intercept(in, &fakeFeedback{})
		p.Stream(3, &fakePion{}, func(pkts []rtcp.Packet, _ time.Time) {
			for _, pkt := range pkts {
				_ = pkt.DestinationSSRC()
			}
		})
		addr := netip.MustParseAddrPort("127.0.0.1:4000")
		p.SetRemote(&addr)
		k := testKeys()
		if err := p.Activate(k); err != nil {
			t.Fatal(err)
		}
		if in.consume(b, addr) {
			t.Fatalf("unauthenticated bytes consumed: % x", b)
		}
		if len(b) < 8 {
			return
		}
		cctx, err := srtp.CreateContext(k.RemoteKey, k.RemoteSalt, k.Profile)
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := cctx.EncryptRTCP(nil, b, nil)
		if err != nil {
			return
		}
		in.consume(sealed, addr)
	})
}
