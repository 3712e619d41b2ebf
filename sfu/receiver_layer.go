package sfu

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/edgemesh/edge/sfu/buffer"
)

// maxConsecutiveReadErrors ends a read loop that keeps failing without being
// closed, instead of spinning on a broken stream.
const maxConsecutiveReadErrors = 1000

// receiverLayer is one simulcast layer of a Receiver: the publisher's stream
// (one SSRC) and its receive buffer.
type receiverLayer struct {
	layer       int32
	ssrc        uint32
	rid         string
	track       *webrtc.TrackRemote
	rtpReceiver *webrtc.RTPReceiver
	buf         *buffer.Buffer
}

// stop unblocks the layer's read loops (which then see the receiver closed).
func (l *receiverLayer) stop(now time.Time) {
	_ = l.track.SetReadDeadline(now)
	if l.rtpReceiver != nil {
		_ = l.rtpReceiver.SetReadDeadlineSimulcast(now, l.rid)
	}
}

// AddLayer attaches the remote track of one simulcast layer (LayerLow for a
// single-layer track) and starts its RTP and RTCP read loops. Layers may
// arrive in any order. rtpReceiver may be nil (no RTCP loop, so no sender
// reports for A/V sync).
func (r *Receiver) AddLayer(layer int32, track *webrtc.TrackRemote, rtpReceiver *webrtc.RTPReceiver) error {
	if layer < 0 || layer >= NumLayers {
		return fmt.Errorf("add layer %d to %s: %w", layer, r.trackID, ErrInvalidLayer)
	}
	if track == nil {
		return fmt.Errorf("add layer %d to %s: nil track: %w", layer, r.trackID, ErrLayerNotFound)
	}
	if track.Kind() != r.kind {
		return fmt.Errorf("add layer %d to %s: %s track: %w", layer, r.trackID, track.Kind(), ErrKindMismatch)
	}
	l := &receiverLayer{
		layer:       layer,
		ssrc:        uint32(track.SSRC()),
		rid:         track.RID(),
		track:       track,
		rtpReceiver: rtpReceiver,
	}
	var audioExt uint8
	if r.kind == webrtc.RTPCodecTypeAudio {
		audioExt = r.audioExtID
	}
	l.buf = buffer.New(buffer.Params{
		SSRC:            l.ssrc,
		ClockRate:       r.codec.ClockRate,
		MimeType:        r.codec.MimeType,
		AudioLevelExtID: audioExt,
	})

	r.mu.Lock()
	if r.closed.Load() {
		r.mu.Unlock()
		return fmt.Errorf("add layer %d to %s: %w", layer, r.trackID, ErrReceiverClosed)
	}
	if r.layers[layer] != nil {
		r.mu.Unlock()
		return fmt.Errorf("add layer %d to %s: %w", layer, r.trackID, ErrLayerExists)
	}
	r.layers[layer] = l
	r.rtpLoops++
	r.loops++
	if rtpReceiver != nil {
		r.loops++
	}
	r.mu.Unlock()

	go r.rtpLoop(l)
	if rtpReceiver != nil {
		go r.rtcpLoop(l)
	}
	return nil
}

// rtpLoop reads the layer's RTP packets, buffers them and fans them out to
// every down-track, until the stream ends or the receiver closes. The first
// packet of a multi-packet video frame, fanned out to enough down-tracks that
// can hold their sends, starts a burst (forwardBurst): the frame's packets are
// forwarded with those sends held, so each subscriber gets the frame in one
// send.
func (r *Receiver) rtpLoop(l *receiverLayer) {
	defer r.loopEnded(true, true)
	pkt := make([]byte, maxPacketSize)
	isAudio := r.kind == webrtc.RTPCodecTypeAudio
	errs := 0
	var hold SendHold
	for {
		n, _, err := l.track.Read(pkt)
		if err != nil {
			if r.readLoopDone(err, &errs) {
				return
			}
			continue
		}
		if r.closed.Load() {
			return
		}
		errs = 0
		if isAudio || endsFrame(pkt[:n]) || r.sinks.Len() < BurstMinSinks {
			r.forward(l, pkt[:n], isAudio)
			continue
		}
		held := hold.Take(&r.sinks)
		r.forward(l, pkt[:n], false)
		if held >= BurstMinSinks {
			r.forwardBurst(l, pkt)
		}
		hold.Release()
	}
}

// endsFrame reports whether an RTP packet has the marker bit, which in video
// marks the last packet of a frame (RFC 3550 §5.1 and every video payload
// format).
func endsFrame(raw []byte) bool { return len(raw) > 1 && raw[1]&0x80 != 0 }

// forward buffers one packet of the layer and hands it to the sinks.
func (r *Receiver) forward(l *receiverLayer, raw []byte, isAudio bool) {
	r.counters.PacketsIn.Add(1)
	r.counters.BytesIn.Add(uint64(len(raw)))
	p, err := l.buf.Push(raw, time.Now())
	if err != nil {
		return // duplicate, too old or malformed: counted by the buffer
	}
	if isAudio && p.HasAudioLevel {
		r.audio.observe(p.AudioLevel, p.Arrival)
	}
	r.sinks.WriteRTP(p, l.layer)
}

// forwardBurst forwards the rest of a video frame: packets up to the one with
// the marker bit, which are queued already or follow within microseconds. A
// frame whose last packet is lost or late ends the burst at its deadline,
// BurstMaxHold after it started; so do burstMaxPackets packets. A read error
// ends the burst too: any but the timeout comes back to rtpLoop's blocking
// read.
func (r *Receiver) forwardBurst(l *receiverLayer, pkt []byte) {
	_ = l.track.SetReadDeadline(time.Now().Add(BurstMaxHold))
	for range burstMaxPackets {
		n, _, err := l.track.Read(pkt)
		if err != nil || r.closed.Load() {
			break
		}
		r.forward(l, pkt[:n], false)
		if endsFrame(pkt[:n]) {
			break
		}
	}
	_ = l.track.SetReadDeadline(time.Time{})
	if r.closed.Load() {
		l.stop(time.Now()) // Close's own deadline may have been cleared above
	}
}

// rtcpLoop reads the publisher's RTCP for the layer and records its sender
// reports (A/V sync), until the stream ends or the receiver closes.
func (r *Receiver) rtcpLoop(l *receiverLayer) {
	defer r.loopEnded(true, false)
	b := make([]byte, maxPacketSize)
	errs := 0
	for {
		n, _, err := l.rtpReceiver.ReadSimulcast(b, l.rid)
		if err != nil {
			if r.readLoopDone(err, &errs) {
				return
			}
			continue
		}
		errs = 0
		pkts, err := rtcp.Unmarshal(b[:n])
		if err != nil {
			continue
		}
		now := time.Now()
		for _, p := range pkts {
			if sr, ok := p.(*rtcp.SenderReport); ok && sr.SSRC == l.ssrc {
				l.buf.OnSenderReport(sr, now)
			}
		}
	}
}

// readLoopDone decides whether a read error ends a loop: closing, end of
// stream, or too many consecutive errors.
func (r *Receiver) readLoopDone(err error, consecutive *int) bool {
	if r.closed.Load() || errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
		return true
	}
	*consecutive++
	if *consecutive >= maxConsecutiveReadErrors {
		r.log.Warn().Err(err).Msg("read loop failing, giving up")
		return true
	}
	return false
}

// loopEnded is called when a read loop ends (isLoop; rtp says which kind) and
// at the end of Close. When the last RTP loop ends the publisher is gone and
// the receiver closes itself; once Close is done and no loop is left, OnClose
// runs.
func (r *Receiver) loopEnded(isLoop, rtp bool) {
	r.mu.Lock()
	if isLoop {
		r.loops--
		if rtp {
			r.rtpLoops--
		}
	}
	publisherGone := isLoop && rtp && r.rtpLoops == 0
	var f func()
	if r.closeDone && r.loops == 0 && !r.closeFired {
		r.closeFired = true
		f, r.onClose = r.onClose, nil
	}
	r.mu.Unlock()
	if publisherGone {
		r.Close() // no-op if already closed
	}
	if f != nil {
		f()
	}
}
