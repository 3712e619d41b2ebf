// Package relay links edge nodes over QUIC so that a subscriber on one node
// can receive a track published on another, and carries data-channel
// messages between them.
//
// An Endpoint is one node's end of the mesh. It listens on one UDP socket
// and dials peers on demand from it (Endpoint.Dial). Links are mutually
// authenticated with TLS 1.3: every node derives the same certificate
// authority from the cluster key (HKDF-SHA256 → ed25519) and signs its own
// leaf certificate, named after its node id, at startup; both ends verify
// that the other's chains to that CA, and the dialer that it names the node
// it meant to reach. A node without the cluster key cannot complete a
// handshake, so it can neither subscribe nor inject media.
//
// Links are symmetric: both nodes may subscribe to each other's tracks over
// one connection. The serving side attaches one feed (an sfu.PacketSink) per
// (link, track) to the local sfu.TrackSource the node's LocalTracks returns,
// forwards only the subscribed simulcast layers as QUIC datagrams (packets
// too large for a datagram go on an "oversize" stream), answers NACKs from
// the source's packet cache, forwards keyframe requests and relays the
// publisher's sender reports. The subscribing side presents the track as a
// RemoteTrack, itself an sfu.TrackSource: per-layer receive buffers, NACKs
// upstream for gaps, throttled keyframe requests, and a subscription that
// follows the union of the layers its sinks (down-tracks) want. The wire
// protocol is specified in PROTOCOL.md.
//
// Lifecycle: Peer.Subscribe opens a subscription (one per track and peer,
// shared by every sink); a RemoteTrack without sinks unsubscribes and closes
// after Config.UnsubscribeDelay; the end of the track on the publisher's node
// closes it and its down-tracks; a link that dies is re-dialed with backoff
// and its subscriptions restored, and a link with nothing to do is closed
// after Config.IdleTimeout.
//
// Concurrency: every exported method is safe for concurrent use. The media
// paths — a feed's WriteRTP on the serving side, datagram ingest and fan-out
// on the subscribing side — take no lock across I/O and do not allocate in
// steady state (quic-go's own per-datagram buffers aside): the fan-out only
// copies into a pooled buffer and queues it for the link's one writer
// goroutine, dropping (and counting) when the queue is full. Nothing is
// logged per packet; Endpoint.Stats and Peer.Stats expose per-peer counters.
package relay
