package mgmt

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/store"
)

// kindSpec describes one kind of environment object served with Edge's CRUD routes:
// GET list (names), POST create, GET/PUT/DELETE one.
type kindSpec[T any] struct {
	kind     config.Kind
	what     string // "reference", "virtual host", ...
	notFound string // the error code of a missing object
	name     func(*T) *string
	// fromXML decodes Edge's XML form; nil when the route takes JSON only.
	fromXML func([]byte) (*T, error)
	// toXML renders Edge's XML form for Accept: application/xml; nil for JSON only.
	toXML func(*T) ([]byte, error)
	// normalize fills defaults before storing and before answering.
	normalize func(*T)
}

// registerKind adds the routes of one kind under path (e.g. "/references").
func registerKind[T any](s *Server, path string, k kindSpec[T]) {
	s.envRoute("GET", path, func(w http.ResponseWriter, r *http.Request) error { return listObjects(s, w, r, k) })
	s.envRoute("POST", path, func(w http.ResponseWriter, r *http.Request) error { return putObject(s, w, r, k, true) })
	s.envRoute("GET", path+"/{name}", func(w http.ResponseWriter, r *http.Request) error { return getObject(s, w, r, k) })
	s.envRoute("PUT", path+"/{name}", func(w http.ResponseWriter, r *http.Request) error { return putObject(s, w, r, k, false) })
	s.envRoute("DELETE", path+"/{name}", func(w http.ResponseWriter, r *http.Request) error { return deleteObject(s, w, r, k) })
}

func listObjects[T any](s *Server, w http.ResponseWriter, r *http.Request, k kindSpec[T]) error {
	org, env := r.PathValue("org"), r.PathValue("env")
	if err := s.needEnv(r, org, env); err != nil {
		return err
	}
	prefix := config.ObjectPrefix(org, env, k.kind)
	kvs, _, err := s.store.List(r.Context(), prefix)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, names(kvs, prefix))
}

// loadObject reads one object, or a 404 with the kind's code.
func loadObject[T any](s *Server, r *http.Request, k kindSpec[T], org, env, name string) (*T, store.KV, error) {
	if err := s.needEnv(r, org, env); err != nil {
		return nil, store.KV{}, err
	}
	kv, err := s.store.Get(r.Context(), config.ObjectKey(org, env, k.kind, name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, kv, notFound(k.notFound, "%s %s does not exist in environment %s of organization %s", k.what, name, env, org)
	}
	if err != nil {
		return nil, kv, err
	}
	v := new(T)
	if err := json.Unmarshal(kv.Value, v); err != nil {
		return nil, kv, fmt.Errorf("%s %s: stored value: %w", k.what, name, err)
	}
	if k.normalize != nil {
		k.normalize(v)
	}
	return v, kv, nil
}

func getObject[T any](s *Server, w http.ResponseWriter, r *http.Request, k kindSpec[T]) error {
	v, _, err := loadObject(s, r, k, r.PathValue("org"), r.PathValue("env"), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeObject(w, r, http.StatusOK, k, v)
}

// writeObject answers JSON, or Edge's XML when the client asks for it and the kind has one.
func writeObject[T any](w http.ResponseWriter, r *http.Request, status int, k kindSpec[T], v *T) error {
	if k.toXML != nil && wantsXML(r) {
		data, err := k.toXML(v)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		_, err = w.Write(data)
		return err
	}
	return writeJSON(w, status, v)
}

func wantsXML(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "application/xml") || strings.Contains(a, "text/xml")
}

// putObject creates (POST) or replaces (PUT) an object after validating it against the
// rest of its environment.
func putObject[T any](s *Server, w http.ResponseWriter, r *http.Request, k kindSpec[T], create bool) error {
	org, env := r.PathValue("org"), r.PathValue("env")
	if err := s.needEnv(r, org, env); err != nil {
		return err
	}
	data, err := readBody(r, MaxBodyBytes)
	if err != nil {
		return err
	}
	v := new(T)
	switch {
	case isXML(r) && k.fromXML != nil:
		if v, err = k.fromXML(data); err != nil {
			return badRequest("%s XML: %v", k.what, err)
		}
	case isXML(r):
		return errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "%s takes a JSON body (Content-Type: application/json)", k.what)
	default:
		if err := decodeJSON(data, v); err != nil {
			return err
		}
	}
	name := k.name(v)
	if create {
		if *name == "" {
			return badRequest("%s name is required", k.what)
		}
	} else {
		if *name != "" && *name != r.PathValue("name") {
			return badRequest("%s name %q in the body differs from %q in the path; renaming is not supported", k.what, *name, r.PathValue("name"))
		}
		*name = r.PathValue("name")
	}
	if err := checkName(k.what, *name); err != nil {
		return err
	}
	if k.normalize != nil {
		k.normalize(v)
	}
	key := config.ObjectKey(org, env, k.kind, *name)
	cur, err := s.store.Get(r.Context(), key)
	switch {
	case err == nil && create:
		return errorf(http.StatusConflict, CodeAlreadyExists, "%s %s already exists in environment %s; change it with PUT", k.what, *name, env)
	case errors.Is(err, store.ErrNotFound) && !create:
		return notFound(k.notFound, "%s %s does not exist in environment %s of organization %s", k.what, *name, env, org)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return err
	}
	value, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := s.validateWith(r, org, env, k.kind, *name, value); err != nil {
		return err
	}
	action := "update"
	if create {
		action = "create"
	}
	if _, err := s.commit(r, fmt.Sprintf("%s %s %s", action, k.what, *name),
		[]store.Cond{{Key: key, ModRevision: cur.ModRevision}}, []store.Op{store.Put(key, value)}); err != nil {
		return err
	}
	status := http.StatusOK
	if create {
		status = http.StatusCreated
	}
	return writeObject(w, r, status, k, v)
}

func deleteObject[T any](s *Server, w http.ResponseWriter, r *http.Request, k kindSpec[T]) error {
	org, env, name := r.PathValue("org"), r.PathValue("env"), r.PathValue("name")
	v, kv, err := loadObject(s, r, k, org, env, name)
	if err != nil {
		return err
	}
	if _, err := s.commit(r, fmt.Sprintf("delete %s %s", k.what, name),
		[]store.Cond{{Key: kv.Key, ModRevision: kv.ModRevision}}, []store.Op{store.Delete(kv.Key)}); err != nil {
		return err
	}
	return writeObject(w, r, http.StatusOK, k, v)
}

// validateWith loads the environment, puts value in place of the object (kind, name) and
// returns a 400 listing the problems of that object, if any. Problems of other objects
// are not this request's fault and do not block it.
func (s *Server) validateWith(r *http.Request, org, env string, kind config.Kind, name string, value []byte) error {
	e, _, err := config.LoadEnvironment(r.Context(), s.store, org, env)
	if err != nil {
		return err
	}
	if err := replaceObject(e, kind, name, value); err != nil {
		return err
	}
	var msgs []string
	for _, p := range e.Problems(s.now()) {
		if p.Object.Kind == kind && p.Object.Name == name {
			msgs = append(msgs, p.Path+": "+p.Message)
		}
	}
	if len(msgs) > 0 {
		return errorf(http.StatusBadRequest, CodeValidation, "%s", strings.Join(msgs, "; "))
	}
	return nil
}

// replaceObject puts the JSON value of (kind, name) into e, replacing the object of that
// name or adding it.
func replaceObject(e *config.Environment, kind config.Kind, name string, value []byte) error {
	switch kind {
	case config.KindKeystore:
		return replaceIn(&e.Keystores, value, func(x *config.Keystore) string { return x.Name }, name)
	case config.KindReference:
		return replaceIn(&e.References, value, func(x *config.Reference) string { return x.Name }, name)
	case config.KindVirtualHost:
		return replaceIn(&e.VirtualHosts, value, func(x *config.VirtualHost) string { return x.Name }, name)
	case config.KindTargetServer:
		return replaceIn(&e.TargetServers, value, func(x *config.TargetServer) string { return x.Name }, name)
	case config.KindProxy:
		return replaceIn(&e.Proxies, value, func(x *config.Proxy) string { return x.Name }, name)
	}
	return fmt.Errorf("unknown kind %q", kind)
}

func replaceIn[T any](list *[]T, value []byte, nameOf func(*T) string, name string) error {
	var v T
	if err := json.Unmarshal(value, &v); err != nil {
		return err
	}
	for i := range *list {
		if nameOf(&(*list)[i]) == name {
			(*list)[i] = v
			return nil
		}
	}
	*list = append(*list, v)
	return nil
}

// xmlUnmarshal decodes an XML body, naming the line of a syntax error.
func xmlUnmarshal(data []byte, v any) error {
	if err := xml.NewDecoder(bytes.NewReader(data)).Decode(v); err != nil {
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			return badRequest("malformed XML at line %d: %s", se.Line, se.Msg)
		}
		return badRequest("malformed XML: %v", err)
	}
	return nil
}
