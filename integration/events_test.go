package integration

import (
	"slices"
	"sync"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
)

// receivedData is one data packet delivered to a client.
type receivedData struct {
	from    string
	topic   string
	payload string // user packet payload or chat message text
	chat    bool
}

// events records what the SDK reported to one client through its callbacks.
//
// Concurrency: SDK callbacks run on SDK goroutines; every method takes mu, never blocks and
// never calls back into the SDK.
type events struct {
	mu sync.Mutex // guards all fields below

	connected          []string // remote identities that joined
	disconnected       []string // remote identities that left
	published          []string // remote track sids announced
	muted              []string // remote track sids muted
	unmuted            []string // remote track sids unmuted
	metadataChanged    []string // remote identities whose metadata changed
	attributesChanged  []string // remote identities whose attributes changed
	data               []receivedData
	reconnecting       int
	reconnected        int
	selfDisconnected   int
	localUnpublished   []string // own track sids the SDK unpublished (e.g. for a full rejoin)
	subscriptionFailed []string
	tracks             map[string]*trackRecorder // by track sid: the latest subscription
	allTracks          []*trackRecorder          // every recorder ever started
}

func newEvents() *events {
	return &events{tracks: make(map[string]*trackRecorder)}
}

// callbacks returns the RoomCallback that feeds e.
func (e *events) callbacks() *lksdk.RoomCallback {
	cb := &lksdk.RoomCallback{
		OnParticipantConnected: func(rp *lksdk.RemoteParticipant) {
			e.add(&e.connected, rp.Identity())
		},
		OnParticipantDisconnected: func(rp *lksdk.RemoteParticipant) {
			e.add(&e.disconnected, rp.Identity())
		},
		OnReconnecting: func() { e.bump(&e.reconnecting) },
		OnReconnected:  func() { e.bump(&e.reconnected) },
		OnDisconnected: func() { e.bump(&e.selfDisconnected) },
	}
	cb.OnTrackSubscribed = e.onTrackSubscribed
	cb.OnTrackPublished = func(pub *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
		e.add(&e.published, pub.SID())
	}
	cb.OnTrackMuted = func(pub lksdk.TrackPublication, p lksdk.Participant) {
		if _, remote := p.(*lksdk.RemoteParticipant); remote {
			e.add(&e.muted, pub.SID())
		}
	}
	cb.OnTrackUnmuted = func(pub lksdk.TrackPublication, p lksdk.Participant) {
		if _, remote := p.(*lksdk.RemoteParticipant); remote {
			e.add(&e.unmuted, pub.SID())
		}
	}
	cb.OnMetadataChanged = func(_ string, p lksdk.Participant) {
		if _, remote := p.(*lksdk.RemoteParticipant); remote {
			e.add(&e.metadataChanged, p.Identity())
		}
	}
	cb.OnAttributesChanged = func(_ map[string]string, p lksdk.Participant) {
		if _, remote := p.(*lksdk.RemoteParticipant); remote {
			e.add(&e.attributesChanged, p.Identity())
		}
	}
	cb.OnLocalTrackUnpublished = func(pub *lksdk.LocalTrackPublication, _ *lksdk.LocalParticipant) {
		e.add(&e.localUnpublished, pub.SID())
	}
	cb.OnTrackSubscriptionFailed = func(sid string, _ *lksdk.RemoteParticipant) {
		e.add(&e.subscriptionFailed, sid)
	}
	cb.OnDataPacket = e.onDataPacket
	return cb
}

func (e *events) onTrackSubscribed(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	r := newTrackRecorder(pub.Kind(), pub.SID(), rp.Identity())
	e.mu.Lock()
	e.tracks[pub.SID()] = r // a re-subscription replaces the recorder of that sid
	e.allTracks = append(e.allTracks, r)
	e.mu.Unlock()
	go r.run(track)
}

func (e *events) onDataPacket(p lksdk.DataPacket, params lksdk.DataReceiveParams) {
	var d receivedData
	switch m := p.(type) {
	case *lksdk.UserDataPacket:
		d = receivedData{from: params.SenderIdentity, topic: m.Topic, payload: string(m.Payload)}
	case *livekit.ChatMessage:
		d = receivedData{from: params.SenderIdentity, payload: m.Message, chat: true}
	default:
		return
	}
	e.mu.Lock()
	e.data = append(e.data, d)
	e.mu.Unlock()
}

func (e *events) add(list *[]string, v string) {
	e.mu.Lock()
	*list = append(*list, v)
	e.mu.Unlock()
}

func (e *events) bump(n *int) {
	e.mu.Lock()
	*n++
	e.mu.Unlock()
}

// has reports whether list (a field of e) contains v.
func (e *events) has(list *[]string, v string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Contains(*list, v)
}

// get reads a counter field of e.
func (e *events) get(n *int) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return *n
}

// list returns a copy of a list field of e.
func (e *events) list(l *[]string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(*l)
}

// recorder returns the recorder of subscribed track sid, nil if not subscribed.
func (e *events) recorder(sid string) *trackRecorder {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tracks[sid]
}

// recorders returns every recorder started so far.
func (e *events) recorders() []*trackRecorder {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.allTracks)
}

// received returns every data packet received so far, in arrival order.
func (e *events) received() []receivedData {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.data)
}

// dataWith returns the received data packets whose payload is payload.
func (e *events) dataWith(payload string) []receivedData {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []receivedData
	for _, d := range e.data {
		if d.payload == payload {
			out = append(out, d)
		}
	}
	return out
}
