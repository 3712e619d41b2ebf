package gossip

import (
	"fmt"
	"math"

	"github.com/hashicorp/memberlist"
	"google.golang.org/protobuf/encoding/protowire"
)

// metaVersion is the first byte of encoded node metadata. Later versions may add fields (the
// body is protobuf-wire so unknown fields are skipped) or change the layout (new version byte).
const metaVersion = 1

// maxIDLen bounds node ids, regions and owner ids on the wire.
const maxIDLen = 128

// NodeState is a node's self-declared serving state.
type NodeState uint8

const (
	// NodeActive accepts new participants.
	NodeActive NodeState = iota
	// NodeDraining keeps its participants but should not be given new ones.
	NodeDraining
	// NodeLeaving is set by Cluster.Leave just before the node leaves the cluster.
	NodeLeaving
)

func (s NodeState) String() string {
	switch s {
	case NodeActive:
		return "active"
	case NodeDraining:
		return "draining"
	case NodeLeaving:
		return "leaving"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Load is a node's advertised load.
type Load struct {
	Participants uint32
	Tracks       uint32
	// CPU is the process CPU use in percent of one machine (0–100); encoded in 0.1 % steps.
	CPU float64
}

// NodeMeta is the metadata a node advertises with its membership (memberlist node meta). It is
// encoded compactly and must fit memberlist.MetaMaxSize (512) bytes.
type NodeMeta struct {
	NodeID string
	Region string
	// SignalURL is where clients reach this node's signaling (e.g. "wss://eu1.example.com").
	SignalURL string
	// RelayAddr is the node's QUIC relay address ("host:port").
	RelayAddr string
	State     NodeState
	Load      Load
	// Epoch is the node's directory epoch, set by the Cluster: a node seen with a higher epoch
	// has restarted and all directory entries of its previous epoch are dropped.
	Epoch uint64
}

const (
	metaFieldID        = 1
	metaFieldRegion    = 2
	metaFieldSignalURL = 3
	metaFieldRelayAddr = 4
	metaFieldState     = 5
	metaFieldParts     = 6
	metaFieldTracks    = 7
	metaFieldCPU       = 8
	metaFieldEpoch     = 9
)

// EncodeNodeMeta encodes m. It fails with ErrMetaTooLarge if the result exceeds
// memberlist.MetaMaxSize.
func EncodeNodeMeta(m NodeMeta) ([]byte, error) {
	b := make([]byte, 0, 64+len(m.NodeID)+len(m.Region)+len(m.SignalURL)+len(m.RelayAddr))
	b = append(b, metaVersion)
	b = appendString(b, metaFieldID, m.NodeID)
	b = appendString(b, metaFieldRegion, m.Region)
	b = appendString(b, metaFieldSignalURL, m.SignalURL)
	b = appendString(b, metaFieldRelayAddr, m.RelayAddr)
	b = appendVarint(b, metaFieldState, uint64(m.State))
	b = appendVarint(b, metaFieldParts, uint64(m.Load.Participants))
	b = appendVarint(b, metaFieldTracks, uint64(m.Load.Tracks))
	b = appendVarint(b, metaFieldCPU, cpuToPermille(m.Load.CPU))
	b = appendVarint(b, metaFieldEpoch, m.Epoch)
	if len(b) > memberlist.MetaMaxSize {
		return nil, fmt.Errorf("%w: %d bytes > %d", ErrMetaTooLarge, len(b), memberlist.MetaMaxSize)
	}
	return b, nil
}

// DecodeNodeMeta decodes metadata produced by EncodeNodeMeta. Unknown fields are skipped.
func DecodeNodeMeta(b []byte) (NodeMeta, error) {
	var m NodeMeta
	if len(b) == 0 {
		return m, fmt.Errorf("%w: empty node meta", ErrMalformed)
	}
	if b[0] != metaVersion {
		return m, fmt.Errorf("%w: node meta version %d", ErrUnsupportedVersion, b[0])
	}
	err := walkFields(b[1:], func(num protowire.Number, typ protowire.Type, v uint64, s []byte) error {
		switch {
		case num == metaFieldID && typ == protowire.BytesType:
			m.NodeID = string(s)
		case num == metaFieldRegion && typ == protowire.BytesType:
			m.Region = string(s)
		case num == metaFieldSignalURL && typ == protowire.BytesType:
			m.SignalURL = string(s)
		case num == metaFieldRelayAddr && typ == protowire.BytesType:
			m.RelayAddr = string(s)
		case num == metaFieldState && typ == protowire.VarintType:
			if v > uint64(NodeLeaving) {
				return fmt.Errorf("%w: node state %d", ErrMalformed, v)
			}
			m.State = NodeState(v)
		case num == metaFieldParts && typ == protowire.VarintType:
			m.Load.Participants = clampU32(v)
		case num == metaFieldTracks && typ == protowire.VarintType:
			m.Load.Tracks = clampU32(v)
		case num == metaFieldCPU && typ == protowire.VarintType:
			m.Load.CPU = float64(min(v, 1000)) / 10
		case num == metaFieldEpoch && typ == protowire.VarintType:
			m.Epoch = v
		}
		return nil
	})
	if err != nil {
		return NodeMeta{}, err
	}
	if m.NodeID == "" || len(m.NodeID) > maxIDLen {
		return NodeMeta{}, fmt.Errorf("%w: node meta without a valid node id", ErrMalformed)
	}
	return m, nil
}

func cpuToPermille(cpu float64) uint64 {
	if math.IsNaN(cpu) || cpu <= 0 {
		return 0
	}
	return uint64(math.Round(min(cpu, 100) * 10))
}

func clampU32(v uint64) uint32 {
	if v > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(v)
}

// appendString appends a length-delimited field, omitting empty strings.
func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// appendBytes appends a length-delimited field, omitting empty values.
func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// appendVarint appends a varint field, omitting zero.
func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// walkFields calls f for every field of the protobuf-wire encoded b. Varint fields pass their
// value in v, length-delimited fields their bytes in s (aliasing b); fixed-size and group fields
// are skipped. A truncated or invalid encoding yields ErrMalformed.
func walkFields(b []byte, f func(num protowire.Number, typ protowire.Type, v uint64, s []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: bad tag", ErrMalformed)
		}
		b = b[n:]
		var (
			v uint64
			s []byte
		)
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			s, n = protowire.ConsumeBytes(b)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("%w: bad field %d", ErrMalformed, num)
		}
		b = b[n:]
		if err := f(num, typ, v, s); err != nil {
			return err
		}
	}
	return nil
}
