package node

import (
	"context"
	"fmt"
	"time"

	"github.com/edgemesh/edge/relay"
)

// Relayed data leaves through one queue per peer edge, drained by a goroutine of its own: a
// slow or unreachable edge delays and drops only its own messages, never the sender's data
// channel nor the data for other edges.
const (
	// relayDataQueue bounds the messages waiting for one peer edge; more are dropped.
	relayDataQueue = 256
	// relayDataTimeout bounds bringing up the link and queueing one message on it.
	relayDataTimeout = 2 * time.Second
	// relayDataIdle ends a peer's drain goroutine after this long without messages.
	relayDataIdle = 30 * time.Second
)

// dataOutbox is the queue of data messages for one peer edge.
type dataOutbox struct {
	ch chan relay.DataMessage
}

// sendData queues msg for peer edge nodeID without blocking; false if it was dropped (the
// queue is full, or the node is shutting down).
func (m *mesh) sendData(nodeID string, msg relay.DataMessage) bool {
	m.outMu.Lock()
	defer m.outMu.Unlock()
	ob := m.outboxes[nodeID]
	if ob == nil {
		if !m.n.goAdd() {
			return false
		}
		ob = &dataOutbox{ch: make(chan relay.DataMessage, relayDataQueue)}
		m.outboxes[nodeID] = ob
		go func() {
			defer m.n.wg.Done()
			m.drainData(nodeID, ob)
		}()
	}
	select {
	case ob.ch <- msg:
		return true
	default:
		return false
	}
}

// drainData sends ob's messages to nodeID in order until the mesh stops or the queue stays
// empty for relayDataIdle. While the link to nodeID is down (it could not be brought up within
// relayDataTimeout), messages are dropped at once instead of each waiting for it.
func (m *mesh) drainData(nodeID string, ob *dataOutbox) {
	idle := time.NewTimer(relayDataIdle)
	defer idle.Stop()
	for {
		select {
		case <-m.stop:
			return
		case msg := <-ob.ch:
			if err := m.relayData(nodeID, msg); err != nil {
				m.n.metrics.dataDropped.WithLabelValues("relay").Inc()
				m.log.Debug().Err(err).Str("node", nodeID).Msg("relay data")
			}
			idle.Reset(relayDataIdle)
		case <-idle.C:
			m.outMu.Lock()
			if len(ob.ch) > 0 {
				m.outMu.Unlock()
				idle.Reset(relayDataIdle)
				continue
			}
			delete(m.outboxes, nodeID)
			m.outMu.Unlock()
			return
		}
	}
}

// relayData hands one message to the relay link to nodeID.
func (m *mesh) relayData(nodeID string, msg relay.DataMessage) error {
	if m.isLinkDown(nodeID, time.Now()) {
		return fmt.Errorf("to %s: %w", nodeID, relay.ErrLinkDown)
	}
	ctx, cancel := context.WithTimeout(context.Background(), relayDataTimeout)
	defer cancel()
	peer, err := m.peer(ctx, nodeID)
	m.noteLink(nodeID, err, time.Now())
	if err != nil {
		return err
	}
	return peer.SendData(ctx, msg)
}
