package node

import (
	"net/http"
	"strconv"

	"github.com/edgemesh/edge/node/meshpage"
)

// handleAdminMesh serves the mesh page (package meshpage), which draws GET /admin/topology and
// polls it. The access token rides in the page's URL (?token=…): with a token that may read
// the topology (roomList or roomAdmin) the page is served; without one, the sign-in form that
// asks for it (200); with a refused one, the form with the reason (401). The page sends the
// token as a bearer token on its own requests, so /admin/topology checks it on every poll.
func (n *Node) handleAdminMesh(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	status := http.StatusOK
	var (
		page meshpage.Page
		err  error
	)
	tok := r.URL.Query().Get(meshpage.TokenParam)
	switch authErr := n.checkAdminToken(tok); {
	case tok == "":
		page, err = meshpage.Login("")
	case authErr != nil:
		n.metrics.authFailures.Inc()
		status = httpStatus(authErr)
		page, err = meshpage.Login(authErr.Error())
	default:
		page, err = meshpage.Mesh()
	}
	if err != nil {
		n.log.Error().Err(err).Msg("mesh page")
		http.Error(w, "mesh page unavailable", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(page.HTML)))
	h.Set("Content-Security-Policy", page.CSP)
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	if r.Method == http.MethodGet {
		_, _ = w.Write(page.HTML)
	}
}

// checkAdminToken reports why a raw token may not read the admin API (nil if it may): the same
// rule as adminAuth, without writing a response.
func (n *Node) checkAdminToken(raw string) error {
	g, err := n.keys.verify(raw)
	if err != nil {
		return err
	}
	if g.Video == nil || !(g.Video.RoomList || g.Video.RoomAdmin) {
		return ErrPermissionDenied
	}
	return nil
}
