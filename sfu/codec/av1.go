package codec

// av1BitN is the N bit of the AV1 RTP aggregation header |Z|Y|W W|N|-|-|-|
// (AV1 RTP specification §4.4): set on the first packet of a coded video
// sequence, i.e. a keyframe that starts with a sequence header.
const av1BitN = 0x08

// isAV1Keyframe reports whether the aggregation header starts a new coded
// video sequence. A payload must carry at least one byte after the header.
func isAV1Keyframe(payload []byte) bool {
	return len(payload) >= 2 && payload[0]&av1BitN != 0
}
