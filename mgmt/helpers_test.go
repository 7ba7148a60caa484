package mgmt

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/masterkey"
	"github.com/tlsgate/tlsgate/store"
	"github.com/tlsgate/tlsgate/store/boltstore"
)

// testAPI is a management API over real HTTP on loopback, with a real bolt store, a
// random master key and the server's log captured.
type testAPI struct {
	t      *testing.T
	srv    *httptest.Server
	api    *Server
	store  store.Store
	key    *masterkey.Key
	rawKey []byte
	token  string
	logs   *syncBuffer
	org    string
	env    string
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// newTestAPI starts the API with organization "org" and environment "test" created.
func newTestAPI(t *testing.T) *testAPI {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "tlsgate.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	raw := make([]byte, masterkey.Size)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	key, err := masterkey.New(raw)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	api, err := New(Options{Store: st, Sealer: key, Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	token, created, err := Bootstrap(context.Background(), st, "", time.Now())
	if err != nil || !created {
		t.Fatalf("bootstrap: %v, created %v", err, created)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	a := &testAPI{t: t, srv: srv, api: api, store: st, key: key, rawKey: raw, token: token, logs: logs, org: "org", env: "test"}
	a.mustDo("POST", "/v1/organizations", "application/json", []byte(`{"name":"org"}`), http.StatusCreated)
	a.mustDo("POST", "/v1/organizations/org/environments", "application/json", []byte(`{"name":"test"}`), http.StatusCreated)
	return a
}

// envPath returns the path of rest below the test environment.
func (a *testAPI) envPath(rest string) string {
	return "/v1/organizations/" + a.org + "/environments/" + a.env + rest
}

// do sends one request with the admin token and returns the status and body.
func (a *testAPI) do(method, path, contentType string, body []byte) (int, []byte) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return resp.StatusCode, data
}

// mustDo is do that fails the test unless the status is want.
func (a *testAPI) mustDo(method, path, contentType string, body []byte, want int) []byte {
	a.t.Helper()
	status, data := a.do(method, path, contentType, body)
	if status != want {
		a.t.Fatalf("%s %s: status %d; want %d; body %s", method, path, status, want, data)
	}
	return data
}

// decode unmarshals JSON or fails the test.
func decode[T any](t *testing.T, data []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
	return v
}
