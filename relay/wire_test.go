package relay

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
)

// allMessages is one value of every control message type.
func allMessages() []message {
	return []message{
		&helloMsg{Version: ProtocolVersion, NodeID: "node-a"},
		&subscribeMsg{TrackID: "TR_abc", Layers: 0b101},
		&subscribeMsg{TrackID: "TR_meta", Layers: 0},
		&subscribeMsg{TrackID: "TR_hub", Layers: 0b111, Publisher: "edge-0"},
		&subscribedMsg{TrackID: "TR_abc", Slot: 70000, Meta: trackMeta{
			Kind: webrtc.RTPCodecTypeVideo, Layers: 0b111, PayloadType: 96, ClockRate: 90000,
			MimeType: "video/VP8",
		}},
		&subscribedMsg{TrackID: "TR_opus", Slot: 1, Meta: trackMeta{
			Kind: webrtc.RTPCodecTypeAudio, Layers: 1, PayloadType: 111, ClockRate: 48000, Channels: 2,
			MimeType: "audio/opus", FmtpLine: "minptime=10;useinbandfec=1",
		}},
		&subscribeErrorMsg{TrackID: "TR_x", Code: subErrNotFound, Reason: "no such track"},
		&unsubscribeMsg{TrackID: "TR_abc"},
		&keyframeMsg{Slot: 3, Layer: 2},
		&nackMsg{Slot: 3, Layer: 1, SNs: []uint16{1, 2, 65535}},
		&nackMsg{Slot: 4, Layer: 0, SNs: []uint16{}},
		&senderReportMsg{Slot: 9, Layer: 0, NTPTime: 0xDEADBEEF01020304, RTPTime: 0xCAFEBABE},
		&pingMsg{ID: 1 << 40},
		&pongMsg{ID: 17},
		&trackEndedMsg{Slot: 1 << 20},
		&layersMsg{Slot: 5, Layers: 0b011},
	}
}

func TestControlMessagesRoundTrip(t *testing.T) {
	t.Parallel()
	var stream []byte
	for _, m := range allMessages() {
		stream = appendMessage(stream, m)
	}
	r := bufio.NewReader(bytes.NewReader(stream))
	buf := make([]byte, maxFrameSize)
	for _, want := range allMessages() {
		frame, err := readFrame(r, buf)
		require.NoError(t, err)
		got, err := decodeMessage(frame[0], frame[1:])
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	_, err := readFrame(r, buf)
	require.ErrorIs(t, err, io.EOF)
}

func TestDecodeMessageMalformed(t *testing.T) {
	t.Parallel()
	long := string(bytes.Repeat([]byte{'x'}, maxStringLen+1))
	tests := []struct {
		name string
		typ  byte
		body []byte
	}{
		{"hello empty", msgHello, nil},
		{"hello truncated string", msgHello, []byte{1, 5, 'a'}},
		{"subscribe bad mask", msgSubscribe, appendMessageBody(&subscribeMsg{TrackID: "t", Layers: 0b1000})},
		{"subscribe string too long", msgSubscribe, appendMessageBody(&subscribeMsg{TrackID: long})},
		{"subscribe publisher truncated", msgSubscribe, []byte{1, 't', 1, 4, 'e'}},
		{"subscribed bad kind", msgSubscribed, appendMessageBody(&subscribedMsg{TrackID: "t", Meta: trackMeta{Kind: 7}})},
		{"subscribed truncated", msgSubscribed, appendMessageBody(&subscribedMsg{TrackID: "t", Meta: trackMeta{Kind: webrtc.RTPCodecTypeAudio}})[:6]},
		{"keyframe bad layer", msgKeyframe, []byte{1, 3}},
		{"keyframe no layer", msgKeyframe, []byte{1}},
		{"nack too many", msgNACK, []byte{1, 0, 0x42, 0x01}},
		{"nack count beyond body", msgNACK, []byte{1, 0, 3, 0, 1, 0, 2}},
		{"sr truncated", msgSenderReport, []byte{1, 0, 1, 2, 3}},
		{"ping bad varint", msgPing, []byte{0x80, 1}},
		{"layers bad mask", msgLayers, []byte{1, 0xFF}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := decodeMessage(tc.typ, tc.body)
			require.ErrorIs(t, err, ErrMalformed)
			require.Nil(t, m)
		})
	}
}

func appendMessageBody(m message) []byte { return m.appendBody(nil) }

func TestDecodeMessageForwardCompatible(t *testing.T) {
	t.Parallel()
	m, err := decodeMessage(0x7F, []byte{1, 2, 3})
	require.NoError(t, err)
	require.Nil(t, m, "unknown types are ignored")

	// A subscribe from version 1 ends after the layers: no publisher.
	m, err = decodeMessage(msgSubscribe, []byte{2, 'T', 'R', 0b001})
	require.NoError(t, err)
	require.Equal(t, &subscribeMsg{TrackID: "TR", Layers: 0b001}, m)

	body := append(appendMessageBody(&pingMsg{ID: 5}), 0xAA, 0xBB) // a field from a later version
	m, err = decodeMessage(msgPing, body)
	require.NoError(t, err)
	require.Equal(t, &pingMsg{ID: 5}, m)
}

func TestReadFrameLimits(t *testing.T) {
	t.Parallel()
	buf := make([]byte, maxFrameSize)
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty frame", []byte{0}, ErrMalformed},
		{"oversized", []byte{0x80, 0x01, 0x00, 0x01}, ErrMalformed},
		{"truncated body", []byte{3, 1}, io.ErrUnexpectedEOF},
		{"truncated length", []byte{0x80, 0}, io.ErrUnexpectedEOF},
		{"clean end", nil, io.EOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readFrame(bufio.NewReader(bytes.NewReader(tc.in)), buf)
			require.True(t, errors.Is(err, tc.want), "got %v, want %v", err, tc.want)
		})
	}
}

func TestMediaHeader(t *testing.T) {
	t.Parallel()
	rtp := []byte{0x80, 96, 0, 1}
	for _, slot := range []uint64{0, 63, 64, 16383, 16384, 1 << 30, 1 << 40} {
		for layer := range int32(numLayers) {
			b := append(appendMediaHeader(nil, slot, layer), rtp...)
			require.LessOrEqual(t, len(b)-len(rtp), maxMediaHeaderSize)
			gotSlot, gotLayer, gotRTP, err := parseMedia(b)
			require.NoError(t, err)
			require.Equal(t, slot, gotSlot)
			require.Equal(t, layer, gotLayer)
			require.Equal(t, rtp, gotRTP)
		}
	}
	for name, b := range map[string][]byte{
		"empty":     nil,
		"data type": {dgData << 4},
		"bad layer": {dgMedia<<4 | 3, 1},
		"no slot":   {dgMedia << 4},
		"cut slot":  {dgMedia << 4, 0x80, 1},
	} {
		_, _, _, err := parseMedia(b)
		require.ErrorIs(t, err, ErrMalformed, name)
	}
	require.Zero(t, datagramType(nil))
}

func TestDataMessage(t *testing.T) {
	t.Parallel()
	in := DataMessage{Room: "room-1", Kind: 3, Payload: []byte("hello")}
	dg := appendDataDatagram(nil, &in)
	require.Equal(t, dgData, datagramType(dg))
	got, err := parseData(dg[1:], false)
	require.NoError(t, err)
	require.Equal(t, in, got)
	dg[len(dg)-1] = '!'
	require.Equal(t, []byte("hello"), got.Payload, "the payload is copied")

	_, err = parseData([]byte{1, 5, 'a'}, true)
	require.ErrorIs(t, err, ErrMalformed)
	_, err = parseData(nil, true)
	require.ErrorIs(t, err, ErrMalformed)
}
