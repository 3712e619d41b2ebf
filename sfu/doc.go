// Package sfu is the media path of one edge node: it receives the RTP
// streams a publisher sends, and forwards them to every subscriber.
//
// The publisher side is a Receiver per published track. It keeps one
// buffer.Buffer per simulcast layer (0 = low, 1 = mid, 2 = high; single-layer
// tracks use layer 0), runs one RTP read loop and one RTCP read loop per
// layer, and hands each received packet to every DownTrack of the track.
//
// The subscriber side is a DownTrack per (subscriber, track). It implements
// webrtc.TrackLocal, so the node adds it to the subscriber's PeerConnection.
// Its forwarder — a pure state machine without I/O — picks the layer to
// forward, switches layers only at keyframes, and rewrites SSRC, payload
// type, sequence numbers, timestamps and the VP8 picture id/TL0PICIDX so the
// subscriber sees one continuous stream whatever layers, pauses and drops
// happened upstream. A sequencer remembers how recent outgoing packets were
// munged so a subscriber's NACK is answered from the source's packet cache
// with exactly the bytes that were sent the first time.
//
// A DownTrack reads from a TrackSource, the one seam between the media path
// and where packets come from: the local Receiver implements it, and so does
// the relay's source for tracks published on another node. A DownTrack cannot
// tell them apart. A source fans packets out to PacketSinks through a
// SinkSet: down-tracks, and on the publisher's node the relay's feed of the
// track to another node. Each sink reports the layers it needs (WantedLayer
// for dynacast, WantedLayers for per-layer relay subscriptions).
//
// Concurrency: every exported method of Receiver and DownTrack is safe for
// concurrent use. The per-packet path (SinkSet fan-out → DownTrack.WriteRTP)
// takes no lock across I/O and does not allocate in steady state.
package sfu
