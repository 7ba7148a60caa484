package config

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/tlsgate/tlsgate/store"
)

// Kind is a kind of object of an environment, as it is named in store keys and in Edge's
// management API routes.
type Kind string

// The kinds of objects an environment holds.
const (
	KindKeystore     Kind = "keystores"
	KindReference    Kind = "references"
	KindVirtualHost  Kind = "virtualhosts"
	KindTargetServer Kind = "targetservers"
	KindProxy        Kind = "proxies"
)

// Kinds that are not objects of an environment, for ObjectRef, Change and CheckName:
// organizations and environments (kept under OrgKey and EnvKey), and aliases (kept inside
// their keystore).
const (
	KindOrganization Kind = "organizations"
	KindEnvironment  Kind = "environments"
	KindAlias        Kind = "aliases"
)

// Kinds returns the kinds of objects of an environment, in the order they are written.
func Kinds() []Kind {
	return []Kind{KindKeystore, KindReference, KindVirtualHost, KindTargetServer, KindProxy}
}

// The layout of the store. Each organization is a record at OrgKey, each environment a
// record at EnvKey (both Record, JSON), and each object of an environment is the JSON of
// its model type (Keystore with its aliases and sealed keys, Reference, VirtualHost,
// TargetServer, Proxy) at ObjectKey:
//
//	/org/ORG                      {"name":"ORG"}
//	/env/ORG/ENV                  {"name":"ENV"}
//	/cfg/ORG/ENV/KIND/NAME        the object
//
// A name is one path segment, escaped as url.PathEscape does: a valid name (CheckName) is
// unchanged, and a name holding '/' cannot reach another key. An empty name gives the
// prefix of its siblings: OrgKey("") is the prefix of every organization, EnvKey(org, "")
// that of org's environments.
const (
	ConfigPrefix = "/cfg/"
	orgPrefix    = "/org/"
	envPrefix    = "/env/"
)

// Record is the value of an organization's or environment's key.
type Record struct {
	Name string `json:"name"`
}

func segment(name string) string { return url.PathEscape(name) }

// OrgKey is the key of an organization's record.
func OrgKey(org string) string { return orgPrefix + segment(org) }

// EnvKey is the key of an environment's record.
func EnvKey(org, env string) string { return envPrefix + segment(org) + "/" + segment(env) }

// EnvPrefix is the prefix of every object of an environment: "/cfg/ORG/ENV/".
func EnvPrefix(org, env string) string {
	return ConfigPrefix + segment(org) + "/" + segment(env) + "/"
}

// ObjectPrefix is the prefix of an environment's objects of one kind.
func ObjectPrefix(org, env string, kind Kind) string {
	return EnvPrefix(org, env) + string(kind) + "/"
}

// ObjectKey is the key of one object.
func ObjectKey(org, env string, kind Kind, name string) string {
	return ObjectPrefix(org, env, kind) + segment(name)
}

// LoadEnvironment reads an environment's objects in one List, each kind sorted by name,
// and the revision they were read at. An environment without a record yields an error
// that wraps store.ErrNotFound. Keys of kinds this version does not know are skipped.
func LoadEnvironment(ctx context.Context, s store.Store, org, env string) (*Environment, int64, error) {
	if _, err := s.Get(ctx, EnvKey(org, env)); err != nil {
		return nil, 0, fmt.Errorf("loading environment %q of organization %q: %w", env, org, err)
	}
	prefix := EnvPrefix(org, env)
	kvs, rev, err := s.List(ctx, prefix)
	if err != nil {
		return nil, 0, fmt.Errorf("loading environment %q of organization %q: %w", env, org, err)
	}
	e := &Environment{Name: env}
	for _, kv := range kvs {
		kind, name, _ := strings.Cut(strings.TrimPrefix(kv.Key, prefix), "/")
		if err := e.decode(Kind(kind), name, kv); err != nil {
			return nil, 0, err
		}
	}
	return e, rev, nil
}

// decode appends the object kv holds to e, named by its key.
func (e *Environment) decode(kind Kind, escaped string, kv store.KV) error {
	name, err := url.PathUnescape(escaped)
	if err != nil {
		return fmt.Errorf("store key %q: %w", kv.Key, err)
	}
	switch kind {
	case KindKeystore:
		return decodeInto(&e.Keystores, kv, func(x *Keystore) { x.Name = name })
	case KindReference:
		return decodeInto(&e.References, kv, func(x *Reference) { x.Name = name })
	case KindVirtualHost:
		return decodeInto(&e.VirtualHosts, kv, func(x *VirtualHost) { x.Name = name })
	case KindTargetServer:
		return decodeInto(&e.TargetServers, kv, func(x *TargetServer) { x.Name = name })
	case KindProxy:
		return decodeInto(&e.Proxies, kv, func(x *Proxy) { x.Name = name })
	}
	return nil
}

// decodeInto decodes kv's value and appends it to list, named by setName.
func decodeInto[T any](list *[]T, kv store.KV, setName func(*T)) error {
	var v T
	if err := json.Unmarshal(kv.Value, &v); err != nil {
		return fmt.Errorf("store key %q: %w", kv.Key, err)
	}
	setName(&v)
	*list = append(*list, v)
	return nil
}

// loadAttempts is how many times Load reads again when the store changed between its
// reads.
const loadAttempts = 5

// Load reads every organization, environment and object, sorted by name, as one
// consistent snapshot, and the revision it was read at. Environments whose organization
// has no record, and objects whose environment has none, are left out.
func Load(ctx context.Context, s store.Store) (*Document, int64, error) {
	for range loadAttempts {
		orgs, rev, err := s.List(ctx, orgPrefix)
		if err != nil {
			return nil, 0, fmt.Errorf("loading organizations: %w", err)
		}
		envs, _, err := s.List(ctx, envPrefix)
		if err != nil {
			return nil, 0, fmt.Errorf("loading environments: %w", err)
		}
		objs, last, err := s.List(ctx, ConfigPrefix)
		if err != nil {
			return nil, 0, fmt.Errorf("loading the configuration: %w", err)
		}
		if last != rev {
			continue // a write came between the reads: they are not one snapshot
		}
		d, err := assemble(orgs, envs, objs)
		return d, rev, err
	}
	return nil, 0, fmt.Errorf("loading the configuration: the store changed during each of %d reads: %w", loadAttempts, store.ErrConflict)
}

// assemble builds the document from the records and objects of the store.
func assemble(orgs, envs, objs []store.KV) (*Document, error) {
	d := &Document{Organizations: []Organization{}}
	byOrg := map[string]int{}
	for _, kv := range orgs {
		name, err := url.PathUnescape(strings.TrimPrefix(kv.Key, orgPrefix))
		if err != nil || strings.Contains(strings.TrimPrefix(kv.Key, orgPrefix), "/") {
			continue
		}
		byOrg[name] = len(d.Organizations)
		d.Organizations = append(d.Organizations, Organization{Name: name})
	}
	type envAt struct{ org, env int }
	byEnv := map[string]envAt{} // by EnvPrefix
	for _, kv := range envs {
		o, e, ok := strings.Cut(strings.TrimPrefix(kv.Key, envPrefix), "/")
		org, err1 := url.PathUnescape(o)
		env, err2 := url.PathUnescape(e)
		i, known := byOrg[org]
		if !ok || err1 != nil || err2 != nil || !known || strings.Contains(e, "/") {
			continue
		}
		d.Organizations[i].Environments = append(d.Organizations[i].Environments, Environment{Name: env})
	}
	for i := range d.Organizations {
		o := &d.Organizations[i]
		slices.SortFunc(o.Environments, func(a, b Environment) int { return strings.Compare(a.Name, b.Name) })
		for j := range o.Environments {
			byEnv[EnvPrefix(o.Name, o.Environments[j].Name)] = envAt{i, j}
		}
	}
	for _, kv := range objs {
		parts := strings.SplitN(strings.TrimPrefix(kv.Key, ConfigPrefix), "/", 4)
		if len(parts) != 4 {
			continue
		}
		at, ok := byEnv[ConfigPrefix+parts[0]+"/"+parts[1]+"/"]
		if !ok {
			continue
		}
		if err := d.Organizations[at.org].Environments[at.env].decode(Kind(parts[2]), parts[3], kv); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(d.Organizations, func(a, b Organization) int { return strings.Compare(a.Name, b.Name) })
	return d, nil
}

// Sealer seals private keys at rest and opens them; *masterkey.Key is one. Seal binds the
// sealed value to ad (where it is kept); Open fails unless given the same ad. Both are
// safe for concurrent use.
type Sealer interface {
	Seal(plaintext, ad []byte) ([]byte, error)
	Open(sealed, ad []byte) ([]byte, error)
}

// SealAD is the additional data that binds an alias's sealed key to its place: the
// keystore's key, "#" and the alias. A sealed key copied to another alias, keystore,
// environment or organization does not open.
func SealAD(org, env, keystore, alias string) []byte {
	return []byte(ObjectKey(org, env, KindKeystore, keystore) + "#" + alias)
}

// OpenKey opens the sealed private key of alias a of keystore ks in org/env.
func OpenKey(s Sealer, org, env, ks string, a *Alias) (crypto.PrivateKey, error) {
	if len(a.SealedKey) == 0 {
		return nil, fmt.Errorf("alias %q of keystore %q holds no private key", a.Name, ks)
	}
	der, err := s.Open(a.SealedKey, SealAD(org, env, ks, a.Name))
	if err != nil {
		return nil, fmt.Errorf("opening the key of alias %q of keystore %q: %w", a.Name, ks, err)
	}
	defer clear(der)
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("opening the key of alias %q of keystore %q: %w", a.Name, ks, errors.New("not a PKCS#8 private key"))
	}
	return key, nil
}
