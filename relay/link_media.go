package relay

import (
	"bufio"
	"errors"
	"fmt"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/quicvarint"

	"github.com/edgemesh/edge/sfu/buffer"
)

// packetBufSize holds a relay header and the largest RTP packet accepted.
const packetBufSize = buffer.DefaultMaxPacketSize + maxMediaHeaderSize + 16

// packetBuf is one queued outgoing datagram, pooled by the Endpoint.
type packetBuf struct {
	n    int
	kind kindIndex
	data [packetBufSize]byte
}

func (e *Endpoint) getBuf() *packetBuf  { return e.bufs.Get().(*packetBuf) }
func (e *Endpoint) putBuf(b *packetBuf) { e.bufs.Put(b) }

// sendMedia queues RTP packet raw of layer for the subscription on slot. It
// copies raw, never blocks and does not allocate: when the queue is full
// the packet is dropped and counted.
func (l *link) sendMedia(slot uint64, layer int32, kind kindIndex, raw []byte) {
	if l.closed.Load() {
		return
	}
	if len(raw)+maxMediaHeaderSize > packetBufSize {
		l.c.queueDrops.Add(1)
		return
	}
	b := l.ep.getBuf()
	h := appendMediaHeader(b.data[:0], slot, layer)
	b.n = len(h) + copy(b.data[len(h):], raw)
	b.kind = kind
	l.enqueue(b)
}

// enqueue hands b to the media writer, or drops it if the queue is full.
func (l *link) enqueue(b *packetBuf) bool {
	select {
	case l.media <- b:
		return true
	default:
		l.c.queueDrops.Add(1)
		l.ep.putBuf(b)
		return false
	}
}

// mediaWriter sends queued datagrams. A datagram larger than the connection
// allows goes on the oversize stream instead (opened on first need).
func (l *link) mediaWriter() {
	var oversize *quic.SendStream
	frame := make([]byte, 0, frameLenSize+packetBufSize)
	for {
		var b *packetBuf
		select {
		case <-l.ctx.Done():
			return
		case b = <-l.media:
		}
		p := b.data[:b.n]
		if l.sendDatagram(p) {
			l.c.sent[b.kind].Add(uint64(len(p)))
			l.ep.putBuf(b)
			continue
		}
		if l.closed.Load() {
			l.ep.putBuf(b)
			return
		}
		if oversize == nil {
			s, err := l.conn.OpenUniStreamSync(l.ctx)
			if err != nil {
				l.ep.putBuf(b)
				return
			}
			oversize = s
			frame = append(frame[:0], uniOversize)
		}
		frame = quicvarint.AppendWithLen(frame, uint64(len(p)), frameLenSize)
		frame = append(frame, p...)
		_, err := oversize.Write(frame)
		frame = frame[:0]
		l.c.oversize.Add(1)
		l.c.sent[b.kind].Add(uint64(len(p)))
		l.ep.putBuf(b)
		if err != nil {
			l.close(codeNormal, "", fmt.Errorf("write oversize stream: %w", err))
			return
		}
	}
}

// sendDatagram sends p as a datagram; false if it is too large for one (or
// the connection is closing).
func (l *link) sendDatagram(p []byte) bool {
	if lim := l.dgLimit.Load(); lim > 0 && int64(len(p)) > lim {
		return false
	}
	err := l.conn.SendDatagram(p)
	if err == nil {
		return true
	}
	var tooLarge *quic.DatagramTooLargeError
	if errors.As(err, &tooLarge) {
		l.dgLimit.Store(tooLarge.MaxDatagramPayloadSize)
	}
	return false
}

// datagramReader receives datagrams until the link ends.
func (l *link) datagramReader() {
	for {
		b, err := l.conn.ReceiveDatagram(l.ctx)
		if err != nil {
			return
		}
		if err := l.handleDatagram(b); err != nil {
			l.fail(err)
			return
		}
	}
}

// handleDatagram acts on one datagram (or oversize-stream frame). b is not
// retained.
func (l *link) handleDatagram(b []byte) error {
	switch datagramType(b) {
	case dgMedia:
		slot, layer, rtp, err := parseMedia(b)
		if err != nil {
			return err
		}
		rt := l.remoteTrack(slot)
		if rt == nil {
			l.c.unknownSlot.Add(1)
			return nil
		}
		l.c.received[mediaKind(rt.kind, layer)].Add(uint64(len(b)))
		rt.ingest(layer, rtp, time.Now())
	case dgData:
		m, err := parseData(b[1:], false)
		if err != nil {
			return err
		}
		l.c.received[kindData].Add(uint64(len(b)))
		l.deliver(m)
	}
	// Other types: a later protocol version; ignored.
	return nil
}

// deliver hands a received data message to the node.
func (l *link) deliver(m DataMessage) {
	l.touch()
	if f := l.ep.cfg.OnData; f != nil {
		f(l.peer.id, m)
	}
}

// sendData queues a data message: reliable ones on the data stream (waiting
// for queue space until the link ends), lossy ones as a datagram (dropped
// with ErrQueueFull if the media queue is full; sent on the data stream if
// too large for a datagram buffer).
func (l *link) sendData(m *DataMessage, done <-chan struct{}) error {
	if len(m.Room) > maxStringLen || len(m.Payload) > maxDataPayload {
		return fmt.Errorf("data message of %d bytes: %w", len(m.Payload), ErrTooLarge)
	}
	l.touch()
	if !m.Reliable && 1+len(m.Room)+len(m.Payload)+16 <= packetBufSize {
		b := l.ep.getBuf()
		b.n = len(appendDataDatagram(b.data[:0], m))
		b.kind = kindData
		if !l.enqueue(b) {
			return ErrQueueFull
		}
		return nil
	}
	f := quicvarint.AppendWithLen(nil, 0, frameLenSize)
	f = appendData(f, m)
	quicvarint.AppendWithLen(f[:0], uint64(len(f)-frameLenSize), frameLenSize)
	select {
	case l.dataOut <- f:
		return nil
	case <-l.ctx.Done():
		return fmt.Errorf("send data to %s: %w", l.peer.id, ErrLinkDown)
	case <-done:
		return fmt.Errorf("send data to %s: %w", l.peer.id, ErrClosed)
	}
}

// dataWriter writes reliable data frames, in order, on the data stream
// (opened on first need).
func (l *link) dataWriter() {
	var s *quic.SendStream
	for {
		var f []byte
		select {
		case <-l.ctx.Done():
			return
		case f = <-l.dataOut:
		}
		if s == nil {
			var err error
			if s, err = l.conn.OpenUniStreamSync(l.ctx); err != nil {
				return
			}
			if _, err := s.Write([]byte{uniData}); err != nil {
				return
			}
		}
		if _, err := s.Write(f); err != nil {
			l.close(codeNormal, "", fmt.Errorf("write data stream: %w", err))
			return
		}
		l.c.sent[kindData].Add(uint64(len(f)))
	}
}

// uniAcceptor accepts the peer's unidirectional streams.
func (l *link) uniAcceptor() {
	for {
		s, err := l.conn.AcceptUniStream(l.ctx)
		if err != nil {
			return
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.uniReader(s)
		}()
	}
}

// uniReader reads one unidirectional stream: its first byte is its type.
func (l *link) uniReader(s *quic.ReceiveStream) {
	in := bufio.NewReader(s)
	typ, err := in.ReadByte()
	if err != nil {
		return
	}
	if typ != uniData && typ != uniOversize {
		s.CancelRead(0) // a later protocol version's stream
		return
	}
	buf := make([]byte, maxFrameSize)
	for {
		frame, err := readFrame(in, buf)
		if err != nil {
			if errors.Is(err, ErrMalformed) {
				l.fail(err)
			}
			return
		}
		if typ == uniOversize {
			err = l.handleDatagram(frame)
		} else {
			var m DataMessage
			if m, err = parseData(frame, true); err == nil {
				l.c.received[kindData].Add(uint64(len(frame) + frameLenSize))
				l.deliver(m)
			}
		}
		if err != nil {
			l.fail(err)
			return
		}
	}
}
