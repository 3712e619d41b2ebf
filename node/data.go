package node

import (
	"errors"
	"io"
	"slices"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"github.com/edgemesh/edge/relay"
)

// LiveKit's data channel labels.
const (
	reliableLabel = "_reliable"
	lossyLabel    = "_lossy"
)

// onDataChannel receives a client's publisher-side data channel and forwards what arrives.
func (p *Participant) onDataChannel(t *pcTransport, dc *webrtc.DataChannel) {
	label := dc.Label()
	if label != reliableLabel && label != lossyLabel {
		p.log.Debug().Str("label", label).Msg("ignoring unknown data channel")
		return
	}
	if t.clientOffers {
		// One peer connection: the client's channels carry data both ways.
		t.setDataChannel(dc)
	}
	dc.OnMessage(func(msg webrtc.DataChannelMessage) { p.onData(label, msg.Data) })
}

// onData validates one DataPacket from the client, stamps the sender and forwards it.
func (p *Participant) onData(label string, data []byte) {
	m := p.node.metrics
	pkt := &livekit.DataPacket{}
	if err := proto.Unmarshal(data, pkt); err != nil {
		m.dataDropped.WithLabelValues("malformed").Inc()
		p.log.Debug().Err(err).Msg("malformed data packet")
		return
	}
	p.mu.Lock()
	allowed := p.grants.Video.GetCanPublishData()
	p.mu.Unlock()
	if !allowed {
		m.dataDropped.WithLabelValues("not_allowed").Inc()
		return
	}
	pkt.ParticipantIdentity = p.identity
	if u := pkt.GetUser(); u != nil {
		u.ParticipantSid = p.sid
		u.ParticipantIdentity = p.identity
		if len(pkt.DestinationIdentities) == 0 && len(u.DestinationIdentities) > 0 {
			pkt.DestinationIdentities = u.DestinationIdentities
		}
	}
	out, err := proto.Marshal(pkt)
	if err != nil {
		m.dataDropped.WithLabelValues("marshal").Inc()
		return
	}
	p.room.forwardData(p, label, pkt.DestinationIdentities, out)
	p.room.forwardDataMesh(label, pkt.DestinationIdentities, out)
}

// forwardData sends an encoded DataPacket to every participant but the sender (nil for server
// data), restricted to dests when non-empty.
func (r *Room) forwardData(from *Participant, label string, dests []string, data []byte) {
	m := r.node.metrics
	for _, o := range r.participantList() {
		if o == from {
			continue
		}
		if len(dests) > 0 && !slices.Contains(dests, o.identity) {
			continue
		}
		dc := o.dataChannel(label)
		if dc == nil || dc.ReadyState() != webrtc.DataChannelStateOpen {
			m.dataDropped.WithLabelValues("not_open").Inc()
			continue
		}
		if err := dc.Send(data); err != nil {
			m.dataDropped.WithLabelValues("send").Inc()
			continue
		}
		m.dataForwarded.WithLabelValues(label).Inc()
	}
}

// dataChannel returns the data channel with that label the participant receives data on.
func (p *Participant) dataChannel(label string) *webrtc.DataChannel {
	p.mu.Lock()
	sub := p.subscriber
	p.mu.Unlock()
	if sub == nil {
		return nil
	}
	return sub.dataChannel(label)
}

// relayDataKind tags room data packets on relay links.
const relayDataKind byte = 1

// forwardDataMesh sends an encoded DataPacket to the other edges that host its recipients.
func (r *Room) forwardDataMesh(label string, dests []string, data []byte) {
	m := r.node.mesh
	if m == nil {
		return
	}
	for _, id := range r.remoteNodes(dests) {
		msg := relay.DataMessage{Room: r.name, Kind: relayDataKind, Reliable: label == reliableLabel, Payload: data}
		if !m.sendData(id, msg) {
			r.node.metrics.dataDropped.WithLabelValues("relay_queue").Inc()
		}
	}
}

// onRelayData delivers data another edge relayed to this node's participants of the room. It
// runs on the link's reader goroutine.
func (n *Node) onRelayData(from string, msg relay.DataMessage) {
	if msg.Kind != relayDataKind {
		return
	}
	r := n.room(msg.Room)
	if r == nil {
		return
	}
	pkt := &livekit.DataPacket{}
	if err := proto.Unmarshal(msg.Payload, pkt); err != nil {
		n.metrics.dataDropped.WithLabelValues("malformed").Inc()
		n.log.Debug().Err(err).Str("node", from).Msg("malformed relayed data packet")
		return
	}
	label := lossyLabel
	if msg.Reliable {
		label = reliableLabel
	}
	r.forwardData(nil, label, pkt.DestinationIdentities, msg.Payload)
}

// subscriberChannelBuffer is the read buffer of a server-created data channel on a subscriber
// connection. Clients send their data on the publisher connection's channels; these carry the
// channel handshake and, from an unusual client, small packets. A larger message is read into a
// buffer of the largest message size for that one read.
const subscriberChannelBuffer = 2048

// maxDataMessage is the largest data channel message the node reads (SCTP's default maximum).
const maxDataMessage = 65535

// serveSubscriberChannel reads a server-created data channel of a subscriber connection once it
// opens (the subscriber role's data channels are detached). pion's own read loop would hold a
// 64 KiB buffer per channel for the channel's life: two per subscriber, the largest share of a
// subscriber's memory on a node. What a client sends on these channels is handled like data on
// its publisher channels. The reader ends when the channel or its connection closes.
func (p *Participant) serveSubscriberChannel(dc *webrtc.DataChannel) {
	label := dc.Label()
	dc.OnOpen(func() {
		rw, err := dc.Detach()
		if err != nil {
			p.log.Warn().Err(err).Str("label", label).Msg("data channel: detach failed")
			return
		}
		go readDataMessages(rw, func(msg []byte) { p.onData(label, msg) })
	})
}

// readDataMessages reads messages from a detached data channel into a small buffer (a larger
// message is read again into one of maxDataMessage bytes) and hands each to handle, until the
// channel fails or closes. handle must not keep msg.
func readDataMessages(r io.Reader, handle func(msg []byte)) {
	buf := make([]byte, subscriberChannelBuffer)
	for {
		n, err := r.Read(buf)
		msg := buf[:n]
		if errors.Is(err, io.ErrShortBuffer) {
			big := make([]byte, maxDataMessage)
			n, err = r.Read(big)
			msg = big[:n]
		}
		if err != nil {
			return
		}
		handle(msg)
	}
}
