package mgmt

// Keystores and truststores: Edge's one entity for both. A keystore is kept as one store
// value (config.Keystore, its aliases inside, each private key sealed under the master
// key), so every change to a keystore or one of its aliases is one read, one check of
// everything, and one conditional commit: a failed upload writes nothing.

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/store"
)

// keystoreRoutes registers Edge's keystore, alias and certificate routes.
func (s *Server) keystoreRoutes() {
	s.envRoute("GET", "/keystores", s.listKeystores)
	s.envRoute("POST", "/keystores", s.createKeystore)
	s.envRoute("GET", "/keystores/{ks}", s.getKeystore)
	s.envRoute("DELETE", "/keystores/{ks}", s.deleteKeystore)

	s.envRoute("GET", "/keystores/{ks}/aliases", s.listAliases)
	s.envRoute("POST", "/keystores/{ks}/aliases", s.createAlias)
	s.envRoute("GET", "/keystores/{ks}/aliases/{alias}", s.getAlias)
	s.envRoute("PUT", "/keystores/{ks}/aliases/{alias}", s.updateAliasCert)
	s.envRoute("DELETE", "/keystores/{ks}/aliases/{alias}", s.deleteAlias)
	s.envRoute("GET", "/keystores/{ks}/aliases/{alias}/certificate", s.getAliasCertificate)
	s.envRoute("GET", "/keystores/{ks}/aliases/{alias}/csr", s.getAliasCSR)
	// Edge before 4.18.01 took a JAR at .../keys?alias=A; it is format=keycertjar.
	s.envRoute("POST", "/keystores/{ks}/keys", s.createAlias)

	s.envRoute("GET", "/keystores/{ks}/certs", s.listCerts)
	s.envRoute("POST", "/keystores/{ks}/certs", s.uploadCert)
	s.envRoute("GET", "/keystores/{ks}/certs/{cert}", s.getCert)
	s.envRoute("DELETE", "/keystores/{ks}/certs/{cert}", s.deleteCert)
	s.envRoute("GET", "/keystores/{ks}/certs/{cert}/export", s.exportCert)
}

// keystoreView is Edge's keystore JSON.
type keystoreView struct {
	Aliases []aliasEntry `json:"aliases"`
	Certs   []string     `json:"certs"`
	Keys    []string     `json:"keys"`
	Name    string       `json:"name"`
}

// aliasEntry is one alias in Edge's keystore JSON; Key is absent for a certificate only.
type aliasEntry struct {
	AliasName string `json:"aliasName"`
	Cert      string `json:"cert"`
	Key       string `json:"key,omitempty"`
}

func viewKeystore(ks *config.Keystore) keystoreView {
	v := keystoreView{Aliases: []aliasEntry{}, Certs: []string{}, Keys: []string{}, Name: ks.Name}
	for i := range ks.Aliases {
		a := &ks.Aliases[i]
		e := aliasEntry{AliasName: a.Name, Cert: a.EffectiveCertName()}
		if a.HasKey() {
			e.Key = a.Name
			v.Keys = append(v.Keys, a.Name)
		}
		v.Aliases = append(v.Aliases, e)
		v.Certs = append(v.Certs, e.Cert)
	}
	return v
}

// certsInfo is Edge's certificate details: {"certInfo":[...],"certName":"..."}, one
// certInfo per certificate of the chain, leaf first.
type certsInfo struct {
	CertInfo []pki.CertInfo `json:"certInfo"`
	CertName string         `json:"certName"`
}

// aliasView is Edge's Alias JSON; KeyName is absent for a certificate only.
type aliasView struct {
	Alias     string    `json:"alias"`
	CertsInfo certsInfo `json:"certsInfo"`
	KeyName   string    `json:"keyName,omitempty"`
}

func (s *Server) viewCerts(a *config.Alias) (certsInfo, error) {
	certs, err := storedChain(a)
	if err != nil {
		return certsInfo{}, err
	}
	v := certsInfo{CertInfo: make([]pki.CertInfo, 0, len(certs)), CertName: a.EffectiveCertName()}
	now := s.now()
	for _, c := range certs {
		v.CertInfo = append(v.CertInfo, pki.EdgeCertInfo(c, now))
	}
	return v, nil
}

func (s *Server) viewAlias(a *config.Alias) (aliasView, error) {
	ci, err := s.viewCerts(a)
	if err != nil {
		return aliasView{}, err
	}
	v := aliasView{Alias: a.Name, CertsInfo: ci}
	if a.HasKey() {
		v.KeyName = a.Name
	}
	return v, nil
}

// storedChain parses an alias's chain as the store keeps it.
func storedChain(a *config.Alias) ([]*x509.Certificate, error) {
	certs, err := pki.ParseCertificates([]byte(a.Cert))
	if err != nil {
		return nil, fmt.Errorf("alias %s: stored certificate: %w", a.Name, err)
	}
	return certs, nil
}

// loadedKeystore is a keystore read for a change: its value and the revision to commit
// against.
type loadedKeystore struct {
	org, env string
	ks       *config.Keystore
	kv       store.KV
}

// loadKeystore reads the keystore named in the path, or returns Edge's 404.
func (s *Server) loadKeystore(r *http.Request) (*loadedKeystore, error) {
	org, env, name := r.PathValue("org"), r.PathValue("env"), r.PathValue("ks")
	if err := s.needEnv(r, org, env); err != nil {
		return nil, err
	}
	kv, err := s.store.Get(r.Context(), config.ObjectKey(org, env, config.KindKeystore, name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(CodeKeystoreNotFound, "keystore %s does not exist in environment %s of organization %s", name, env, org)
	}
	if err != nil {
		return nil, err
	}
	ks := &config.Keystore{}
	if err := json.Unmarshal(kv.Value, ks); err != nil {
		return nil, fmt.Errorf("keystore %s: stored value: %w", name, err)
	}
	return &loadedKeystore{org: org, env: env, ks: ks, kv: kv}, nil
}

// maxSaveAttempts bounds how often save reads a keystore again after another change to
// it landed first. Each retry means another change committed, so up to this many
// concurrent changes to one keystore all land.
const maxSaveAttempts = 10

// save applies edit to the keystore l, validates the result against its environment and
// commits it with detail in the audit record, if nobody changed the keystore since it
// was read. If somebody did (another upload to the same keystore, say), it reads the
// keystore again and applies edit again, so concurrent changes of different aliases all
// land; edit therefore makes its own checks (the alias exists, is free, ...).
func (s *Server) save(r *http.Request, l *loadedKeystore, detail string, edit func(*loadedKeystore) error) error {
	for attempt := 1; ; attempt++ {
		if err := edit(l); err != nil {
			return err
		}
		value, err := json.Marshal(l.ks)
		if err != nil {
			return err
		}
		if err := s.validateWith(r, l.org, l.env, config.KindKeystore, l.ks.Name, value); err != nil {
			return err
		}
		_, err = s.commit(r, detail, []store.Cond{{Key: l.kv.Key, ModRevision: l.kv.ModRevision}},
			[]store.Op{store.Put(l.kv.Key, value)})
		var e *Error
		if err == nil || !errors.As(err, &e) || e.Code != CodeConflict || attempt == maxSaveAttempts {
			return err
		}
		if l, err = s.loadKeystore(r); err != nil {
			return err
		}
	}
}

// findAlias returns the index of the alias named name, or -1.
func findAlias(ks *config.Keystore, name string) int {
	for i := range ks.Aliases {
		if ks.Aliases[i].Name == name {
			return i
		}
	}
	return -1
}

// findCert returns the index of the alias whose certificate is named name, or else of the
// alias named name, or -1.
func findCert(ks *config.Keystore, name string) int {
	for i := range ks.Aliases {
		if ks.Aliases[i].EffectiveCertName() == name {
			return i
		}
	}
	return findAlias(ks, name)
}

func aliasNotFound(l *loadedKeystore, alias string) error {
	return notFound(CodeAliasNotFound, "alias %s does not exist in keystore %s; GET .../keystores/%s/aliases lists them", alias, l.ks.Name, l.ks.Name)
}

// listKeystores serves GET .../keystores: the names.
func (s *Server) listKeystores(w http.ResponseWriter, r *http.Request) error {
	org, env := r.PathValue("org"), r.PathValue("env")
	if err := s.needEnv(r, org, env); err != nil {
		return err
	}
	prefix := config.ObjectPrefix(org, env, config.KindKeystore)
	kvs, _, err := s.store.List(r.Context(), prefix)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, names(kvs, prefix))
}

// createKeystore serves POST .../keystores with {"name":"ks"} or <KeyStore name="ks"/>.
func (s *Server) createKeystore(w http.ResponseWriter, r *http.Request) error {
	org, env := r.PathValue("org"), r.PathValue("env")
	if err := s.needEnv(r, org, env); err != nil {
		return err
	}
	data, err := readBody(r, MaxBodyBytes)
	if err != nil {
		return err
	}
	var name string
	if isXML(r) || bytes.HasPrefix(bytes.TrimSpace(data), []byte("<")) {
		var x struct {
			Name string `xml:"name,attr"`
		}
		if err := xmlUnmarshal(data, &x); err != nil {
			return err
		}
		name = x.Name
	} else {
		var j struct {
			Name string `json:"name"`
		}
		if err := decodeJSON(data, &j); err != nil {
			return err
		}
		name = j.Name
	}
	if name == "" {
		return badRequest(`keystore name is required: send {"name":"myKeystore"} or <KeyStore name="myKeystore"/>`)
	}
	if err := config.CheckName(config.KindKeystore, name); err != nil {
		return badRequest("%v", err)
	}
	key := config.ObjectKey(org, env, config.KindKeystore, name)
	exists := errorf(http.StatusConflict, CodeAlreadyExists, "keystore %s already exists in environment %s", name, env)
	switch _, err := s.store.Get(r.Context(), key); {
	case err == nil:
		return exists
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	ks := &config.Keystore{Name: name}
	value, err := json.Marshal(ks)
	if err != nil {
		return err
	}
	if err := s.validateWith(r, org, env, config.KindKeystore, name, value); err != nil {
		return err
	}
	if _, err := s.commit(r, "create keystore "+name, []store.Cond{{Key: key}}, []store.Op{store.Put(key, value)}); err != nil {
		var e *Error
		if errors.As(err, &e) && e.Status == http.StatusConflict {
			return exists
		}
		return err
	}
	return writeJSON(w, http.StatusCreated, viewKeystore(ks))
}

// getKeystore serves GET .../keystores/{ks}.
func (s *Server) getKeystore(w http.ResponseWriter, r *http.Request) error {
	l, err := s.loadKeystore(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewKeystore(l.ks))
}

// deleteKeystore serves DELETE .../keystores/{ks}, answering with what was deleted. As in
// Edge, virtual hosts and targets still naming the keystore then fail.
func (s *Server) deleteKeystore(w http.ResponseWriter, r *http.Request) error {
	l, err := s.loadKeystore(r)
	if err != nil {
		return err
	}
	if _, err := s.commit(r, "delete keystore "+l.ks.Name, []store.Cond{{Key: l.kv.Key, ModRevision: l.kv.ModRevision}},
		[]store.Op{store.Delete(l.kv.Key)}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewKeystore(l.ks))
}

// queryBool reads an optional boolean query flag (true/false, 1/0; absent is false).
func queryBool(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("query parameter %s: want true or false, got %q", name, v)
	}
	return b, nil
}

// expiryDate renders a certificate time in messages.
func expiryDate(t time.Time) string { return t.UTC().Format(time.RFC3339) }
