package node

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (n *Node) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/rtc", n.handleRTC)
	mux.HandleFunc("/rtc/validate", func(w http.ResponseWriter, r *http.Request) { n.validator(paramsFor(r))(w, r) })
	mux.HandleFunc("/rtc/v1", n.handleRTCv1)
	mux.HandleFunc("/rtc/v1/validate", n.validator(joinParamsV1))
	mux.HandleFunc("/healthz", n.handleHealth)
	mux.HandleFunc("/admin/nodes", n.handleAdminNodes)
	mux.HandleFunc("/admin/topology", n.handleAdminTopology)
	mux.HandleFunc("/admin/mesh", n.handleAdminMesh)
	mux.HandleFunc("/admin/drain", n.handleAdminDrain)
	mux.HandleFunc("/settings/regions", n.handleRegions)
	mux.Handle("/metrics", promhttp.HandlerFor(n.metrics.registry, promhttp.HandlerOpts{}))
	rs := n.roomServiceHandler()
	mux.Handle(rs.PathPrefix(), rs)
	if n.cfg.Dev {
		// Profiling for development only: dev nodes bind loopback (Config.Validate).
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return withCORS(mux)
}

// withCORS lets browser apps on other origins call the node: the JS SDK fetches /rtc/validate
// (and probes /rtc/v1/validate) cross-origin, and admin pages call Twirp with a bearer token.
func withCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Twirp-Version")
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (n *Node) handleHealth(w http.ResponseWriter, _ *http.Request) {
	n.mu.Lock()
	closed := n.closed
	n.mu.Unlock()
	if closed {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	_, _ = fmt.Fprintln(w, "OK")
}

// validator lets clients learn why a join failed: 200 when the request would be accepted, 401
// (or 400) with the reason otherwise.
func (n *Node) validator(params paramsFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		grants, err := n.keys.verifyJoin(tokenFromRequest(r))
		if err == nil {
			_, err = params(r, grants)
		}
		if err != nil {
			writeError(w, err)
			return
		}
		_, _ = fmt.Fprintln(w, "success")
	}
}

func writeError(w http.ResponseWriter, err error) {
	status := httpStatus(err)
	if errors.Is(err, ErrBadRequest) {
		status = http.StatusBadRequest
	}
	http.Error(w, err.Error(), status)
}
