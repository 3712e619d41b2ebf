package topology

import (
	"encoding/json"
	"fmt"
	"io"
)

// RenderJSON writes d in canonical order (see Document.Sorted) as indented JSON followed by a
// newline: the body of GET /admin/topology.
func RenderJSON(w io.Writer, d Document) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d.Sorted()); err != nil {
		return fmt.Errorf("topology: encode document: %w", err)
	}
	return nil
}
