package gossip

import (
	"fmt"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Wire format of directory messages (memberlist user messages and push/pull state):
//
//	byte 0   wireVersion (1)
//	byte 1   message type: msgDelta (one record), msgState (push/pull state, or the answer to
//	         a pull) or msgPull (a request for some owners' entries)
//	rest     protobuf-wire fields (unknown fields are skipped, so fields can be added):
//
//	record:  1 owner (string)  2 epoch  3 seq  4 kind (1 room, 2 participant)  5 room (string)
//	         6 identity (string)  7 tomb (bool)  8 stamp (room metadata LWW)
//	         9 payload (livekit.Room or livekit.ParticipantInfo, protobuf; live records only)
//	state:   1 sender (string)  2 full (bool)  3 record (repeated, embedded)
//	         4 digest (repeated, embedded: 1 owner  2 epoch  3 hw  4 hash (fixed64))
//	pull:    1 sender (string)  2 owner (repeated string)
//
// Decoding validates everything it returns: a message that fails is dropped and counted.
const wireVersion = 1

type msgType byte

const (
	msgDelta msgType = 1
	msgState msgType = 2
	msgPull  msgType = 3
)

// maxPullOwners bounds the owners one pull may ask for.
const maxPullOwners = 1024

// maxNameLen bounds room names and identities on the wire.
const maxNameLen = 1024

// digest summarises one owner's entries for anti-entropy (see antientropy.go).
type digest struct {
	owner           string
	epoch, hw, hash uint64
}

// stateMsg is the push/pull payload.
type stateMsg struct {
	sender  string
	full    bool
	recs    []*record
	digests []digest
}

// pullMsg asks a peer for its view of some owners' entries (answered with a stateMsg).
type pullMsg struct {
	sender string
	owners []string
}

// message is a decoded directory message: exactly one of rec, state and pull is set.
type message struct {
	rec   *record
	state *stateMsg
	pull  *pullMsg
}

// encodePull encodes a pull request.
func encodePull(m *pullMsg) []byte {
	b := []byte{wireVersion, byte(msgPull)}
	b = appendString(b, 1, m.sender)
	for _, o := range m.owners {
		b = appendString(b, 2, o)
	}
	return b
}

func decodePull(b []byte) (*pullMsg, error) {
	m := &pullMsg{}
	err := walkFields(b, func(num protowire.Number, typ protowire.Type, _ uint64, s []byte) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			m.sender = string(s)
		case num == 2 && typ == protowire.BytesType:
			if len(s) == 0 || len(s) > maxIDLen || len(m.owners) >= maxPullOwners {
				return fmt.Errorf("%w: pull owner", ErrMalformed)
			}
			m.owners = append(m.owners, string(s))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if m.sender == "" || len(m.sender) > maxIDLen || len(m.owners) == 0 {
		return nil, fmt.Errorf("%w: pull without sender or owners", ErrMalformed)
	}
	return m, nil
}

// encodeDelta encodes one record as a delta message.
func encodeDelta(r *record) ([]byte, error) {
	b := []byte{wireVersion, byte(msgDelta)}
	return appendRecord(b, r)
}

// encodeState encodes a push/pull state message.
func encodeState(m *stateMsg) ([]byte, error) {
	b := []byte{wireVersion, byte(msgState)}
	b = appendString(b, 1, m.sender)
	if m.full {
		b = appendVarint(b, 2, 1)
	}
	var scratch []byte
	for _, r := range m.recs {
		var err error
		if scratch, err = appendRecord(scratch[:0], r); err != nil {
			return nil, err
		}
		b = appendBytes(b, 3, scratch)
	}
	for _, d := range m.digests {
		scratch = appendString(scratch[:0], 1, d.owner)
		scratch = appendVarint(scratch, 2, d.epoch)
		scratch = appendVarint(scratch, 3, d.hw)
		scratch = protowire.AppendTag(scratch, 4, protowire.Fixed64Type)
		scratch = protowire.AppendFixed64(scratch, d.hash)
		b = appendBytes(b, 4, scratch)
	}
	return b, nil
}

func appendRecord(b []byte, r *record) ([]byte, error) {
	b = appendString(b, 1, r.owner)
	b = appendVarint(b, 2, r.ver.epoch)
	b = appendVarint(b, 3, r.ver.seq)
	b = appendVarint(b, 4, uint64(r.key.kind))
	b = appendString(b, 5, r.key.room)
	b = appendString(b, 6, r.key.identity)
	if r.tomb {
		return appendVarint(b, 7, 1), nil
	}
	b = appendVarint(b, 8, r.stamp)
	var payload proto.Message = r.part
	if r.key.kind == kindRoom {
		payload = r.room
	}
	pb, err := proto.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidEntry, err)
	}
	b = appendBytes(b, 9, pb)
	if r.key.kind == kindParticipant && r.perm != nil {
		pb, err := proto.Marshal(r.perm)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidEntry, err)
		}
		// Written even when empty: an empty permission (nobody may subscribe) is not none.
		b = protowire.AppendTag(b, 10, protowire.BytesType)
		b = protowire.AppendBytes(b, pb)
	}
	return b, nil
}

// decodeMessage decodes and validates a directory message. b is not retained.
func decodeMessage(b []byte) (message, error) {
	if len(b) < 2 {
		return message{}, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	if b[0] != wireVersion {
		return message{}, fmt.Errorf("%w: directory wire version %d", ErrUnsupportedVersion, b[0])
	}
	switch msgType(b[1]) {
	case msgDelta:
		r, err := decodeRecord(b[2:])
		if err != nil {
			return message{}, err
		}
		return message{rec: r}, nil
	case msgState:
		s, err := decodeState(b[2:])
		if err != nil {
			return message{}, err
		}
		return message{state: s}, nil
	case msgPull:
		p, err := decodePull(b[2:])
		if err != nil {
			return message{}, err
		}
		return message{pull: p}, nil
	}
	return message{}, fmt.Errorf("%w: message type %d", ErrMalformed, b[1])
}

func decodeState(b []byte) (*stateMsg, error) {
	m := &stateMsg{}
	err := walkFields(b, func(num protowire.Number, typ protowire.Type, v uint64, s []byte) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			m.sender = string(s)
		case num == 2 && typ == protowire.VarintType:
			m.full = v != 0
		case num == 3 && typ == protowire.BytesType:
			r, err := decodeRecord(s)
			if err != nil {
				return err
			}
			m.recs = append(m.recs, r)
		case num == 4 && typ == protowire.BytesType:
			d, err := decodeDigest(s)
			if err != nil {
				return err
			}
			m.digests = append(m.digests, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if m.sender == "" || len(m.sender) > maxIDLen {
		return nil, fmt.Errorf("%w: state without a valid sender", ErrMalformed)
	}
	return m, nil
}

func decodeDigest(b []byte) (digest, error) {
	var d digest
	err := walkFields(b, func(num protowire.Number, typ protowire.Type, v uint64, s []byte) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			d.owner = string(s)
		case num == 2 && typ == protowire.VarintType:
			d.epoch = v
		case num == 3 && typ == protowire.VarintType:
			d.hw = v
		case num == 4 && typ == protowire.Fixed64Type:
			d.hash = v
		}
		return nil
	})
	if err == nil && (d.owner == "" || len(d.owner) > maxIDLen || d.epoch == 0) {
		err = fmt.Errorf("%w: digest without owner or epoch", ErrMalformed)
	}
	return d, err
}

func decodeRecord(b []byte) (*record, error) {
	r := &record{}
	var payload, perm []byte
	hasPerm := false
	err := walkFields(b, func(num protowire.Number, typ protowire.Type, v uint64, s []byte) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			r.owner = string(s)
		case num == 2 && typ == protowire.VarintType:
			r.ver.epoch = v
		case num == 3 && typ == protowire.VarintType:
			r.ver.seq = v
		case num == 4 && typ == protowire.VarintType:
			if v != uint64(kindRoom) && v != uint64(kindParticipant) {
				return fmt.Errorf("%w: entry kind %d", ErrMalformed, v)
			}
			r.key.kind = entryKind(v)
		case num == 5 && typ == protowire.BytesType:
			r.key.room = string(s)
		case num == 6 && typ == protowire.BytesType:
			r.key.identity = string(s)
		case num == 7 && typ == protowire.VarintType:
			r.tomb = v != 0
		case num == 8 && typ == protowire.VarintType:
			r.stamp = v
		case num == 9 && typ == protowire.BytesType:
			payload = s
		case num == 10 && typ == protowire.BytesType:
			perm, hasPerm = s, true // empty bytes: an empty permission (nobody), not none
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := validateRecord(r); err != nil {
		return nil, err
	}
	if r.tomb {
		return r, nil
	}
	if err := decodePayload(r, payload); err != nil {
		return nil, err
	}
	if hasPerm {
		if r.key.kind != kindParticipant {
			return nil, fmt.Errorf("%w: subscription permission on a room record", ErrMalformed)
		}
		r.perm = &livekit.SubscriptionPermission{}
		if err := proto.Unmarshal(perm, r.perm); err != nil {
			return nil, fmt.Errorf("%w: subscription permission: %w", ErrMalformed, err)
		}
	}
	return r, nil
}

func validateRecord(r *record) error {
	switch {
	case r.owner == "" || len(r.owner) > maxIDLen:
		return fmt.Errorf("%w: record owner", ErrMalformed)
	case r.ver.epoch == 0 || r.ver.seq == 0:
		return fmt.Errorf("%w: record version", ErrMalformed)
	case r.key.room == "" || len(r.key.room) > maxNameLen || len(r.key.identity) > maxNameLen:
		return fmt.Errorf("%w: record room or identity", ErrMalformed)
	case r.key.kind == kindRoom && r.key.identity != "":
		return fmt.Errorf("%w: room record with identity", ErrMalformed)
	case r.key.kind == kindParticipant && r.key.identity == "":
		return fmt.Errorf("%w: participant record without identity", ErrMalformed)
	case r.key.kind == 0:
		return fmt.Errorf("%w: record without kind", ErrMalformed)
	}
	return nil
}

// decodePayload unmarshals a live record's payload and checks it matches the key.
func decodePayload(r *record, payload []byte) error {
	if r.key.kind == kindRoom {
		room := &livekit.Room{}
		if err := proto.Unmarshal(payload, room); err != nil {
			return fmt.Errorf("%w: room payload: %w", ErrMalformed, err)
		}
		if room.Name != r.key.room {
			return fmt.Errorf("%w: room payload name mismatch", ErrMalformed)
		}
		r.room = room
		return nil
	}
	p := &livekit.ParticipantInfo{}
	if err := proto.Unmarshal(payload, p); err != nil {
		return fmt.Errorf("%w: participant payload: %w", ErrMalformed, err)
	}
	if p.Identity != r.key.identity {
		return fmt.Errorf("%w: participant payload identity mismatch", ErrMalformed)
	}
	r.part = p
	return nil
}
