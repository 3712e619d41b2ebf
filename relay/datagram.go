package relay

import (
	"fmt"

	"github.com/quic-go/quic-go/quicvarint"
)

// Datagram types: the high nibble of a datagram's first byte. For media the
// low nibble is the simulcast layer; for data it is zero.
const (
	dgMedia byte = 0x1
	dgData  byte = 0x2
)

// maxMediaHeaderSize bounds the media header: type/layer byte + 8-byte varint.
const maxMediaHeaderSize = 1 + 8

// appendMediaHeader appends the header of a media datagram: the type/layer
// byte and the slot. The RTP packet follows it unchanged.
func appendMediaHeader(b []byte, slot uint64, layer int32) []byte {
	b = append(b, dgMedia<<4|byte(layer)&0x0F)
	return quicvarint.Append(b, slot)
}

// datagramType returns the type of a datagram, 0 if it is empty.
func datagramType(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0] >> 4
}

// parseMedia parses a media datagram (or an oversize-stream frame, which has
// the same layout). rtp aliases b. It does not allocate.
func parseMedia(b []byte) (slot uint64, layer int32, rtp []byte, err error) {
	if datagramType(b) != dgMedia {
		return 0, 0, nil, errMediaType
	}
	layer = int32(b[0] & 0x0F)
	if layer >= numLayers {
		return 0, 0, nil, errMediaLayer
	}
	slot, n, perr := quicvarint.Parse(b[1:])
	if perr != nil {
		return 0, 0, nil, errMediaSlot
	}
	return slot, layer, b[1+n:], nil
}

// Preallocated parse errors: parseMedia runs per packet and must not allocate.
var (
	errMediaType  = fmt.Errorf("media datagram type: %w", ErrMalformed)
	errMediaLayer = fmt.Errorf("media datagram layer: %w", ErrMalformed)
	errMediaSlot  = fmt.Errorf("media datagram slot: %w", ErrMalformed)
)

// DataMessage is an opaque data-channel payload relayed between nodes. The
// node fills and interprets Room, Kind and Payload; the relay only carries
// them: reliably and in order (one stream per link and direction) or lossily
// (datagrams).
type DataMessage struct {
	// Room is the room the message belongs to (at most 1024 bytes).
	Room string
	// Kind is the node's tag for the payload (e.g. user packet, RPC, ...).
	Kind byte
	// Reliable selects the ordered stream instead of datagrams.
	Reliable bool
	// Payload is the opaque message.
	Payload []byte
}

// maxDataPayload bounds DataMessage.Payload (the frame limit minus headers).
const maxDataPayload = maxFrameSize - maxStringLen - 16

// appendData appends the body of a data message (datagram after its type
// byte, or reliable-stream frame after its length).
func appendData(b []byte, m *DataMessage) []byte {
	b = append(b, m.Kind)
	b = appendString(b, m.Room)
	return append(b, m.Payload...)
}

// appendDataDatagram appends a whole data datagram.
func appendDataDatagram(b []byte, m *DataMessage) []byte {
	b = append(b, dgData<<4)
	return appendData(b, m)
}

// parseData parses the body of a data message. The payload is copied, so the
// result owns its memory.
func parseData(b []byte, reliable bool) (DataMessage, error) {
	f := &fields{b: b}
	m := DataMessage{Kind: f.byte("data kind"), Room: f.string("data room"), Reliable: reliable}
	if f.err != nil {
		return DataMessage{}, f.err
	}
	m.Payload = append([]byte(nil), f.b...)
	return m, nil
}
