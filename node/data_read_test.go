package node

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// messageReader behaves like a detached pion data channel: whole messages per Read, and
// io.ErrShortBuffer (the message kept) when the buffer is too small.
type messageReader struct {
	msgs  [][]byte
	short int // reads answered with io.ErrShortBuffer
}

func (m *messageReader) Read(p []byte) (int, error) {
	if len(m.msgs) == 0 {
		return 0, io.EOF
	}
	if len(p) < len(m.msgs[0]) {
		m.short++
		return 0, io.ErrShortBuffer
	}
	n := copy(p, m.msgs[0])
	m.msgs = m.msgs[1:]
	return n, nil
}

func TestReadDataMessages(t *testing.T) {
	small := []byte("hello")
	large := bytes.Repeat([]byte{7}, 20_000)
	r := &messageReader{msgs: [][]byte{small, large, small}}
	var got [][]byte
	readDataMessages(r, func(msg []byte) { got = append(got, bytes.Clone(msg)) })
	require.Equal(t, [][]byte{small, large, small}, got, "every message, whatever its size, in order")
	require.Equal(t, 1, r.short, "the large message needed a second read")
}
