package bwe

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// Factory is a pion interceptor.Factory that gives every PeerConnection of
// an API its own Estimator. Register it in the interceptor registry BEFORE
// pion's TWCC header-extension interceptor: an interceptor's writer runs
// after those registered later, so it sees the transport-wide sequence
// number already set. Safe for concurrent use.
type Factory struct {
	cfg Config

	mu   sync.Mutex            // guards byID
	byID map[string]*Estimator // live estimators by PeerConnection ID
}

// NewFactory returns a Factory whose estimators use cfg.
func NewFactory(cfg Config) *Factory {
	return &Factory{cfg: cfg, byID: make(map[string]*Estimator)}
}

// NewInterceptor creates the interceptor of PeerConnection id (pion calls it
// from webrtc.API.NewPeerConnection with the new connection's ID).
func (f *Factory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	est := New(f.cfg)
	f.mu.Lock()
	f.byID[id] = est
	f.mu.Unlock()
	return &Interceptor{factory: f, id: id, est: est}, nil
}

// Estimator returns the estimator of the PeerConnection with that ID
// (webrtc.PeerConnection.ID), until the connection closes.
func (f *Factory) Estimator(pcID string) (*Estimator, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.byID[pcID]
	return e, ok
}

func (f *Factory) remove(id string, e *Estimator) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byID[id] == e {
		delete(f.byID, id)
	}
}

// Interceptor feeds one PeerConnection's outgoing RTP and incoming TWCC and
// REMB to its Estimator.
type Interceptor struct {
	interceptor.NoOp
	factory *Factory
	id      string
	est     *Estimator
}

// Estimator returns the interceptor's estimator.
func (i *Interceptor) Estimator() *Estimator { return i.est }

// transportCCExtensionID returns the negotiated id of the transport-wide
// sequence number extension of a stream, 0 if none.
func transportCCExtensionID(info *interceptor.StreamInfo) uint8 {
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI {
			return uint8(e.ID)
		}
	}
	return 0
}

// BindLocalStream records every packet of streams that carry the
// transport-wide sequence number, after it was written. It does not allocate
// per packet.
func (i *Interceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	id := transportCCExtensionID(info)
	if id == 0 {
		return w
	}
	est := i.est
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		now := time.Now()
		n, err := w.Write(h, payload, a)
		if err != nil {
			return n, err
		}
		if ext := h.GetExtension(id); len(ext) >= 2 {
			size := h.MarshalSize() + len(payload) + int(h.PaddingSize)
			est.OnPacketSent(binary.BigEndian.Uint16(ext), size, now)
		}
		return n, nil
	})
}

// BindRTCPReader passes TWCC feedback and REMB on to the estimator.
func (i *Interceptor) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	est := i.est
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attr, err := r.Read(b, a)
		if err != nil {
			return n, attr, err
		}
		if attr == nil {
			attr = make(interceptor.Attributes)
		}
		pkts, perr := attr.GetRTCPPackets(b[:n])
		if perr != nil {
			return n, attr, nil // not ours to reject; the next reader sees the error
		}
		now := time.Now()
		for _, p := range pkts {
			switch fb := p.(type) {
			case *rtcp.TransportLayerCC:
				_ = est.OnTransportCC(fb, now) // a malformed report is used as far as it goes
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				est.OnREMB(float64(fb.Bitrate), now)
			}
		}
		return n, attr, nil
	})
}

// Close forgets the estimator (the PeerConnection closed).
func (i *Interceptor) Close() error {
	i.factory.remove(i.id, i.est)
	return nil
}
