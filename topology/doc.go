// Package topology is the edge mesh as data: nodes and their regions, the links between them
// (round trip, loss, throughput), the rooms spread over them and the relay tree of every
// relayed track. It also makes the mesh's pure decisions: which node a subscriber edge pulls a
// track from (Routes, Hubs) and which edges a client should try first (NearestEdges), and it
// renders a Document for people (RenderTables, RenderDOT) and programs (RenderJSON).
//
// The package imports only the standard library. It does no I/O of its own, starts no
// goroutines and reads no clock: callers hand it snapshots (and an io.Writer to render into)
// and get decisions back. Every function is safe for concurrent use as long as callers do not
// mutate the slices and maps they pass in while a call runs; no function modifies its inputs.
package topology
