package relay

import (
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/edgemesh/edge/sfu"
	"github.com/edgemesh/edge/sfu/buffer"
)

// layerHold holds the sends of a relayed video layer's down-tracks while a frame arrives, so
// each local subscriber gets the frame in one send (sfu.SendHold, sfu.SendBatcher): taken at
// a frame's first packet, released at its last (the marker bit), or by the timer when that
// packet is lost or late. Guarded by remoteLayer.mu, like the ingest that uses it.
type layerHold struct {
	hold  sfu.SendHold
	since time.Time   // when the hold was taken
	timer *time.Timer // releases a hold still taken sfu.BurstMaxHold after since
}

// beginFrame takes the layer's hold before packet p is fanned out, if p starts a
// multi-packet video frame and enough sinks can hold their sends. Called with rl.mu held.
func (rt *RemoteTrack) beginFrame(rl *remoteLayer, p *buffer.ExtPacket, now time.Time) {
	h := &rl.hold
	if rt.kind != webrtc.RTPCodecTypeVideo || p.Header.Marker || h.hold.Held() ||
		rt.sinks.Len() < sfu.BurstMinSinks {
		return
	}
	if h.hold.Take(&rt.sinks) < sfu.BurstMinSinks {
		h.hold.Release()
		return
	}
	h.since = now
	if h.timer == nil {
		h.timer = time.AfterFunc(sfu.BurstMaxHold, func() { rt.holdExpired(rl) })
	} else {
		h.timer.Reset(sfu.BurstMaxHold)
	}
}

// endFrame releases the layer's hold after packet p was fanned out, if p ends the frame.
// Called with rl.mu held.
func (rt *RemoteTrack) endFrame(rl *remoteLayer, p *buffer.ExtPacket) {
	if p.Header.Marker && rl.hold.hold.Held() {
		rl.releaseHold()
	}
}

// releaseHold ends the layer's hold, if taken: the held sends go out. Called with rl.mu held.
func (rl *remoteLayer) releaseHold() {
	rl.hold.hold.Release()
	if rl.hold.timer != nil {
		rl.hold.timer.Stop()
	}
}

// holdExpired releases a hold whose frame did not end in time. A timer that fires for a hold
// already released and taken again finds the new one too young and leaves it.
func (rt *RemoteTrack) holdExpired(rl *remoteLayer) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.hold.hold.Held() && time.Since(rl.hold.since) >= sfu.BurstMaxHold {
		rl.releaseHold()
	}
}

// releaseHolds ends every layer's hold (the track closed).
func (rt *RemoteTrack) releaseHolds() {
	for i := range rt.layers {
		rl := &rt.layers[i]
		rl.mu.Lock()
		rl.releaseHold()
		rl.mu.Unlock()
	}
}
