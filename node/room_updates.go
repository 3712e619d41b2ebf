package node

import (
	"slices"

	"github.com/livekit/protocol/livekit"
)

// updateSpeakers sends SpeakersChanged to everyone when the set or order of active speakers
// changes. Levels come from the audio-level header extension via each audio receiver.
func (r *Room) updateSpeakers() {
	parts := r.participantList()
	var active []*livekit.SpeakerInfo
	for _, p := range parts {
		if p.hidden() {
			continue
		}
		if level, speaking := p.audioLevel(); speaking {
			active = append(active, &livekit.SpeakerInfo{Sid: p.sid, Level: float32(level), Active: true})
		}
	}
	slices.SortFunc(active, func(a, b *livekit.SpeakerInfo) int {
		switch {
		case a.Level > b.Level:
			return -1
		case a.Level < b.Level:
			return 1
		}
		return 0
	})
	r.mu.Lock()
	last := r.lastActive
	changed := speakersChanged(last, active)
	if changed {
		r.lastActive = active
	}
	r.mu.Unlock()
	if !changed {
		return
	}
	update := slices.Clone(active)
	for _, s := range last {
		if !slices.ContainsFunc(active, func(a *livekit.SpeakerInfo) bool { return a.Sid == s.Sid }) {
			update = append(update, &livekit.SpeakerInfo{Sid: s.Sid, Level: 0, Active: false})
		}
	}
	msg := &livekit.SignalResponse{Message: &livekit.SignalResponse_SpeakersChanged{
		SpeakersChanged: &livekit.SpeakersChanged{Speakers: update}}}
	for _, p := range parts {
		p.sendSignal(msg)
	}
}

// speakersChanged compares two ordered speaker lists by sid (levels jitter constantly; only the
// set and order matter to clients).
func speakersChanged(a, b []*livekit.SpeakerInfo) bool {
	if len(a) != len(b) {
		return true
	}
	for i := range a {
		if a[i].Sid != b[i].Sid {
			return true
		}
	}
	return false
}

// qualityFor maps packet loss (0..1) to LiveKit's connection quality scale.
func qualityFor(loss float64) (livekit.ConnectionQuality, float32) {
	switch {
	case loss < 0.02:
		return livekit.ConnectionQuality_EXCELLENT, 5 - float32(loss*50)
	case loss < 0.10:
		return livekit.ConnectionQuality_GOOD, 4 - float32((loss-0.02)*12.5)
	default:
		return livekit.ConnectionQuality_POOR, 2
	}
}

// updateQuality sends every participant the connection quality of everyone it can see.
func (r *Room) updateQuality() {
	parts := r.participantList()
	if len(parts) == 0 {
		return
	}
	infos := make([]*livekit.ConnectionQualityInfo, 0, len(parts))
	for _, p := range parts {
		q, score := qualityFor(p.packetLoss())
		infos = append(infos, &livekit.ConnectionQualityInfo{ParticipantSid: p.sid, Quality: q, Score: score})
	}
	msg := &livekit.SignalResponse{Message: &livekit.SignalResponse_ConnectionQuality{
		ConnectionQuality: &livekit.ConnectionQualityUpdate{Updates: infos}}}
	for _, p := range parts {
		p.sendSignal(msg)
	}
}

// packetLoss is the loss on the media the participant publishes (0..1), traffic-weighted over
// its tracks, for connection-quality reports. Receiver.Stats starts a new interval on every call,
// and this two-second tick is its only caller.
func (p *Participant) packetLoss() float64 {
	var lost, total float64
	for _, t := range p.publishedList() {
		st := t.receiver.Stats()
		w := st.Bitrate
		if w <= 0 {
			w = 1
		}
		lost += st.FractionLost * w
		total += w
	}
	if total == 0 {
		return 0
	}
	return lost / total
}
