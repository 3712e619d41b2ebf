package relay

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzDatagramHeader feeds arbitrary datagrams to the media and data parsers:
// they must never panic, and whatever parses must re-encode to a datagram
// that parses to the same values.
func FuzzDatagramHeader(f *testing.F) {
	f.Add(append(appendMediaHeader(nil, 5, 2), 0x80, 96, 0, 1))
	f.Add(append(appendMediaHeader(nil, 1<<20, 0), 0x80))
	f.Add(appendDataDatagram(nil, &DataMessage{Room: "r", Kind: 1, Payload: []byte("x")}))
	f.Add([]byte{})
	f.Add([]byte{0x13, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		switch datagramType(b) {
		case dgMedia:
			slot, layer, rtp, err := parseMedia(b)
			if err != nil {
				return
			}
			again := append(appendMediaHeader(nil, slot, layer), rtp...)
			slot2, layer2, rtp2, err := parseMedia(again)
			require.NoError(t, err)
			require.Equal(t, slot, slot2)
			require.Equal(t, layer, layer2)
			require.Equal(t, rtp, rtp2)
		case dgData:
			m, err := parseData(b[1:], false)
			if err != nil {
				return
			}
			again := appendDataDatagram(nil, &m)
			m2, err := parseData(again[1:], false)
			require.NoError(t, err)
			require.Equal(t, m, m2)
		default:
			_, _, _, err := parseMedia(b)
			require.ErrorIs(t, err, ErrMalformed)
		}
	})
}

// FuzzControlMessage feeds an arbitrary control stream to the frame reader
// and the message decoder: they must never panic, and every message that
// decodes must round-trip through its encoding.
func FuzzControlMessage(f *testing.F) {
	for _, m := range allMessages() {
		f.Add(appendMessage(nil, m))
	}
	f.Add([]byte{0})
	f.Add([]byte{0x80, 0x01, 0x00, 0x01})
	f.Add([]byte{2, 0x7F, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReader(bytes.NewReader(in))
		buf := make([]byte, maxFrameSize)
		for range 64 {
			frame, err := readFrame(r, buf)
			if err != nil {
				return
			}
			m, err := decodeMessage(frame[0], frame[1:])
			if err != nil || m == nil {
				continue
			}
			enc := appendMessage(nil, m)
			frame2, err := readFrame(bufio.NewReader(bytes.NewReader(enc)), make([]byte, maxFrameSize))
			require.NoError(t, err)
			m2, err := decodeMessage(frame2[0], frame2[1:])
			require.NoError(t, err)
			require.Equal(t, m, m2)
		}
	})
}
