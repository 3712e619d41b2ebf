package egress

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// Sender writes one datagram to addr: the node's ICE/UDP socket (udpgso.Conn queues it while
// the address is held for a burst).
type Sender interface {
	WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error)
}

// SentObserver learns of every packet sent with a transport-wide sequence number: the
// connection's bandwidth estimator (*bwe.Estimator).
type SentObserver interface {
	OnPacketSent(seq uint16, size int, now time.Time)
}

// Mode is how a Path sends.
type Mode int32

const (
	// ModePending: the connection's DTLS handshake has not finished; writes are dropped, as
	// pion drops them until its SRTP session is up.
	ModePending Mode = iota
	// ModeDirect: the Path encrypts and sends itself.
	ModeDirect
	// ModePion: the Path hands every write to pion's writer (keys underivable, ICE/TCP, or a
	// fallback); final.
	ModePion
	// ModeClosed: the connection is gone; writes are dropped.
	ModeClosed
)

func (m Mode) String() string {
	switch m {
	case ModePending:
		return "pending"
	case ModeDirect:
		return "direct"
	case ModePion:
		return "pion"
	case ModeClosed:
		return "closed"
	}
	return fmt.Sprintf("Mode(%d)", int32(m))
}

// maxPacket bounds a plaintext packet the Path sends; an SRTP tag fits after it in buf.
const maxPacket = 1500

// Stats count a Path's direct sends.
type Stats struct {
	Packets, Bytes uint64 // sent directly (SRTP bytes on the wire, without UDP/IP)
	Errors         uint64 // failed directly (marshal, encrypt or socket)
}

// Counters sum the direct sends (and intercepted RTCP) of many Paths (a node's), for metrics.
// Safe for concurrent use.
type Counters struct {
	Packets, Bytes, Errors atomic.Uint64
	Direct, Pion           atomic.Uint64 // paths that began sending directly; paths handed to pion
	RTCPIn, RTCPInErrors   atomic.Uint64 // SRTCP read past pion (Inbound); refused (left to pion, or malformed)
}

// Path sends one connection's RTP. It starts pending and decides once, when the connection's
// DTLS transport is up (Activate or Fallback): direct or pion. All streams of the connection
// share its SRTP context and transport-wide sequence numbers. Safe for concurrent use.
type Path struct {
	conn Sender
	obs  SentObserver // nil: no estimator on the connection
	sum  *Counters    // nil: none
	mode atomic.Int32
	dst  atomic.Pointer[netip.AddrPort] // the selected pair's remote address; nil: not over UDP

	in    *Inbound   // nil: the connection's RTCP goes through pion
	fb    Feedback   // nil: none
	regMu sync.Mutex // orders the Inbound registrations of dst changes, Activate and Close

	rmu    sync.Mutex // guards remote, rhdr and rbuf
	remote *srtp.Context
	rhdr   rtcp.Header
	rbuf   [maxPacket + 64]byte
	pkts   []rtcp.Packet // reused for each compound

	hmu      sync.RWMutex
	handlers []*StreamWriter // streams with an RTCP handler

	mu   sync.Mutex // guards what follows; one send at a time, so sequence order is wire order
	ctx  *srtp.Context
	seq  uint16 // the next transport-wide sequence number
	hdr  rtp.Header
	buf  [maxPacket + 64]byte
	tcc  [2]byte
	errs uint64

	packets, bytes atomic.Uint64
}

// NewPath returns a pending Path writing to conn that adds its sends to sum. obs and sum may
// be nil.
func NewPath(conn Sender, obs SentObserver, sum *Counters) *Path {
	if sum == nil {
		sum = &Counters{}
	}
	return &Path{conn: conn, obs: obs, sum: sum}
}

// Mode returns how the Path sends now.
func (p *Path) Mode() Mode { return Mode(p.mode.Load()) }

// Stats returns the direct-send counters.
func (p *Path) Stats() Stats {
	p.mu.Lock()
	errs := p.errs
	p.mu.Unlock()
	return Stats{Packets: p.packets.Load(), Bytes: p.bytes.Load(), Errors: errs}
}

// Intercept makes the Path read the connection's SRTCP itself once it sends directly: in
// routes it here, and transport-wide feedback and REMB go to fb (may be nil). Call it before
// the connection starts. Only for connections on which the client sends no media of its own
// (pion's receive side needs the RTCP about that).
func (p *Path) Intercept(in *Inbound, fb Feedback) {
	p.in, p.fb = in, fb
}

// SetRemote follows the connection's selected candidate pair: addr is its remote address when
// it runs over UDP, else nil. A direct Path whose pair moves off UDP falls back to pion.
func (p *Path) SetRemote(addr *netip.AddrPort) {
	p.regMu.Lock()
	old := p.dst.Swap(addr)
	if p.in != nil && p.Mode() == ModeDirect {
		p.in.set(p, old, addr)
	}
	p.regMu.Unlock()
	if addr == nil && p.Mode() == ModeDirect {
		p.fallback()
	}
}

// ErrNotUDP: the connection has no UDP candidate pair to send on.
var ErrNotUDP = errors.New("no UDP candidate pair selected")

// Activate makes a pending Path send directly with keys. It fails, leaving the Path pending,
// if the keys do not make an SRTP context or the connection has no UDP pair.
func (p *Path) Activate(k Keys) error {
	if p.dst.Load() == nil {
		return ErrNotUDP
	}
	ctx, err := srtp.CreateContext(k.LocalKey, k.LocalSalt, k.Profile)
	if err != nil {
		return fmt.Errorf("srtp context: %w", err)
	}
	remote, err := srtp.CreateContext(k.RemoteKey, k.RemoteSalt, k.Profile, srtp.SRTCPReplayProtection(srtcpReplayWindow))
	if err != nil {
		return fmt.Errorf("srtp context: %w", err)
	}
	p.mu.Lock()
	p.ctx = ctx
	p.mu.Unlock()
	p.rmu.Lock()
	p.remote = remote
	p.rmu.Unlock()
	p.regMu.Lock()
	defer p.regMu.Unlock()
	if !p.mode.CompareAndSwap(int32(ModePending), int32(ModeDirect)) {
		return fmt.Errorf("path is %s", p.Mode())
	}
	if p.in != nil {
		p.in.set(p, nil, p.dst.Load())
	}
	p.sum.Direct.Add(1)
	return nil
}

// srtcpReplayWindow is the SRTCP replay window of intercepted RTCP (pion's default size).
const srtcpReplayWindow = 64

// Fallback makes a pending Path hand every write to pion, for good.
func (p *Path) Fallback() {
	if p.mode.CompareAndSwap(int32(ModePending), int32(ModePion)) {
		p.sum.Pion.Add(1)
	}
}

// fallback moves a direct Path to pion. pion's SRTP context starts its rollover counters from
// the sequence numbers it sees, so a stream that already wrapped its 16-bit sequence on the
// direct path would be undecodable after the switch; it only happens when a running
// connection's pair moves off UDP (to ICE/TCP).
func (p *Path) fallback() {
	if p.mode.CompareAndSwap(int32(ModeDirect), int32(ModePion)) {
		p.sum.Pion.Add(1)
		p.unregister()
	}
}

// unregister stops Inbound routing to p.
func (p *Path) unregister() {
	if p.in == nil {
		return
	}
	p.regMu.Lock()
	p.in.set(p, p.dst.Load(), nil)
	p.regMu.Unlock()
}

// Close drops every later write and stops reading the connection's RTCP.
func (p *Path) Close() {
	p.mode.Store(int32(ModeClosed))
	p.unregister()
}

// Stream returns the writer of one negotiated stream: the transport-wide sequence extension's
// id (0: not negotiated), pion's writer for the stream, and what acts on the subscriber's
// RTCP when the Path reads it (nil: nothing). Unbind the writer when the stream ends.
func (p *Path) Stream(tccID uint8, pion webrtc.TrackLocalWriter, onRTCP RTCPHandler) *StreamWriter {
	w := &StreamWriter{path: p, tccID: tccID, pion: pion, onRTCP: onRTCP}
	if onRTCP != nil {
		p.hmu.Lock()
		p.handlers = append(p.handlers, w)
		p.hmu.Unlock()
	}
	return w
}

// StreamWriter is a webrtc.TrackLocalWriter that sends through its Path.
type StreamWriter struct {
	path   *Path
	tccID  uint8
	pion   webrtc.TrackLocalWriter
	onRTCP RTCPHandler
}

// Unbind stops passing RTCP to the stream.
func (w *StreamWriter) Unbind() {
	p := w.path
	p.hmu.Lock()
	defer p.hmu.Unlock()
	for i, h := range p.handlers {
		if h == w {
			p.handlers = append(p.handlers[:i], p.handlers[i+1:]...)
			return
		}
	}
}

// WriteRTP sends one packet. Like pion's writer it returns (0, nil) for a packet it drops
// because the connection is not up (yet, or any more). h is changed: it gets the
// transport-wide sequence number.
func (w *StreamWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	switch w.path.Mode() {
	case ModeDirect:
		return w.path.send(w.tccID, h, payload)
	case ModePion:
		return w.pion.WriteRTP(h, payload)
	}
	return 0, nil
}

// Write sends one marshaled packet.
func (w *StreamWriter) Write(b []byte) (int, error) {
	var pkt rtp.Packet
	if err := pkt.Unmarshal(b); err != nil {
		return 0, err
	}
	return w.WriteRTP(&pkt.Header, pkt.Payload)
}

// send numbers, marshals, encrypts and sends one packet.
func (p *Path) send(tccID uint8, h *rtp.Header, payload []byte) (int, error) {
	dst := p.dst.Load()
	if dst == nil {
		return 0, ErrNotUDP
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if tccID != 0 {
		binary.BigEndian.PutUint16(p.tcc[:], p.seq)
		if err := h.SetExtension(tccID, p.tcc[:]); err != nil {
			p.failed()
			return 0, err
		}
	}
	size := h.MarshalSize() + len(payload) + int(h.PaddingSize)
	if size > maxPacket {
		p.failed()
		return 0, fmt.Errorf("packet of %d bytes exceeds %d", size, maxPacket)
	}
	n, err := rtp.MarshalPacketTo(p.buf[:], h, payload) //nolint:staticcheck // the header-and-payload form avoids a copy into an rtp.Packet
	if err != nil {
		p.failed()
		return 0, err
	}
	out, err := p.ctx.EncryptRTP(p.buf[:0], p.buf[:n], &p.hdr)
	if err != nil {
		p.failed()
		return 0, fmt.Errorf("srtp: %w", err)
	}
	now := time.Now()
	if _, err := p.conn.WriteToAddrPort(out, *dst); err != nil {
		p.failed()
		return 0, err
	}
	if tccID != 0 {
		if p.obs != nil {
			p.obs.OnPacketSent(p.seq, size, now)
		}
		p.seq++
	}
	p.packets.Add(1)
	p.bytes.Add(uint64(len(out)))
	p.sum.Packets.Add(1)
	p.sum.Bytes.Add(uint64(len(out)))
	return len(out), nil
}

// failed counts a failed direct send; p.mu is held.
func (p *Path) failed() {
	p.errs++
	p.sum.Errors.Add(1)
}

// handleRTCP decrypts, parses and dispatches one SRTCP packet from the subscriber, and
// reports whether it did. A packet that does not authenticate (or replays) is left to pion,
// which judges it the same way; an authentic one that does not parse is dropped. Transport-wide
// feedback goes to the estimator unparsed (it is most of what subscribers send); the other
// packets of the compound are parsed for the streams. The parsed packets may point into rbuf:
// rmu is held until the handlers return.
func (p *Path) handleRTCP(b []byte) bool {
	if p.Mode() != ModeDirect {
		return false
	}
	p.rmu.Lock()
	defer p.rmu.Unlock()
	plain, err := p.remote.DecryptRTCP(p.rbuf[:0], b, &p.rhdr)
	if err != nil {
		p.sum.RTCPInErrors.Add(1)
		return false
	}
	now := time.Now()
	pkts := p.pkts[:0]
	for rest := plain; len(rest) > 0; {
		size, ok := rtcpSize(rest)
		if !ok {
			p.sum.RTCPInErrors.Add(1)
			return true
		}
		one := rest[:size]
		rest = rest[size:]
		if isTransportCC(one) {
			if p.fb != nil {
				_ = p.fb.OnTransportCCRaw(one, now) // a malformed report is used as far as it goes
			}
			continue
		}
		parsed, err := rtcp.Unmarshal(one)
		if err != nil {
			p.sum.RTCPInErrors.Add(1)
			return true
		}
		pkts = append(pkts, parsed...)
	}
	p.pkts = pkts[:0]
	p.sum.RTCPIn.Add(1)
	if len(pkts) == 0 {
		return true
	}
	if p.fb != nil {
		for _, pkt := range pkts {
			if remb, ok := pkt.(*rtcp.ReceiverEstimatedMaximumBitrate); ok {
				p.fb.OnREMB(float64(remb.Bitrate), now)
			}
		}
	}
	p.hmu.RLock()
	defer p.hmu.RUnlock()
	for _, h := range p.handlers {
		h.onRTCP(pkts, now)
	}
	return true
}

// rtcpSize returns the size of the RTCP packet at the start of b, from its length field
// (RFC 3550 section 6.4.1: 32-bit words minus one), and whether b holds it whole.
func rtcpSize(b []byte) (int, bool) {
	if len(b) < 4 || b[0]>>6 != 2 {
		return 0, false
	}
	size := (int(binary.BigEndian.Uint16(b[2:4])) + 1) * 4
	return size, size <= len(b)
}

// isTransportCC reports whether the RTCP packet b is transport-wide congestion control
// feedback: transport-layer feedback (PT 205) with FMT 15.
func isTransportCC(b []byte) bool {
	return b[1] == 205 && b[0]&0x1f == 15
}
