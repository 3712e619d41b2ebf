package relay

import (
	"encoding/binary"
	"fmt"

	"github.com/pion/webrtc/v4"
	"github.com/quic-go/quic-go/quicvarint"

	"github.com/edgemesh/edge/sfu"
)

const (
	numLayers = sfu.NumLayers
	allLayers = uint8(sfu.AllLayers)
)

// Control message types (PROTOCOL.md, "Control stream").
const (
	msgHello          byte = 0x01
	msgSubscribe      byte = 0x02
	msgSubscribed     byte = 0x03
	msgSubscribeError byte = 0x04
	msgUnsubscribe    byte = 0x05
	msgKeyframe       byte = 0x06
	msgNACK           byte = 0x07
	msgSenderReport   byte = 0x08
	msgPing           byte = 0x09
	msgPong           byte = 0x0A
	msgTrackEnded     byte = 0x0B
	msgLayers         byte = 0x0C
)

// Subscribe error codes.
const (
	subErrNotFound byte = 1 // no such track on this node
	subErrClosed   byte = 2 // the track closed while subscribing
)

// message is one control message. Decoders ignore bytes after the fields
// they know (later versions may append fields).
type message interface {
	msgType() byte
	appendBody(b []byte) []byte
}

// appendMessage appends m as one length-prefixed frame.
func appendMessage(b []byte, m message) []byte {
	b, start := beginFrame(b, m.msgType())
	b = m.appendBody(b)
	return endFrame(b, start)
}

// helloMsg opens the control stream in both directions.
type helloMsg struct {
	Version uint64
	NodeID  string
}

// subscribeMsg asks for a track's layers (idempotent: it also changes the
// layer set of an existing subscription). Layers may be empty: metadata only.
// Publisher, when known, names the node that publishes the track, so that a
// node relaying it (a region's hub) can pull it without having learned of it
// yet; it is an optional trailing field (empty when absent).
type subscribeMsg struct {
	TrackID   string
	Layers    uint8
	Publisher string
}

// trackMeta describes a served track.
type trackMeta struct {
	Kind        webrtc.RTPCodecType
	Layers      uint8 // layers the source has
	PayloadType uint8
	ClockRate   uint32
	Channels    uint16
	MimeType    string
	FmtpLine    string
}

// subscribedMsg answers every subscribeMsg with the track's slot on this link
// and its metadata.
type subscribedMsg struct {
	TrackID string
	Slot    uint64
	Meta    trackMeta
}

type subscribeErrorMsg struct {
	TrackID string
	Code    byte
	Reason  string
}

type unsubscribeMsg struct{ TrackID string }

type keyframeMsg struct {
	Slot  uint64
	Layer int32
}

type nackMsg struct {
	Slot  uint64
	Layer int32
	SNs   []uint16
}

// senderReportMsg relays the publisher's sender report of a layer, moved to
// the time it is sent (NTP and RTP time advanced by the time since it arrived).
type senderReportMsg struct {
	Slot    uint64
	Layer   int32
	NTPTime uint64
	RTPTime uint32
}

type pingMsg struct{ ID uint64 }

type pongMsg struct{ ID uint64 }

type trackEndedMsg struct{ Slot uint64 }

// layersMsg tells the subscriber that the source's layer set changed.
type layersMsg struct {
	Slot   uint64
	Layers uint8
}

func (*helloMsg) msgType() byte          { return msgHello }
func (*subscribeMsg) msgType() byte      { return msgSubscribe }
func (*subscribedMsg) msgType() byte     { return msgSubscribed }
func (*subscribeErrorMsg) msgType() byte { return msgSubscribeError }
func (*unsubscribeMsg) msgType() byte    { return msgUnsubscribe }
func (*keyframeMsg) msgType() byte       { return msgKeyframe }
func (*nackMsg) msgType() byte           { return msgNACK }
func (*senderReportMsg) msgType() byte   { return msgSenderReport }
func (*pingMsg) msgType() byte           { return msgPing }
func (*pongMsg) msgType() byte           { return msgPong }
func (*trackEndedMsg) msgType() byte     { return msgTrackEnded }
func (*layersMsg) msgType() byte         { return msgLayers }

func (m *helloMsg) appendBody(b []byte) []byte {
	b = quicvarint.Append(b, m.Version)
	return appendString(b, m.NodeID)
}

func (m *subscribeMsg) appendBody(b []byte) []byte {
	b = appendString(b, m.TrackID)
	b = append(b, m.Layers)
	return appendString(b, m.Publisher)
}

func (m *subscribedMsg) appendBody(b []byte) []byte {
	b = appendString(b, m.TrackID)
	b = quicvarint.Append(b, m.Slot)
	b = append(b, byte(m.Meta.Kind), m.Meta.Layers, m.Meta.PayloadType)
	b = binary.BigEndian.AppendUint32(b, m.Meta.ClockRate)
	b = binary.BigEndian.AppendUint16(b, m.Meta.Channels)
	b = appendString(b, m.Meta.MimeType)
	return appendString(b, m.Meta.FmtpLine)
}

func (m *subscribeErrorMsg) appendBody(b []byte) []byte {
	b = appendString(b, m.TrackID)
	b = append(b, m.Code)
	return appendString(b, m.Reason)
}

func (m *unsubscribeMsg) appendBody(b []byte) []byte { return appendString(b, m.TrackID) }

func (m *keyframeMsg) appendBody(b []byte) []byte {
	b = quicvarint.Append(b, m.Slot)
	return append(b, byte(m.Layer))
}

func (m *nackMsg) appendBody(b []byte) []byte {
	b = quicvarint.Append(b, m.Slot)
	b = append(b, byte(m.Layer))
	b = quicvarint.Append(b, uint64(len(m.SNs)))
	for _, sn := range m.SNs {
		b = binary.BigEndian.AppendUint16(b, sn)
	}
	return b
}

func (m *senderReportMsg) appendBody(b []byte) []byte {
	b = quicvarint.Append(b, m.Slot)
	b = append(b, byte(m.Layer))
	b = binary.BigEndian.AppendUint64(b, m.NTPTime)
	return binary.BigEndian.AppendUint32(b, m.RTPTime)
}

func (m *pingMsg) appendBody(b []byte) []byte       { return quicvarint.Append(b, m.ID) }
func (m *pongMsg) appendBody(b []byte) []byte       { return quicvarint.Append(b, m.ID) }
func (m *trackEndedMsg) appendBody(b []byte) []byte { return quicvarint.Append(b, m.Slot) }

func (m *layersMsg) appendBody(b []byte) []byte {
	b = quicvarint.Append(b, m.Slot)
	return append(b, m.Layers)
}

// decodeMessage decodes the body of a message of type typ. It returns
// (nil, nil) for an unknown type (ignored for forward compatibility) and a
// wrapped ErrMalformed for a known type whose body does not parse.
func decodeMessage(typ byte, body []byte) (message, error) {
	f := &fields{b: body}
	var m message
	switch typ {
	case msgHello:
		m = &helloMsg{Version: f.varint("hello version"), NodeID: f.string("hello node id")}
	case msgSubscribe:
		m = &subscribeMsg{TrackID: f.string("subscribe track"), Layers: f.mask("subscribe layers"),
			Publisher: f.optString("subscribe publisher")}
	case msgSubscribed:
		m = decodeSubscribed(f)
	case msgSubscribeError:
		m = &subscribeErrorMsg{TrackID: f.string("subscribe error track"), Code: f.byte("subscribe error code"),
			Reason: f.string("subscribe error reason")}
	case msgUnsubscribe:
		m = &unsubscribeMsg{TrackID: f.string("unsubscribe track")}
	case msgKeyframe:
		m = &keyframeMsg{Slot: f.varint("keyframe slot"), Layer: f.layer("keyframe layer")}
	case msgNACK:
		m = decodeNACK(f)
	case msgSenderReport:
		m = &senderReportMsg{Slot: f.varint("sr slot"), Layer: f.layer("sr layer"),
			NTPTime: f.uint64("sr ntp"), RTPTime: f.uint32("sr rtp")}
	case msgPing:
		m = &pingMsg{ID: f.varint("ping id")}
	case msgPong:
		m = &pongMsg{ID: f.varint("pong id")}
	case msgTrackEnded:
		m = &trackEndedMsg{Slot: f.varint("track ended slot")}
	case msgLayers:
		m = &layersMsg{Slot: f.varint("layers slot"), Layers: f.mask("layers mask")}
	default:
		return nil, nil
	}
	if f.err != nil {
		return nil, fmt.Errorf("message type %#x: %w", typ, f.err)
	}
	return m, nil
}

func decodeSubscribed(f *fields) *subscribedMsg {
	m := &subscribedMsg{TrackID: f.string("subscribed track"), Slot: f.varint("subscribed slot")}
	kind := webrtc.RTPCodecType(f.byte("subscribed kind"))
	if f.err == nil && kind != webrtc.RTPCodecTypeAudio && kind != webrtc.RTPCodecTypeVideo {
		f.fail("subscribed kind")
	}
	m.Meta = trackMeta{
		Kind:        kind,
		Layers:      f.mask("subscribed layers"),
		PayloadType: f.byte("subscribed payload type"),
		ClockRate:   f.uint32("subscribed clock rate"),
		Channels:    f.uint16("subscribed channels"),
		MimeType:    f.string("subscribed mime type"),
		FmtpLine:    f.string("subscribed fmtp"),
	}
	return m
}

func decodeNACK(f *fields) *nackMsg {
	m := &nackMsg{Slot: f.varint("nack slot"), Layer: f.layer("nack layer")}
	n := f.varint("nack count")
	if f.err == nil && (n > maxNACKs || n*2 > uint64(len(f.b))) {
		f.fail("nack count")
	}
	if f.err != nil {
		return m
	}
	m.SNs = make([]uint16, n)
	for i := range m.SNs {
		m.SNs[i] = f.uint16("nack sn")
	}
	return m
}
