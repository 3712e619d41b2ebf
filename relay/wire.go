package relay

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/quic-go/quic-go/quicvarint"
)

// Protocol constants (see PROTOCOL.md).
const (
	// ProtocolVersion is the version this package speaks, sent in hello.
	ProtocolVersion = 1
	// ALPN is the TLS application protocol of relay links.
	ALPN = "edge-relay/1"

	// maxFrameSize bounds one control or data-stream frame (type + body).
	maxFrameSize = 64 << 10
	// maxStringLen bounds ids and names inside messages.
	maxStringLen = 1024
	// maxNACKs bounds the sequence numbers of one NACK message.
	maxNACKs = 512
	// frameLenSize is the width of the length prefix this package writes:
	// a QUIC varint always encoded in 4 bytes (any varint width is accepted
	// when reading).
	frameLenSize = 4
)

// Uni-stream types: the first byte of every unidirectional stream.
const (
	uniData     byte = 0x01 // reliable data-channel messages, in order
	uniOversize byte = 0x02 // media packets too large for a datagram
)

// beginFrame appends room for the frame length and the type byte; finish it
// with endFrame once the body is appended.
func beginFrame(b []byte, typ byte) ([]byte, int) {
	start := len(b)
	b = append(b, 0, 0, 0, 0, typ)
	return b, start
}

// endFrame writes the length of the frame begun at start.
func endFrame(b []byte, start int) []byte {
	n := uint64(len(b) - start - frameLenSize)
	quicvarint.AppendWithLen(b[start:start], n, frameLenSize)
	return b
}

// byteReader is what readFrame needs: a stream with byte access (bufio).
type byteReader interface {
	io.Reader
	io.ByteReader
}

// readFrame reads one length-prefixed frame into buf (which must hold
// maxFrameSize bytes) and returns it: its first byte is the frame's type.
// It fails with ErrMalformed for an empty or oversized frame, and with the
// stream's error (io.EOF at a clean end) otherwise.
func readFrame(r byteReader, buf []byte) ([]byte, error) {
	first, err := r.ReadByte()
	if err != nil {
		return nil, err // io.EOF: clean end between frames
	}
	var lenBuf [8]byte
	lenBuf[0] = first
	width := 1 << (first >> 6)
	if _, err := io.ReadFull(r, lenBuf[1:width]); err != nil {
		return nil, unexpectedEOF(err)
	}
	n, _, err := quicvarint.Parse(lenBuf[:width])
	if err != nil {
		return nil, fmt.Errorf("frame length: %w", ErrMalformed)
	}
	if n == 0 || n > maxFrameSize || n > uint64(len(buf)) {
		return nil, fmt.Errorf("frame of %d bytes: %w", n, ErrMalformed)
	}
	if _, err := io.ReadFull(r, buf[:n]); err != nil {
		return nil, unexpectedEOF(err)
	}
	return buf[:n], nil
}

// unexpectedEOF turns io.EOF inside a frame into io.ErrUnexpectedEOF.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// fields decodes the body of a message. The first error sticks; later reads
// return zero values, so decoders read every field and check err once.
type fields struct {
	b   []byte
	err error
}

func (f *fields) fail(what string) {
	if f.err == nil {
		f.err = fmt.Errorf("%s: %w", what, ErrMalformed)
	}
	f.b = nil
}

func (f *fields) varint(what string) uint64 {
	if f.err != nil {
		return 0
	}
	v, n, err := quicvarint.Parse(f.b)
	if err != nil {
		f.fail(what)
		return 0
	}
	f.b = f.b[n:]
	return v
}

func (f *fields) byte(what string) byte {
	if f.err != nil || len(f.b) < 1 {
		f.fail(what)
		return 0
	}
	v := f.b[0]
	f.b = f.b[1:]
	return v
}

func (f *fields) uint16(what string) uint16 {
	if f.err != nil || len(f.b) < 2 {
		f.fail(what)
		return 0
	}
	v := binary.BigEndian.Uint16(f.b)
	f.b = f.b[2:]
	return v
}

func (f *fields) uint32(what string) uint32 {
	if f.err != nil || len(f.b) < 4 {
		f.fail(what)
		return 0
	}
	v := binary.BigEndian.Uint32(f.b)
	f.b = f.b[4:]
	return v
}

func (f *fields) uint64(what string) uint64 {
	if f.err != nil || len(f.b) < 8 {
		f.fail(what)
		return 0
	}
	v := binary.BigEndian.Uint64(f.b)
	f.b = f.b[8:]
	return v
}

// bytes reads a varint-length-prefixed byte string of at most limit bytes.
// The result aliases the input.
func (f *fields) bytes(what string, limit int) []byte {
	n := f.varint(what)
	if f.err != nil {
		return nil
	}
	if n > uint64(limit) || n > uint64(len(f.b)) {
		f.fail(what)
		return nil
	}
	v := f.b[:n:n]
	f.b = f.b[n:]
	return v
}

func (f *fields) string(what string) string { return string(f.bytes(what, maxStringLen)) }

// optString reads a trailing string field that earlier versions did not
// send: "" if the body ends before it.
func (f *fields) optString(what string) string {
	if f.err == nil && len(f.b) == 0 {
		return ""
	}
	return f.string(what)
}

// layer reads a layer byte, which must name a simulcast layer.
func (f *fields) layer(what string) int32 {
	v := f.byte(what)
	if f.err == nil && v >= numLayers {
		f.fail(what)
	}
	return int32(v)
}

// mask reads a layer-set byte, which must only hold simulcast layers.
func (f *fields) mask(what string) uint8 {
	v := f.byte(what)
	if f.err == nil && v&^allLayers != 0 {
		f.fail(what)
	}
	return v
}

func appendString(b []byte, s string) []byte {
	b = quicvarint.Append(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, s []byte) []byte {
	b = quicvarint.Append(b, uint64(len(s)))
	return append(b, s...)
}
