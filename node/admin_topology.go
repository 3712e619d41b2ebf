package node

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"

	"github.com/edgemesh/edge/gossip"
	"github.com/edgemesh/edge/topology"
)

// localView is what one edge knows first-hand: its links to the other edges (relay link stats,
// or the gossip probe round trip where no relay link exists yet) and the tracks it pulls over
// the relay. GET /admin/topology on any edge merges every live edge's local view.
type localView struct {
	Node   string          `json:"node"`
	Links  []topology.Link `json:"links"`
	Pulled []pulledTrack   `json:"pulled"`
}

type pulledTrack struct {
	Track string `json:"track"`
	From  string `json:"from"`
}

// linkRates turns relay byte counters into rates between calls.
type linkRates struct {
	mu   sync.Mutex // guards last
	last map[string]rateSample
}

type rateSample struct {
	at       time.Time
	sent     uint64
	received uint64
	rateOut  float64
	rateIn   float64
}

func (l *linkRates) update(peer string, sent, received uint64, now time.Time) (out, in float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = map[string]rateSample{}
	}
	s, ok := l.last[peer]
	if ok && now.Sub(s.at) < 500*time.Millisecond {
		return s.rateOut, s.rateIn
	}
	next := rateSample{at: now, sent: sent, received: received}
	if ok && sent >= s.sent && received >= s.received {
		dt := now.Sub(s.at).Seconds()
		next.rateOut, next.rateIn = float64(sent-s.sent)/dt, float64(received-s.received)/dt
	}
	l.last[peer] = next
	return next.rateOut, next.rateIn
}

// localView collects this edge's first-hand view.
func (m *mesh) localView() localView {
	v := localView{Node: m.n.cfg.NodeID}
	now := time.Now()
	withRelay := map[string]bool{}
	for _, p := range m.relay.Stats().Peers {
		if !p.Connected {
			continue
		}
		withRelay[p.NodeID] = true
		sent := p.Sent.Audio + p.Sent.Data
		recv := p.Received.Audio + p.Received.Data
		for l := range p.Sent.Video {
			sent += p.Sent.Video[l]
			recv += p.Received.Video[l]
		}
		out, in := m.rates.update(p.NodeID, sent, recv, now)
		loss := 0.0
		if p.LostPackets > 0 && p.NACKsSent > 0 {
			loss = 100 * float64(p.LostPackets) / float64(p.LostPackets+p.NACKsSent+1000)
		}
		v.Links = append(v.Links, topology.Link{From: v.Node, To: p.NodeID,
			RTTMillis: float64(p.RTT) / float64(time.Millisecond), LossPercent: loss,
			BytesPerSecFrom: out, BytesPerSecTo: in})
	}
	for _, ni := range m.cluster.Nodes() {
		if ni.Local || withRelay[ni.ID] || ni.Liveness != gossip.Alive || ni.RTT == 0 {
			continue
		}
		v.Links = append(v.Links, topology.Link{From: v.Node, To: ni.ID,
			RTTMillis: float64(ni.RTT) / float64(time.Millisecond)})
	}
	m.pullMu.Lock()
	for track, from := range m.pulled {
		v.Pulled = append(v.Pulled, pulledTrack{Track: track, From: from})
	}
	m.pullMu.Unlock()
	return v
}

// notePulled records that this edge pulls a track from another edge, until the relay copy ends.
func (m *mesh) notePulled(track, from string, done <-chan struct{}) {
	m.pullMu.Lock()
	m.pulled[track] = from
	m.pullMu.Unlock()
	if !m.n.goAdd() {
		return
	}
	go func() {
		defer m.n.wg.Done()
		select {
		case <-done:
		case <-m.stop:
		}
		m.pullMu.Lock()
		if m.pulled[track] == from {
			delete(m.pulled, track)
		}
		m.pullMu.Unlock()
	}()
}

// handleAdminTopology serves the mesh as topology.Document: nodes, links, rooms and relay trees.
// With ?local=1 it serves only this edge's first-hand view (what other edges merge).
func (n *Node) handleAdminTopology(w http.ResponseWriter, r *http.Request) {
	if !n.adminAuth(w, r) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Query().Get("local") == "1" {
		v := localView{Node: n.cfg.NodeID}
		if n.mesh != nil {
			v = n.mesh.localView()
		}
		_ = json.NewEncoder(w).Encode(v)
		return
	}
	_ = topology.RenderJSON(w, n.topologyDocument(r.Context()))
}

// adminAuth checks a token with roomList or roomAdmin; it writes the error itself.
func (n *Node) adminAuth(w http.ResponseWriter, r *http.Request) bool {
	g, err := n.keys.verify(tokenFromRequest(r))
	if err == nil && (g.Video == nil || !(g.Video.RoomList || g.Video.RoomAdmin)) {
		err = ErrPermissionDenied
	}
	if err != nil {
		n.metrics.authFailures.Inc()
		writeError(w, err)
		return false
	}
	return true
}

// topologyDocument assembles the mesh view, asking every live edge for its local view.
func (n *Node) topologyDocument(ctx context.Context) topology.Document {
	doc := topology.Document{Node: n.cfg.NodeID, Generated: time.Now(), Mode: n.relayMode()}
	if n.mesh == nil {
		l := n.load()
		doc.Nodes = []topology.Node{{ID: n.cfg.NodeID, Region: n.cfg.Region, State: topology.StateActive,
			Liveness: topology.Alive, SignalURL: n.signalURL(), Participants: int(l.Participants),
			Tracks: int(l.Tracks), CPU: l.CPU, UptimeSeconds: time.Since(n.started).Seconds()}}
		for _, r := range n.roomList() {
			doc.Rooms = append(doc.Rooms, topology.Room{Name: r.name,
				Participants: map[string]int{n.cfg.NodeID: len(r.participantList())}})
		}
		return doc
	}
	m := n.mesh
	now := time.Now()
	var alive []gossip.NodeInfo
	for _, ni := range m.cluster.Nodes() {
		up := 0.0
		if ni.Meta.Epoch > 0 {
			up = now.Sub(time.Unix(0, int64(ni.Meta.Epoch))).Seconds()
		}
		doc.Nodes = append(doc.Nodes, topology.Node{ID: ni.ID, Region: ni.Meta.Region,
			State: topology.State(ni.Meta.State.String()), Liveness: topology.Liveness(ni.Liveness.String()),
			SignalURL: ni.Meta.SignalURL, RelayAddr: ni.Meta.RelayAddr,
			Participants: int(ni.Meta.Load.Participants), Tracks: int(ni.Meta.Load.Tracks),
			CPU: ni.Meta.Load.CPU, UptimeSeconds: up})
		if ni.Liveness == gossip.Alive {
			alive = append(alive, ni)
		}
	}
	views := n.gatherViews(ctx, alive)
	pulledBy := map[string][]topology.Edge{}
	for _, v := range views {
		doc.Links = append(doc.Links, v.Links...)
		for _, p := range v.Pulled {
			pulledBy[p.Track] = append(pulledBy[p.Track], topology.Edge{From: p.From, To: v.Node})
		}
	}
	for _, re := range m.dir.Rooms() {
		room := topology.Room{Name: re.Room.Name, Participants: map[string]int{}}
		for _, e := range m.dir.Participants(re.Room.Name) {
			room.Participants[e.NodeID]++
			for _, t := range e.Info.Tracks {
				kind := "audio"
				if t.Type == livekit.TrackType_VIDEO {
					kind = "video"
				}
				doc.Tracks = append(doc.Tracks, topology.TrackRoute{Track: t.Sid, Room: re.Room.Name, Kind: kind,
					Publisher: e.Info.Identity, PublisherNode: e.NodeID, Edges: pulledBy[t.Sid]})
			}
		}
		doc.Rooms = append(doc.Rooms, room)
	}
	return doc
}

// gatherViews fetches every live edge's local view in parallel (this edge's directly).
func (n *Node) gatherViews(ctx context.Context, alive []gossip.NodeInfo) []localView {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out := make([]localView, len(alive))
	var wg sync.WaitGroup
	for i, ni := range alive {
		if ni.Local {
			out[i] = n.mesh.localView()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := n.fetchView(ctx, ni)
			if err != nil {
				n.log.Debug().Err(err).Str("edge", ni.ID).Msg("topology: no local view")
				return
			}
			out[i] = v
		}()
	}
	wg.Wait()
	return out
}

func (n *Node) fetchView(ctx context.Context, ni gossip.NodeInfo) (localView, error) {
	var v localView
	tok, err := n.serviceToken("")
	if err != nil {
		return v, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, httpURL(ni.Meta.SignalURL)+"/admin/topology?local=1", nil)
	if err != nil {
		return v, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := n.httpClient.Do(req)
	if err != nil {
		return v, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return v, &httpStatusError{code: res.StatusCode}
	}
	err = json.NewDecoder(http.MaxBytesReader(nil, res.Body, 1<<20)).Decode(&v)
	return v, err
}

type httpStatusError struct{ code int }

func (e *httpStatusError) Error() string { return "HTTP " + http.StatusText(e.code) }
