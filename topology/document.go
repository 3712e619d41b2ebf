package topology

import "time"

// Document is the mesh as one edge sees it: the body of GET /admin/topology and what
// `edge topology` reads. Its JSON encoding is the wire format; fields are only ever added.
type Document struct {
	// Node is the id of the node that produced the document.
	Node string `json:"node"`
	// Generated is when the snapshot was taken.
	Generated time.Time `json:"generated"`
	// Mode is the relay route mode the mesh runs with (direct when empty).
	Mode Mode `json:"mode,omitempty"`
	// Nodes lists every node the producer knows of, dead ones included.
	Nodes []Node `json:"nodes"`
	// Links lists the measured links between nodes.
	Links []Link `json:"links"`
	// Rooms lists the rooms of the mesh with their participants per node.
	Rooms []Room `json:"rooms"`
	// Tracks lists the published tracks with their relay trees.
	Tracks []TrackRoute `json:"tracks"`
}

// State is a node's self-declared serving state.
type State string

const (
	// StateActive: the node accepts new participants.
	StateActive State = "active"
	// StateDraining: the node keeps its participants but must not be given new ones.
	StateDraining State = "draining"
	// StateLeaving: the node is about to leave the mesh.
	StateLeaving State = "leaving"
)

// Liveness is a node's membership state as seen by the producer of a snapshot.
type Liveness string

const (
	// Alive: a member in good standing. Only alive nodes are used for routes and listed as
	// nearest edges.
	Alive Liveness = "alive"
	// Suspect: still a member, but not answering probes.
	Suspect Liveness = "suspect"
	// Dead: declared failed.
	Dead Liveness = "dead"
	// Left: left the mesh gracefully.
	Left Liveness = "left"
)

// Node is one edge node.
type Node struct {
	ID     string `json:"id"`
	Region string `json:"region"`
	// State is what the node declares about itself (active, draining, leaving).
	State State `json:"state"`
	// Liveness is what the mesh observes about it (alive, suspect, dead, left).
	Liveness Liveness `json:"liveness"`
	// SignalURL is where clients reach the node's signaling (ws:// or wss://).
	SignalURL string `json:"signal_url,omitempty"`
	// RelayAddr is the node's QUIC relay address (host:port).
	RelayAddr string `json:"relay_addr,omitempty"`
	// Participants and Tracks count the participants connected to the node and the tracks they
	// publish.
	Participants int `json:"participants"`
	Tracks       int `json:"tracks"`
	// CPU is the node's process CPU use in percent of one machine (0–100).
	CPU float64 `json:"cpu_percent"`
	// UptimeSeconds is how long the node has been running (or, for a node the producer only
	// knows from membership, how long it has been a member).
	UptimeSeconds float64 `json:"uptime_seconds"`
}

// Live reports whether n may carry media: it is alive (suspect, dead and departed nodes are not).
func (n Node) Live() bool { return n.Liveness == Alive }

// Eligible reports whether n may take new work (new clients, or relaying as a region's hub):
// alive and active, not draining or leaving.
func (n Node) Eligible() bool { return n.Live() && n.State == StateActive }

// Uptime returns UptimeSeconds as a duration.
func (n Node) Uptime() time.Duration {
	return time.Duration(n.UptimeSeconds * float64(time.Second))
}

// Link is the measured path between two nodes. Links are undirected for routing: a link
// {A, B} also describes {B, A}.
type Link struct {
	From string `json:"from"`
	To   string `json:"to"`
	// RTTMillis is the latest round trip time in milliseconds (0 before the first measurement).
	RTTMillis float64 `json:"rtt_ms"`
	// LossPercent is the packet loss in percent (0–100); 100 marks the link as down.
	LossPercent float64 `json:"loss_percent"`
	// BytesPerSecFrom is the rate relayed from From to To, BytesPerSecTo the rate relayed from
	// To back to From, both in bytes per second.
	BytesPerSecFrom float64 `json:"bytes_per_sec_from"`
	BytesPerSecTo   float64 `json:"bytes_per_sec_to"`
}

// Down reports whether the link is measured as unusable (100 % loss).
func (l Link) Down() bool { return l.LossPercent >= 100 }

// Room is one room of the mesh.
type Room struct {
	Name string `json:"name"`
	// Participants maps a node id to the number of the room's participants connected to it.
	Participants map[string]int `json:"participants"`
}

// Total returns the number of the room's participants on all nodes.
func (r Room) Total() int {
	n := 0
	for _, c := range r.Participants {
		n += c
	}
	return n
}

// TrackRoute is one published track and the tree it is relayed along.
type TrackRoute struct {
	// Track is the track's sid.
	Track string `json:"track"`
	Room  string `json:"room"`
	// Kind is "audio" or "video" (empty if unknown).
	Kind string `json:"kind,omitempty"`
	// Publisher is the identity of the publishing participant, PublisherNode the node it is
	// connected to: the root of the relay tree.
	Publisher     string `json:"publisher"`
	PublisherNode string `json:"publisher_node"`
	// Edges are the relay hops of the tree (empty when no other node receives the track).
	Edges []Edge `json:"edges"`
}

// Edge is one relay hop: To pulls the track from From.
type Edge struct {
	From string `json:"from"`
	To   string `json:"to"`
}
