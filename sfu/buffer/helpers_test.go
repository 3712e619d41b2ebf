package buffer

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"
)

const testSSRC = 0x11223344

// vp8Inter is a VP8 payload: descriptor (S=1, 15-bit picture id) + interframe header.
var vp8Inter = []byte{0x90, 0x80, 0x80, 0x01, 0x01, 0xAA, 0xBB}

// vp8Key is a VP8 keyframe payload (P bit clear).
var vp8Key = []byte{0x90, 0x80, 0x80, 0x02, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a}

type pktOpt func(*rtp.Packet)

func withTS(ts uint32) pktOpt { return func(p *rtp.Packet) { p.Timestamp = ts } }

func withPayload(b []byte) pktOpt { return func(p *rtp.Packet) { p.Payload = b } }

func withSSRC(ssrc uint32) pktOpt { return func(p *rtp.Packet) { p.SSRC = ssrc } }

func withExtension(t testing.TB, id uint8, val []byte) pktOpt {
	return func(p *rtp.Packet) {
		require.NoError(t, p.SetExtension(id, val))
	}
}

func withPadding(n byte) pktOpt {
	return func(p *rtp.Packet) {
		p.Padding = true
		p.PaddingSize = n
	}
}

// packet marshals an RTP packet with the test SSRC and sequence number sn.
func packet(t testing.TB, sn uint16, opts ...pktOpt) []byte {
	t.Helper()
	p := &rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: sn, Timestamp: uint32(sn) * 3000, SSRC: testSSRC},
		Payload: vp8Inter,
	}
	for _, o := range opts {
		o(p)
	}
	raw, err := p.Marshal()
	require.NoError(t, err)
	return raw
}

func newVP8Buffer(t testing.TB, p Params) *Buffer {
	t.Helper()
	p.SSRC = testSSRC
	if p.MimeType == "" {
		p.MimeType = "video/VP8"
	}
	return New(p)
}

// fakeClock is a manually advanced clock for Params.Now.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// push pushes sn and requires success.
func push(t testing.TB, b *Buffer, at time.Time, sn uint16, opts ...pktOpt) *ExtPacket {
	t.Helper()
	p, err := b.Push(packet(t, sn, opts...), at)
	require.NoError(t, err, "push sn %d", sn)
	return p
}
