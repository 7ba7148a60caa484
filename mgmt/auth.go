package mgmt

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/store"
)

// Tokens are kept hashed: the store holds SHA-256 of each token under TokenPrefix, never
// the token. A token is a random 32-byte value in base64url prefixed "tg_".
const TokenPrefix = "/tokens/"

// AdminTokenEnv, when set at first start, is the admin token instead of a random one.
const AdminTokenEnv = "TLSGATE_ADMIN_TOKEN"

// tokenRecord is what the store keeps of a token.
type tokenRecord struct {
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Created time.Time `json:"created"`
}

// principal is who made a request.
type principal struct {
	Name string
	Role string
}

type principalKey struct{}

func principalName(ctx context.Context) string {
	if p, ok := ctx.Value(principalKey{}).(principal); ok {
		return p.Name
	}
	return ""
}

func tokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return TokenPrefix + hex.EncodeToString(sum[:])
}

// NewToken returns a fresh random token.
func NewToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "tg_" + base64.RawURLEncoding.EncodeToString(b)
}

// Bootstrap creates the admin token when the store holds no token yet, and returns it
// (to be shown once) with created true. given, when not empty, is used as the token
// (TLSGATE_ADMIN_TOKEN). When tokens exist already it returns "", false: a token is never
// shown twice.
func Bootstrap(ctx context.Context, s store.Store, given string, now time.Time) (string, bool, error) {
	kvs, _, err := s.List(ctx, TokenPrefix)
	if err != nil {
		return "", false, fmt.Errorf("reading tokens: %w", err)
	}
	if len(kvs) > 0 {
		return "", false, nil
	}
	token := given
	if token == "" {
		token = NewToken()
	} else if len(token) < 16 {
		return "", false, fmt.Errorf("%s: a token needs at least 16 characters", AdminTokenEnv)
	}
	rec, _ := json.Marshal(tokenRecord{Name: "admin", Role: "admin", Created: now.UTC()})
	audit, _ := json.Marshal(AuditRecord{Who: "tlsgate", Action: "create admin token", Time: now.UTC(), Keys: []string{"/tokens/(admin)"}})
	_, err = s.Txn(ctx, []store.Cond{{Key: tokenKey(token), ModRevision: 0}},
		[]store.Op{store.Put(tokenKey(token), rec), store.Put(auditKey(now), audit)})
	if errors.Is(err, store.ErrConflict) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("storing the admin token: %w", err)
	}
	return token, true, nil
}

// authenticate reads a Bearer token, or Basic credentials whose password is a token (the
// user name is not checked; old scripts send one).
func (s *Server) authenticate(r *http.Request) (principal, error) {
	h := r.Header.Get("Authorization")
	var token string
	switch {
	case h == "":
		return principal{}, errorf(http.StatusUnauthorized, CodeUnauthorized,
			"authentication required: send Authorization: Bearer TOKEN (or Basic with the token as password)")
	case len(h) > 7 && strings.EqualFold(h[:7], "bearer "):
		token = strings.TrimSpace(h[7:])
	default:
		if _, pass, ok := r.BasicAuth(); ok {
			token = pass
		}
	}
	if token == "" || len(token) > 512 {
		return principal{}, errorf(http.StatusUnauthorized, CodeUnauthorized, "unsupported or empty Authorization header")
	}
	kv, err := s.store.Get(r.Context(), tokenKey(token))
	if errors.Is(err, store.ErrNotFound) {
		return principal{}, errorf(http.StatusUnauthorized, CodeUnauthorized, "invalid token")
	}
	if err != nil {
		return principal{}, err
	}
	// The lookup is by hash; compare again in constant time for form's sake.
	if subtle.ConstantTimeCompare([]byte(kv.Key), []byte(tokenKey(token))) != 1 {
		return principal{}, errorf(http.StatusUnauthorized, CodeUnauthorized, "invalid token")
	}
	var rec tokenRecord
	if err := json.Unmarshal(kv.Value, &rec); err != nil {
		return principal{}, fmt.Errorf("token record: %w", err)
	}
	return principal{Name: rec.Name, Role: rec.Role}, nil
}
