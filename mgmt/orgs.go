package mgmt

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/store"
)

// orgRecord is what the store keeps of an organization or environment; the JSON is Edge's
// shape (Edge adds more fields, which scripts do not depend on).
type orgRecord struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	CreatedAt   int64  `json:"createdAt,omitempty"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)

// checkName refuses names that cannot be a path segment or a store key part.
func checkName(what, name string) error {
	if !nameRE.MatchString(name) {
		return badRequest("invalid %s name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit, at most 255 characters", what, name)
	}
	return nil
}

// createOrg serves POST /v1/organizations {"name":"myorg"} (Edge Private Cloud).
func (s *Server) createOrg(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.readOrgRecord(r, "organization")
	if err != nil {
		return err
	}
	key := config.OrgKey(rec.Name)
	if _, err := s.commit(r, "create organization "+rec.Name, []store.Cond{{Key: key}}, []store.Op{store.Put(key, mustJSON(rec))}); err != nil {
		var e *Error
		if errors.As(err, &e) && e.Status == http.StatusConflict {
			return errorf(http.StatusConflict, CodeAlreadyExists, "organization %s already exists", rec.Name)
		}
		return err
	}
	return writeJSON(w, http.StatusCreated, orgView(rec, []string{}))
}

// createEnv serves POST /v1/organizations/{org}/environments {"name":"test"}.
func (s *Server) createEnv(w http.ResponseWriter, r *http.Request) error {
	org := r.PathValue("org")
	if err := s.needOrg(r, org); err != nil {
		return err
	}
	rec, err := s.readOrgRecord(r, "environment")
	if err != nil {
		return err
	}
	key := config.EnvKey(org, rec.Name)
	if _, err := s.commit(r, "create environment "+org+"/"+rec.Name, []store.Cond{{Key: key}}, []store.Op{store.Put(key, mustJSON(rec))}); err != nil {
		var e *Error
		if errors.As(err, &e) && e.Status == http.StatusConflict {
			return errorf(http.StatusConflict, CodeAlreadyExists, "environment %s already exists in organization %s", rec.Name, org)
		}
		return err
	}
	return writeJSON(w, http.StatusCreated, rec)
}

func (s *Server) readOrgRecord(r *http.Request, what string) (orgRecord, error) {
	data, err := readBody(r, MaxBodyBytes)
	if err != nil {
		return orgRecord{}, err
	}
	var rec orgRecord
	if isXML(r) {
		var x struct {
			Name        string `xml:"name,attr"`
			DisplayName string `xml:"DisplayName"`
		}
		if err := xmlUnmarshal(data, &x); err != nil {
			return rec, err
		}
		rec.Name, rec.DisplayName = x.Name, x.DisplayName
	} else if err := decodeJSON(data, &rec); err != nil {
		return rec, err
	}
	if rec.Name == "" {
		return rec, badRequest("%s name is required: send {\"name\":\"...\"}", what)
	}
	if err := checkName(what, rec.Name); err != nil {
		return rec, err
	}
	rec.CreatedAt = s.now().UnixMilli()
	return rec, nil
}

func orgView(rec orgRecord, envs []string) map[string]any {
	return map[string]any{"name": rec.Name, "displayName": rec.DisplayName, "createdAt": rec.CreatedAt, "environments": envs}
}

// listOrgs serves GET /v1/organizations: the names.
func (s *Server) listOrgs(w http.ResponseWriter, r *http.Request) error {
	kvs, _, err := s.store.List(r.Context(), config.OrgKey(""))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, names(kvs, config.OrgKey("")))
}

// getOrg serves GET /v1/organizations/{org}.
func (s *Server) getOrg(w http.ResponseWriter, r *http.Request) error {
	org := r.PathValue("org")
	kv, err := s.store.Get(r.Context(), config.OrgKey(org))
	if errors.Is(err, store.ErrNotFound) {
		return notFound(CodeOrgNotFound, "organization %s does not exist", org)
	}
	if err != nil {
		return err
	}
	var rec orgRecord
	if err := json.Unmarshal(kv.Value, &rec); err != nil {
		return err
	}
	envs, _, err := s.store.List(r.Context(), config.EnvKey(org, ""))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, orgView(rec, names(envs, config.EnvKey(org, ""))))
}

// listEnvs serves GET /v1/organizations/{org}/environments.
func (s *Server) listEnvs(w http.ResponseWriter, r *http.Request) error {
	org := r.PathValue("org")
	if err := s.needOrg(r, org); err != nil {
		return err
	}
	kvs, _, err := s.store.List(r.Context(), config.EnvKey(org, ""))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, names(kvs, config.EnvKey(org, "")))
}

// getEnv serves GET /v1/organizations/{org}/environments/{env}.
func (s *Server) getEnv(w http.ResponseWriter, r *http.Request) error {
	org, env := r.PathValue("org"), r.PathValue("env")
	if err := s.needEnv(r, org, env); err != nil {
		return err
	}
	kv, err := s.store.Get(r.Context(), config.EnvKey(org, env))
	if err != nil {
		return err
	}
	var rec orgRecord
	if err := json.Unmarshal(kv.Value, &rec); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rec)
}

// needOrg returns a 404 unless org exists.
func (s *Server) needOrg(r *http.Request, org string) error {
	_, err := s.store.Get(r.Context(), config.OrgKey(org))
	if errors.Is(err, store.ErrNotFound) {
		return notFound(CodeOrgNotFound, "organization %s does not exist; create it with POST /v1/organizations {\"name\":\"%s\"}", org, org)
	}
	return err
}

// needEnv returns a 404 unless org and env exist.
func (s *Server) needEnv(r *http.Request, org, env string) error {
	if err := s.needOrg(r, org); err != nil {
		return err
	}
	_, err := s.store.Get(r.Context(), config.EnvKey(org, env))
	if errors.Is(err, store.ErrNotFound) {
		return notFound(CodeEnvNotFound, "environment %s does not exist in organization %s; create it with POST /v1/organizations/%s/environments {\"name\":\"%s\"}", env, org, org, env)
	}
	return err
}

// names returns the last path segment of each key directly below prefix.
func names(kvs []store.KV, prefix string) []string {
	out := []string{}
	for _, kv := range kvs {
		rest := strings.TrimPrefix(kv.Key, prefix)
		if rest == "" || strings.Contains(rest, "/") {
			continue
		}
		out = append(out, rest)
	}
	return out
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}

var _ = time.Now
