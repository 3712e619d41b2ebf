// Package gossip is the edge mesh's cluster membership and replicated room directory, built on
// hashicorp/memberlist (SWIM failure detection, gossip dissemination, push/pull state sync).
// There is no central store: every node holds the whole directory and converges by gossip.
//
// # Membership
//
// A Cluster is one node's membership. Nodes advertise NodeMeta (region, signaling URL, relay
// address, draining state, load, directory epoch) as memberlist node metadata, at most 512
// bytes in a versioned compact encoding. Nodes reports every node with its Liveness (alive,
// suspect, dead, left), RTT and metadata; SubscribeNodes streams the changes. Timings are tuned
// so that a killed node is declared dead within a few seconds (see Config). All gossip is
// encrypted and authenticated with the 32-byte cluster key (AES-256-GCM, memberlist keyring,
// verification of incoming and outgoing messages enforced) unless Config.Dev.
//
// # Directory model
//
// Ownership. Every directory entry — a node's room entry, a participant with its published
// tracks — is owned by the node where it lives: the participant's connection, the room's host.
// Only the owner writes an entry (Directory.Put*/Remove*). Entries are keyed by (owner, kind,
// room, identity), so two owners never write the same entry; the same identity on two nodes
// (a reconnect to another edge) shows up twice until the old owner removes it.
//
// Versions. Each write carries the owner's version (epoch, seq): epoch is the owner's
// incarnation (its start time in ns by default), seq a counter the owner increments for every
// write. Versions of one owner are totally ordered, so the newest write wins everywhere,
// whatever order deltas arrive in: an older or duplicate delta is ignored. A restarted owner has a
// higher epoch; the first time a node sees it (in a record or in the owner's NodeMeta) it drops
// every entry of the older epoch.
//
// Tombstones. A removal is a write too (a tombstone with its own version), kept for
// TombstoneTTL (≥ 60 s), so a late or replayed update older than the removal cannot resurrect
// the entry. After expiry the owner itself guards its entries: if it sees a copy of an entry of
// its own that it does not hold, it refutes it with a fresh tombstone.
//
// Departed owners. When membership declares a node dead or left, every node drops all of its
// entries (events with CauseNodeFailed or CauseNodeLeft) and refuses that epoch's records until
// the node is alive again (a healed partition), at which point a full exchange with it restores
// its entries. Entries of an owner that membership never lists alive are dropped after
// OrphanGrace.
//
// Rooms are global; how per-node room entries merge into one room is described in rooms.go.
//
// # Dissemination and anti-entropy
//
// A write is broadcast as a delta through memberlist's TransmitLimitedQueue, named after its
// entry so a newer delta replaces a queued older one; nodes re-broadcast deltas that were new
// to them, so updates spread epidemically in a few gossip rounds. Deltas too large for a packet
// go to every member over reliable streams. Push/pull anti-entropy exchanges per-owner digests
// every PushPullInterval and full state only on join, rejoin and detected divergence (see
// antientropy.go): it repairs whatever a broadcast missed.
//
// # Wire format and bad input
//
// Directory messages are a version byte, a type byte and protobuf-wire fields with livekit
// protocol messages (Room, ParticipantInfo) embedded (wire.go). Everything received is
// validated; malformed messages are dropped and counted (Stats), never trusted or panicked on.
//
// # Concurrency
//
// memberlist calls the delegates from its receive paths, event delegates with its node lock
// held. They only decode, merge in memory under the Directory's mutex (never across I/O) and
// queue events; they never block and never call back into memberlist. Slow work (full
// exchanges, reconnects, metadata re-advertising, stream fan-out) runs on the Cluster's own
// goroutines. Events go through bounded queues to one dispatcher goroutine per stream: on
// overflow they are dropped, counted, and a Resync event tells subscribers to re-read.
package gossip
