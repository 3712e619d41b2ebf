package gossip

import "sync/atomic"

// counters are the cluster's hot counters (atomics, never logged per message).
type counters struct {
	messages      atomic.Uint64
	malformed     atomic.Uint64
	applied       atomic.Uint64
	stale         atomic.Uint64
	rejected      atomic.Uint64
	refutations   atomic.Uint64
	broadcasts    atomic.Uint64
	largeDeltas   atomic.Uint64
	streamSends   atomic.Uint64
	streamErrors  atomic.Uint64
	streamDropped atomic.Uint64
	fullStates    atomic.Uint64
	syncs         atomic.Uint64
	pulls         atomic.Uint64
	pullsAnswered atomic.Uint64
	syncErrors    atomic.Uint64
	orphans       atomic.Uint64
	eventsDrop    atomic.Uint64
	nodeEvDrop    atomic.Uint64
	badMeta       atomic.Uint64
	logDropped    atomic.Uint64
}

// Stats is a snapshot of a Cluster's counters, all cumulative since New. The node exports them
// as metrics (this package does not depend on a metrics library).
type Stats struct {
	// MessagesReceived counts directory messages decoded (deltas and push/pull states).
	MessagesReceived uint64
	// MessagesMalformed counts directory messages dropped because they failed to decode.
	MessagesMalformed uint64
	// RecordsApplied counts remote writes that changed the directory.
	RecordsApplied uint64
	// RecordsStale counts remote writes ignored as duplicates or older than known.
	RecordsStale uint64
	// RecordsRejected counts remote writes refused: from departed owners, or claiming to remove
	// our own entries.
	RecordsRejected uint64
	// Refutations counts removals issued for stale copies of our own entries.
	Refutations uint64
	// DeltasBroadcast counts deltas queued for gossip (own and relayed).
	DeltasBroadcast uint64
	// LargeDeltas counts deltas too large for a packet, sent to every member over streams.
	LargeDeltas uint64
	// StreamSends/StreamErrors count per-peer stream messages (large deltas, pulls, pull
	// answers); StreamDropped those discarded because the stream queue was full.
	StreamSends   uint64
	StreamErrors  uint64
	StreamDropped uint64
	// FullStatesSent counts full directory states produced for join exchanges.
	FullStatesSent uint64
	// FullSyncs counts full exchanges this node started (rejoin after a partition, backlog);
	// FullSyncErrors those that failed or were dropped.
	FullSyncs      uint64
	FullSyncErrors uint64
	// PullsSent counts pull requests for owners whose digests differed from a peer's;
	// PullsAnswered the pulls this node answered.
	PullsSent     uint64
	PullsAnswered uint64
	// OrphansPurged counts owners whose entries were dropped because membership never listed
	// them alive within OrphanGrace.
	OrphansPurged uint64
	// EventsDropped and NodeEventsDropped count events discarded because subscribers fell
	// behind (a Resync event follows).
	EventsDropped     uint64
	NodeEventsDropped uint64
	// MetaMalformed counts peers' node metadata that failed to decode.
	MetaMalformed uint64
	// LogLinesDropped counts memberlist log lines suppressed by the rate limit.
	LogLinesDropped uint64
	// QueuedDeltas is the current number of deltas waiting in the broadcast queues (a gauge).
	QueuedDeltas uint64
	// Transport totals: gossip bytes and packets (UDP), and streams (TCP) in both directions,
	// stream bytes included in the byte counts.
	BytesSent       uint64
	BytesReceived   uint64
	PacketsSent     uint64
	PacketsReceived uint64
	StreamsOpened   uint64
	StreamsAccepted uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		MessagesReceived:  c.messages.Load(),
		MessagesMalformed: c.malformed.Load(),
		RecordsApplied:    c.applied.Load(),
		RecordsStale:      c.stale.Load(),
		RecordsRejected:   c.rejected.Load(),
		Refutations:       c.refutations.Load(),
		DeltasBroadcast:   c.broadcasts.Load(),
		LargeDeltas:       c.largeDeltas.Load(),
		StreamSends:       c.streamSends.Load(),
		StreamErrors:      c.streamErrors.Load(),
		StreamDropped:     c.streamDropped.Load(),
		FullStatesSent:    c.fullStates.Load(),
		FullSyncs:         c.syncs.Load(),
		FullSyncErrors:    c.syncErrors.Load(),
		PullsSent:         c.pulls.Load(),
		PullsAnswered:     c.pullsAnswered.Load(),
		OrphansPurged:     c.orphans.Load(),
		EventsDropped:     c.eventsDrop.Load(),
		NodeEventsDropped: c.nodeEvDrop.Load(),
		MetaMalformed:     c.badMeta.Load(),
		LogLinesDropped:   c.logDropped.Load(),
	}
}
