package codec

// RFC 6464 §3 one-byte ssrc-audio-level element: |V| level |.
const (
	audioLevelBitV  = 0x80
	audioLevelMask  = 0x7F
	audioLevelBytes = 1
)

// ParseAudioLevel parses the payload of an RFC 6464 client-to-mixer audio
// level header extension: level is 0..127 in -dBov (0 = loudest, 127 =
// silence) and voice is the V flag. It returns ErrShortPacket for an empty
// element. It does not allocate.
func ParseAudioLevel(ext []byte) (level uint8, voice bool, err error) {
	if len(ext) < audioLevelBytes {
		return 0, false, ErrShortPacket
	}
	return ext[0] & audioLevelMask, ext[0]&audioLevelBitV != 0, nil
}
