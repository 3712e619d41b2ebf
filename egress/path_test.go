package egress

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

type capturedSend struct {
	b    []byte
	addr netip.AddrPort
}

type fakeSender struct{ sent []capturedSend }

func (f *fakeSender) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	f.sent = append(f.sent, capturedSend{append([]byte(nil), b...), addr})
	return len(b), nil
}

type sentRecord struct {
	seq  uint16
	size int
}

type fakeObserver struct{ sent []sentRecord }

func (o *fakeObserver) OnPacketSent(seq uint16, size int, _ time.Time) {
	o.sent = append(o.sent, sentRecord{seq, size})
}

type fakePion struct{ n int }

func (f *fakePion) WriteRTP(*rtp.Header, []byte) (int, error) { f.n++; return 100, nil }
func (f *fakePion) Write(b []byte) (int, error)               { f.n++; return len(b), nil }

func testKeys() Keys {
	return Keys{
		Profile:    srtp.ProtectionProfileAeadAes128Gcm,
		LocalKey:   bytes.Repeat([]byte{1}, 16),
		LocalSalt:  bytes.Repeat([]byte{2}, 12),
		RemoteKey:  bytes.Repeat([]byte{3}, 16),
		RemoteSalt: bytes.Repeat([]byte{4}, 12),
	}
}

func TestPathSendsDecryptableNumberedPackets(t *testing.T) {
	conn, obs, pion := &fakeSender{}, &fakeObserver{}, &fakePion{}
	p := NewPath(conn, obs, nil)
	addr := netip.MustParseAddrPort("127.0.0.1:5000")
	p.SetRemote(&addr)
	video := p.Stream(3, pion, nil)
	audio := p.Stream(3, pion, nil)

	h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 65534, Timestamp: 1000, SSRC: 0x1111, Marker: true}
	if n, err := video.WriteRTP(&h, []byte("before")); n != 0 || err != nil {
		t.Fatalf("pending path wrote %d, %v; want a silent drop", n, err)
	}
	k := testKeys()
	if err := p.Activate(k); err != nil {
		t.Fatal(err)
	}
	if p.Mode() != ModeDirect {
		t.Fatalf("mode %s", p.Mode())
	}
	// Three video packets across a sequence wrap, and one audio packet in between.
	for i := 0; i < 3; i++ {
		vh := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(65534 + i), Timestamp: 1000, SSRC: 0x1111}
		if _, err := video.WriteRTP(&vh, bytes.Repeat([]byte{byte(i)}, 1000)); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			ah := rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: 7, Timestamp: 960, SSRC: 0x2222}
			if _, err := audio.WriteRTP(&ah, []byte("opus")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(conn.sent) != 4 || pion.n != 0 {
		t.Fatalf("%d direct sends, %d to pion; want 4, 0", len(conn.sent), pion.n)
	}
	// The receiving side: our local keys are its remote ones.
	rx, err := srtp.CreateContext(k.LocalKey, k.LocalSalt, k.Profile)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range conn.sent {
		if s.addr != addr {
			t.Errorf("send %d to %s", i, s.addr)
		}
		var got rtp.Header
		plain, err := rx.DecryptRTP(nil, s.b, &got)
		if err != nil {
			t.Fatalf("send %d does not decrypt: %v", i, err)
		}
		ext := got.GetExtension(3)
		if len(ext) != 2 || binary.BigEndian.Uint16(ext) != uint16(i) {
			t.Errorf("send %d: transport-wide sequence %x, want %d", i, ext, i)
		}
		var pkt rtp.Packet
		if err := pkt.Unmarshal(plain); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			if pkt.SSRC != 0x2222 || string(pkt.Payload) != "opus" {
				t.Errorf("send 2: ssrc %x payload %q", pkt.SSRC, pkt.Payload)
			}
		} else if pkt.SSRC != 0x1111 || len(pkt.Payload) != 1000 {
			t.Errorf("send %d: ssrc %x, %d payload bytes", i, pkt.SSRC, len(pkt.Payload))
		}
	}
	if len(obs.sent) != 4 || obs.sent[3].seq != 3 || obs.sent[0].size != 12+8+1000 {
		t.Errorf("estimator saw %+v", obs.sent)
	}
	if st := p.Stats(); st.Packets != 4 || st.Errors != 0 {
		t.Errorf("stats %+v", st)
	}

	// The pair moves to ICE/TCP: pion sends from now on.
	p.SetRemote(nil)
	if _, err := video.WriteRTP(&h, []byte("x")); err != nil || pion.n != 1 || len(conn.sent) != 4 {
		t.Errorf("after the pair left UDP: err %v, pion %d, direct %d", err, pion.n, len(conn.sent))
	}
	p.Close()
	if n, _ := video.WriteRTP(&h, []byte("x")); n != 0 || pion.n != 1 {
		t.Error("a closed path wrote")
	}
}

func TestPathFallbackAndRefusals(t *testing.T) {
	conn, pion := &fakeSender{}, &fakePion{}
	p := NewPath(conn, nil, nil)
	if err := p.Activate(testKeys()); err == nil {
		t.Error("activated without a UDP pair")
	}
	addr := netip.MustParseAddrPort("127.0.0.1:5000")
	p.SetRemote(&addr)
	bad := testKeys()
	bad.LocalKey = bad.LocalKey[:3]
	if err := p.Activate(bad); err == nil {
		t.Error("activated with a short key")
	}
	p.Fallback()
	if err := p.Activate(testKeys()); err == nil || p.Mode() != ModePion {
		t.Errorf("a fallen-back path activated: %v, mode %s", err, p.Mode())
	}
	w := p.Stream(0, pion, nil)
	h := rtp.Header{Version: 2, SSRC: 1}
	if _, err := w.WriteRTP(&h, []byte("x")); err != nil || pion.n != 1 || len(conn.sent) != 0 {
		t.Errorf("pion mode: err %v pion %d direct %d", err, pion.n, len(conn.sent))
	}

	// Oversized packets are refused with an error, not truncated.
	q := NewPath(conn, nil, nil)
	q.SetRemote(&addr)
	if err := q.Activate(testKeys()); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Stream(0, pion, nil).WriteRTP(&h, make([]byte, 2000)); err == nil {
		t.Error("a 2000-byte packet was sent")
	}
	if q.Stats().Errors != 1 {
		t.Errorf("stats %+v", q.Stats())
	}
}

func BenchmarkPathSend(b *testing.B) {
	p := NewPath(&discard{}, nil, nil)
	addr := netip.MustParseAddrPort("127.0.0.1:5000")
	p.SetRemote(&addr)
	if err := p.Activate(testKeys()); err != nil {
		b.Fatal(err)
	}
	w := p.Stream(3, &fakePion{}, nil)
	payload := make([]byte, 1100)
	h := rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for i := 0; i < b.N; i++ {
		h.SequenceNumber = uint16(i)
		h.Extensions = h.Extensions[:0]
		h.Extension = false
		if _, err := w.WriteRTP(&h, payload); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) WriteToAddrPort(b []byte, _ netip.AddrPort) (int, error) { return len(b), nil }
