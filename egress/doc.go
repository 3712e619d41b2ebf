// Package egress sends a subscriber connection's RTP without pion's write chain: it derives
// the connection's SRTP keys from the DTLS handshake the node ran as server (Capture), and
// a Path then adds the transport-wide sequence number, encrypts with its own SRTP context and
// writes straight to the node's UDP socket towards the selected candidate pair. A connection
// whose keys cannot be derived, or that runs over ICE/TCP, keeps pion's writer.
package egress
