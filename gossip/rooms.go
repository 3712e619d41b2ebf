package gossip

import (
	"slices"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// Rooms are global: the same room name on three edges is one room. Each node hosting a room
// (it has local participants, or it created the room) asserts its own room entry, owned and
// versioned like any entry; the room exists while any node asserts it. The merged view is:
//
//   - identity (sid, creation time, timeouts, max participants) from the entry created first
//     (lowest creation time in ms, then lowest node id), so every node converges on one sid
//     and a node joining an existing room adopts it (Directory.Room before creating);
//   - metadata from the entry with the highest metadata stamp (then highest node id): last
//     writer wins across nodes. Stamps are hybrid logical clocks (wall-clock nanoseconds, but
//     always above every stamp seen), so a later write beats an earlier one despite skew.
//
// Metadata changes only through SetRoomMetadata. PutRoom uses room.Metadata only when no node
// hosts the room yet; otherwise the entry takes the current merged metadata. Whenever another
// node's metadata wins, every hosting node copies it (with the winning stamp) into its own
// entry, so the value survives the writer's departure.

// roomCreatedMs is an entry's creation time in ms (0 sorts last).
func roomCreatedMs(r *livekit.Room) int64 {
	switch {
	case r.CreationTimeMs > 0:
		return r.CreationTimeMs
	case r.CreationTime > 0:
		return r.CreationTime * 1000
	}
	return 1<<63 - 1
}

// mergeRoom computes the merged view of a room from its live entries by owner; nil if none.
func mergeRoom(entries map[string]*record) *RoomEntry {
	if len(entries) == 0 {
		return nil
	}
	var canon, meta *record
	nodes := make([]string, 0, len(entries))
	for owner, r := range entries {
		nodes = append(nodes, owner)
		if canon == nil || roomCreatedMs(r.room) < roomCreatedMs(canon.room) ||
			(roomCreatedMs(r.room) == roomCreatedMs(canon.room) && owner < canon.owner) {
			canon = r
		}
	}
	meta = metaWinner(entries)
	slices.Sort(nodes)
	room := proto.CloneOf(canon.room)
	room.Metadata = meta.room.Metadata
	return &RoomEntry{Room: room, NodeID: canon.owner, Nodes: nodes}
}

// metaWinner is the entry whose metadata wins: highest stamp, then highest owner.
func metaWinner(entries map[string]*record) *record {
	var w *record
	for owner, r := range entries {
		if w == nil || r.stamp > w.stamp || (r.stamp == w.stamp && owner > w.owner) {
			w = r
		}
	}
	return w
}

// sameRoomView reports whether two merged views are equal.
func sameRoomView(a, b *RoomEntry) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.NodeID == b.NodeID && slices.Equal(a.Nodes, b.Nodes) && proto.Equal(a.Room, b.Room)
}

// roomForWire is the part of a node's room that is replicated: node-local fields (codecs, TURN
// password, counts, version) are left out; counts are computed from the directory.
func roomForWire(r *livekit.Room) *livekit.Room {
	return &livekit.Room{
		Sid:              r.Sid,
		Name:             r.Name,
		EmptyTimeout:     r.EmptyTimeout,
		DepartureTimeout: r.DepartureTimeout,
		MaxParticipants:  r.MaxParticipants,
		CreationTime:     r.CreationTime,
		CreationTimeMs:   r.CreationTimeMs,
		Metadata:         r.Metadata,
		ActiveRecording:  r.ActiveRecording,
	}
}

// withCounts returns a copy of e whose room carries mesh-wide participant counts.
func withCounts(e *RoomEntry, ri *roomIndex) RoomEntry {
	out := *e
	out.Room = proto.CloneOf(e.Room)
	out.Nodes = slices.Clone(e.Nodes)
	if ri == nil {
		return out
	}
	for _, p := range ri.parts {
		out.Room.NumParticipants++
		if p.part.IsPublisher || len(p.part.Tracks) > 0 {
			out.Room.NumPublishers++
		}
	}
	return out
}
