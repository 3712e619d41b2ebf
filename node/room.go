package node

import (
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/utils/guid"
	"github.com/rs/zerolog"
)

var errRoomClosed = errors.New("room closed")

// Room is one room as seen by this node: its participants and their tracks. A single mutex
// guards the participant map and room fields; participants have their own locks and are never
// called with the room lock held.
type Room struct {
	node      *Node
	name      string
	sid       string
	createdAt time.Time
	log       zerolog.Logger

	mu              sync.Mutex // guards the fields below
	metadata        string
	emptyTimeout    time.Duration
	maxParticipants uint32
	participants    map[string]*Participant       // by identity
	remote          map[string]*remoteParticipant // on other edges, by identity
	closed          bool
	emptyTimer      *time.Timer
	lastActive      []*livekit.SpeakerInfo
	stop            chan struct{}
}

func newRoom(n *Node, name string) *Room {
	r := &Room{
		node:         n,
		name:         name,
		sid:          guid.New("RM_"),
		createdAt:    time.Now(),
		log:          n.log.With().Str("room", name).Logger(),
		emptyTimeout: n.cfg.EmptyRoomTimeout,
		participants: make(map[string]*Participant),
		remote:       make(map[string]*remoteParticipant),
		stop:         make(chan struct{}),
	}
	n.wg.Add(1)
	go func() { defer n.wg.Done(); r.tickLoop() }()
	return r
}

// toProto is the room's LiveKit representation.
func (r *Room) toProto() *livekit.Room {
	r.mu.Lock()
	defer r.mu.Unlock()
	numPub := uint32(0)
	for _, p := range r.participants {
		if p.isPublisher() {
			numPub++
		}
	}
	return &livekit.Room{
		Sid:             r.sid,
		Name:            r.name,
		EmptyTimeout:    uint32(r.emptyTimeout / time.Second),
		MaxParticipants: r.maxParticipants,
		CreationTime:    r.createdAt.Unix(),
		CreationTimeMs:  r.createdAt.UnixMilli(),
		Metadata:        r.metadata,
		NumParticipants: uint32(len(r.participants) + len(r.remote)),
		NumPublishers:   numPub,
		EnabledCodecs:   enabledCodecs(),
	}
}

func enabledCodecs() []*livekit.Codec {
	var out []*livekit.Codec
	for _, c := range supportedCodecs() {
		out = append(out, &livekit.Codec{Mime: c.MimeType, FmtpLine: c.SDPFmtpLine})
	}
	return out
}

// addParticipant inserts p, replacing (and disconnecting) a participant with the same identity.
func (r *Room) addParticipant(p *Participant) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return errRoomClosed
	}
	if r.maxParticipants > 0 && uint32(len(r.participants)) >= r.maxParticipants {
		r.mu.Unlock()
		return ErrPermissionDenied
	}
	old := r.participants[p.identity]
	r.participants[p.identity] = p
	if r.emptyTimer != nil {
		r.emptyTimer.Stop()
		r.emptyTimer = nil
	}
	r.mu.Unlock()
	if old != nil {
		old.close(livekit.DisconnectReason_DUPLICATE_IDENTITY, true)
		r.onParticipantGone(old)
	}
	r.node.metrics.participants.Inc()
	return nil
}

// participants returns a snapshot of the room's participants.
func (r *Room) participantList() []*Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Participant, 0, len(r.participants))
	for _, p := range r.participants {
		out = append(out, p)
	}
	return out
}

func (r *Room) participant(identity string) *Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.participants[identity]
}

func (r *Room) participantBySid(sid string) *Participant {
	for _, p := range r.participantList() {
		if p.sid == sid {
			return p
		}
	}
	return nil
}

// others returns every participant but p.
func (r *Room) others(p *Participant) []*Participant {
	all := r.participantList()
	return slices.DeleteFunc(all, func(o *Participant) bool { return o == p })
}

// visibleInfos returns the participant infos that p should see (not itself, not hidden), on
// this edge and on every other.
func (r *Room) visibleInfos(p *Participant) []*livekit.ParticipantInfo {
	var out []*livekit.ParticipantInfo
	for _, o := range r.others(p) {
		if o.hidden() {
			continue
		}
		out = append(out, o.info())
	}
	for _, rp := range r.remoteList() {
		if !hiddenInfo(rp.info) && rp.info.Identity != p.identity {
			out = append(out, rp.info)
		}
	}
	return out
}

// broadcastParticipant sends p's current info to everyone else in the room.
func (r *Room) broadcastParticipant(p *Participant) {
	if p.hidden() {
		return
	}
	info := p.info()
	for _, o := range r.others(p) {
		o.sendSignal(&livekit.SignalResponse{Message: &livekit.SignalResponse_Update{
			Update: &livekit.ParticipantUpdate{Participants: []*livekit.ParticipantInfo{info}}}})
	}
}

// removeParticipant takes p out of the room (it left, was removed, or did not come back).
func (r *Room) removeParticipant(p *Participant, reason livekit.DisconnectReason) {
	r.mu.Lock()
	if r.participants[p.identity] != p {
		r.mu.Unlock()
		p.close(reason, true)
		return
	}
	delete(r.participants, p.identity)
	r.mu.Unlock()
	p.close(reason, reason != livekit.DisconnectReason_CLIENT_INITIATED)
	r.onParticipantGone(p)
}

// onParticipantGone tells the others and arms the empty-room timer.
func (r *Room) onParticipantGone(p *Participant) {
	r.node.metrics.participants.Dec()
	r.node.mesh.unpublishParticipant(p)
	r.broadcastParticipant(p)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.participants) == 0 && !r.closed && r.emptyTimer == nil {
		timeout := r.emptyTimeout
		if timeout <= 0 {
			timeout = time.Second
		}
		r.emptyTimer = time.AfterFunc(timeout, r.closeIfEmpty)
	}
}

func (r *Room) closeIfEmpty() {
	r.mu.Lock()
	empty := len(r.participants) == 0
	r.mu.Unlock()
	if empty {
		r.close(livekit.DisconnectReason_ROOM_CLOSED)
	}
}

// close disconnects everyone and forgets the room.
func (r *Room) close(reason livekit.DisconnectReason) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	if r.emptyTimer != nil {
		r.emptyTimer.Stop()
	}
	parts := make([]*Participant, 0, len(r.participants))
	for _, p := range r.participants {
		parts = append(parts, p)
	}
	r.participants = map[string]*Participant{}
	close(r.stop)
	r.mu.Unlock()
	// In parallel: each close may wait up to a second for its leave to go out.
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.close(reason, true)
			r.node.metrics.participants.Dec()
		}()
	}
	wg.Wait()
	r.node.mesh.unpublishRoom(r)
	r.node.removeRoom(r)
}

// setMetadata updates the room metadata mesh-wide and tells every local participant.
func (r *Room) setMetadata(md string) {
	r.setMetadataLocal(md)
	if m := r.node.mesh; m != nil {
		if err := m.dir.SetRoomMetadata(r.name, md); err != nil {
			r.log.Warn().Err(err).Msg("directory room metadata")
		}
	}
}

// setMetadataLocal updates the room metadata on this edge and tells its participants.
func (r *Room) setMetadataLocal(md string) {
	r.mu.Lock()
	r.metadata = md
	r.mu.Unlock()
	room := r.toProto()
	for _, p := range r.participantList() {
		p.sendSignal(&livekit.SignalResponse{Message: &livekit.SignalResponse_RoomUpdate{
			RoomUpdate: &livekit.RoomUpdate{Room: room}}})
	}
}

// tickLoop sends speaker and connection-quality updates.
func (r *Room) tickLoop() {
	speakers := time.NewTicker(300 * time.Millisecond)
	quality := time.NewTicker(2 * time.Second)
	defer speakers.Stop()
	defer quality.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-speakers.C:
			r.updateSpeakers()
		case <-quality.C:
			r.updateQuality()
		}
	}
}
