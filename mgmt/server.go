// Package mgmt serves tlsgate's management API: Apigee Edge's v1 routes and shapes for
// organizations, environments, keystores and truststores, references, virtual hosts,
// target servers and the trial handshake (testssl), plus apply, export and the audit log.
// Every change is one store transaction carrying its audit record; private keys are
// sealed under the master key and never leave through any route.
package mgmt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/observe"
	"github.com/tlsgate/tlsgate/store"
)

// Body limits: Edge refuses certificate uploads over 50 KB; other bodies are bounded too.
const (
	MaxUploadBytes = 50 << 10
	MaxBodyBytes   = 1 << 20
)

// Options configure a Server.
type Options struct {
	Store  store.Store
	Sealer config.Sealer // seals private keys (a *masterkey.Key)
	Logger *slog.Logger  // default: discard
	Now    func() time.Time
	// Version is reported by GET /tlsgate/v1/status.
	Version string
	// Findings, when set, serves GET /tlsgate/v1/findings[/{messageid}]: the gateway's
	// findings of failed requests.
	Findings *observe.Findings
	// Runtime, when set, is the gateway whose served revision and counters
	// GET /tlsgate/v1/status reports.
	Runtime Runtime
	// Node is this process's node name in a cluster: findings it does not hold are asked
	// of the other nodes that report to the store.
	Node string
	// ReportEvery is how often the gateway nodes sharing the store report (package
	// cluster); status calls a node silent after three periods without a report. 0 means
	// cluster.DefaultEvery.
	ReportEvery time.Duration
}

// Runtime is what the management API reports of a gateway running in the same process.
type Runtime interface {
	Revision() int64
	Counters() map[string]int64
	Problems() []string
	Health() any
}

// Server is the management API. Create it with New; serve Handler().
type Server struct {
	store  store.Store
	sealer config.Sealer
	log    *slog.Logger
	now    func() time.Time
	mux    *http.ServeMux
	ver    string
	found  *observe.Findings
	rt     Runtime
	every  time.Duration // how often gateway nodes report (Options.ReportEvery)
	node   string        // Options.Node
}

// New returns a Server over o.Store.
func New(o Options) (*Server, error) {
	if o.Store == nil || o.Sealer == nil {
		return nil, errors.New("mgmt: a store and a sealer are required")
	}
	s := &Server{store: o.Store, sealer: o.Sealer, log: o.Logger, now: o.Now, mux: http.NewServeMux(), ver: o.Version, found: o.Findings, rt: o.Runtime, every: o.ReportEvery, node: o.Node}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.routes()
	return s, nil
}

// handlerFunc is a route: it writes a response, or returns an error written as Edge's
// error JSON.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// envRoute registers h for method and path below an environment, under both Edge
// spellings: /v1/organizations/{org}/environments/{env}/PATH and /v1/o/{org}/e/{env}/PATH.
func (s *Server) envRoute(method, path string, h handlerFunc) {
	for _, base := range []string{"/v1/organizations/{org}/environments/{env}", "/v1/o/{org}/e/{env}"} {
		s.mux.Handle(method+" "+base+path, s.wrap(h))
	}
}

// orgRoute registers h below an organization under both spellings.
func (s *Server) orgRoute(method, path string, h handlerFunc) {
	for _, base := range []string{"/v1/organizations", "/v1/o"} {
		s.mux.Handle(method+" "+base+path, s.wrap(h))
	}
}

// Handler returns the API: every route requires a token, except GET /tlsgate/v1/health.
func (s *Server) Handler() http.Handler { return s }

// ServeHTTP authenticates, routes, and logs one line per request (never a body).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
			if !rw.wrote {
				s.writeError(rw, r, errors.New("panic"))
			}
		}
		s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rw.status,
			"who", principalName(r.Context()), "duration_ms", s.now().Sub(start).Milliseconds())
	}()
	if r.URL.Path == "/tlsgate/v1/health" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
		return
	}
	p, err := s.authenticate(r)
	if err != nil {
		rw.Header().Set("WWW-Authenticate", `Bearer realm="tlsgate", Basic realm="tlsgate"`)
		s.writeError(rw, r, err)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
	_, pattern := s.mux.Handler(r)
	if pattern == "" {
		s.writeError(rw, r, s.noRoute(r))
		return
	}
	s.mux.ServeHTTP(rw, r)
}

// noRoute tells 405 (the path exists for another method) from 404.
func (s *Server) noRoute(r *http.Request) error {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pat := s.mux.Handler(probe); pat != "" {
			return errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path)
		}
	}
	return notFound(CodeNotFound, "no route %s %s", r.Method, r.URL.Path)
}

func (s *Server) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// writeJSON writes v, indented as Edge does, with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// readBody reads the request body up to limit bytes; a larger body is a 413 naming the
// limit.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, badRequest("reading the request body: %v", err)
	}
	if int64(len(data)) > limit {
		return nil, tooLarge(limit)
	}
	return data, nil
}

func tooLarge(limit int64) *Error {
	return errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "request body is larger than %d KB, the limit of this route", limit>>10)
}

// mediaType returns the request's media type without parameters, lower case.
func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Type")))
	}
	return mt
}

// isXML reports whether the body is XML, as Edge accepts for some routes.
func isXML(r *http.Request) bool {
	mt := mediaType(r)
	return mt == "application/xml" || mt == "text/xml"
}

// decodeJSON decodes a JSON body into v (unknown fields are ignored, as old scripts send
// Edge's read-only fields back), naming the field or offset at fault.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return badRequest("malformed JSON at byte %d: %v", se.Offset, err)
		case errors.As(err, &te):
			return badRequest("JSON field %q: want %s, got %s", te.Field, te.Type, te.Value)
		}
		return badRequest("malformed JSON: %v", err)
	}
	return nil
}
