package config

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/store"
)

// PlanOptions tunes Plan.
type PlanOptions struct {
	// Prune deletes the objects of the document's environments that the document does
	// not hold. Environments and organizations the document does not name are never
	// touched.
	Prune bool
	// Sealer seals the private keys given in clear; needed only when the document holds
	// some.
	Sealer Sealer
	// Now is the time certificates are validated at; zero means time.Now().
	Now time.Time
}

// The actions of a Change.
const (
	ActionCreate    = "create"
	ActionUpdate    = "update"
	ActionDelete    = "delete"
	ActionUnchanged = "unchanged"
)

// Change is what applying a plan does to one key. Org and environment records have Kind
// KindOrganization and KindEnvironment.
type Change struct {
	Action string `json:"action"`
	Key    string `json:"key"`
	Kind   Kind   `json:"kind"`
	Org    string `json:"org"`
	Env    string `json:"env,omitempty"`
	Name   string `json:"name"`
}

// ApplyPlan is one store transaction that makes the store hold a document.
type ApplyPlan struct {
	// Conds hold the revision Plan read of every key of the environments it read (0
	// for a key it creates) and of their organization and environment records: if any
	// changes before the transaction, it fails with store.ErrConflict.
	Conds   []store.Cond
	Ops     []store.Op
	Changes []Change
}

// Summary counts the changes: "3 created, 1 updated, 0 deleted, 5 unchanged".
func (p *ApplyPlan) Summary() string {
	n := map[string]int{}
	for _, c := range p.Changes {
		n[c.Action]++
	}
	return fmt.Sprintf("%d created, %d updated, %d deleted, %d unchanged",
		n[ActionCreate], n[ActionUpdate], n[ActionDelete], n[ActionUnchanged])
}

// Apply runs the plan as one transaction and returns the new revision.
func (p *ApplyPlan) Apply(ctx context.Context, s store.Store) (int64, error) {
	return s.Txn(ctx, p.Conds, p.Ops)
}

// Plan computes the transaction that makes the store hold d. It does not write.
//
// The result is validated as it would be stored: each environment of d merged with the
// stored objects d does not replace (or, with Prune, d's environment alone). Every
// problem of d's objects is reported, and the problems that d would cause in stored
// objects it does not replace; problems those had already do not block. Problems come
// back as a *ValidationError.
//
// Private keys: a clear key (Alias.Key) is checked against its leaf, marshalled as
// PKCS#8 and sealed with opts.Sealer and SealAD; if the stored alias has the same chain
// and its sealed key opens to the same key, the stored sealed value is kept, so applying
// a file again changes nothing. An alias given without a key keeps the stored sealed key
// when the stored alias has the same certificate chain, so an export applied again loses
// no key. If the chain changed and no key is given, the alias becomes a certificate-only
// alias; when a virtual host or target uses it as its KeyAlias that is a problem ("the
// stored key belongs to the old certificate"). A SealedKey given in d that is not the
// stored one must open (opts.Sealer) at its place and match its leaf. No op value ever
// holds a clear key.
//
// CertName, when empty, becomes DefaultCertName: "<alias>-cert" for an alias with a
// key, the alias name for a certificate only. Organization and environment records are
// created when missing. An object whose JSON is unchanged gets no op.
func Plan(ctx context.Context, s store.Store, d *Document, opts PlanOptions) (*ApplyPlan, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	work := cloneDocument(d)
	pl := &planner{s: s, opts: opts, plan: &ApplyPlan{}, orgs: map[string]*store.KV{}, envs: map[[2]int]*planEnv{}}
	if err := pl.read(ctx, work); err != nil {
		return nil, err
	}
	if problems := pl.check(work); len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	for i := range work.Organizations {
		o := &work.Organizations[i]
		pl.record(KindOrganization, OrgKey(o.Name), pl.orgs[o.Name], Change{Org: o.Name, Name: o.Name})
		for j := range o.Environments {
			pe := pl.envs[[2]int{i, j}]
			if err := pl.sealKeys(pe); err != nil {
				return nil, err
			}
			pl.record(KindEnvironment, EnvKey(pe.org, pe.env), pe.record, Change{Org: pe.org, Env: pe.env, Name: pe.env})
			if err := pl.objects(pe); err != nil {
				return nil, err
			}
		}
	}
	return pl.plan, nil
}

// planner holds what Plan read and builds.
type planner struct {
	s    store.Store
	opts PlanOptions
	plan *ApplyPlan
	orgs map[string]*store.KV // organization → its record, nil when missing
	envs map[[2]int]*planEnv  // by the indexes of organization and environment in d
}

// planEnv is one environment of the document with what the store holds of it.
type planEnv struct {
	org, env string
	given    *Environment        // the document's (a copy Plan modifies)
	stored   *Environment        // the store's
	record   *store.KV           // the environment's record, nil when missing
	kvs      map[string]store.KV // the environment's objects, by key
	dropped  []droppedKey
}

// droppedKey is an alias given without a key whose stored key was not kept: its chain
// changed.
type droppedKey struct {
	path, keystore, alias string
}

// read reads the records and objects of d's organizations and environments, and keeps
// the stored sealed keys of aliases given without one.
func (pl *planner) read(ctx context.Context, d *Document) error {
	for i := range d.Organizations {
		o := &d.Organizations[i]
		kv, err := pl.get(ctx, OrgKey(o.Name))
		if err != nil {
			return err
		}
		pl.orgs[o.Name] = kv
		for j := range o.Environments {
			e := &o.Environments[j]
			pe := &planEnv{org: o.Name, env: e.Name, given: e, stored: &Environment{Name: e.Name}, kvs: map[string]store.KV{}}
			if pe.record, err = pl.get(ctx, EnvKey(o.Name, e.Name)); err != nil {
				return err
			}
			prefix := EnvPrefix(o.Name, e.Name)
			kvs, _, err := pl.s.List(ctx, prefix)
			if err != nil {
				return fmt.Errorf("planning: reading %s: %w", prefix, err)
			}
			for _, kv := range kvs {
				kind, name, _ := strings.Cut(strings.TrimPrefix(kv.Key, prefix), "/")
				if !slices.Contains(Kinds(), Kind(kind)) {
					continue
				}
				if err := pe.stored.decode(Kind(kind), name, kv); err != nil {
					return fmt.Errorf("planning: %w", err)
				}
				pe.kvs[kv.Key] = kv
			}
			pe.keepKeys()
			pl.envs[[2]int{i, j}] = pe
		}
	}
	return nil
}

// get reads a key, nil when it does not exist.
func (pl *planner) get(ctx context.Context, key string) (*store.KV, error) {
	kv, err := pl.s.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("planning: reading %s: %w", key, err)
	}
	return &kv, nil
}

// keepKeys gives each alias given without a key the stored alias's sealed key when the
// chains are the same, and notes the aliases whose key is dropped.
func (pe *planEnv) keepKeys() {
	for k := range pe.given.Keystores {
		ks := &pe.given.Keystores[k]
		sks := pe.stored.Keystore(ks.Name)
		if sks == nil {
			continue
		}
		for l := range ks.Aliases {
			a := &ks.Aliases[l]
			sa := sks.Alias(a.Name)
			if a.HasKey() || sa == nil || len(sa.SealedKey) == 0 {
				continue
			}
			if sameChain(a.Cert, sa.Cert) {
				a.SealedKey = sa.SealedKey
				continue
			}
			pe.dropped = append(pe.dropped, droppedKey{
				path:     elem("keystores", ks.Name, k) + "." + elem("aliases", a.Name, l) + ".cert",
				keystore: ks.Name, alias: a.Name,
			})
		}
	}
}

// sameChain reports whether two PEM chains hold the same certificates.
func sameChain(a, b string) bool {
	if a == b {
		return true
	}
	ca, err1 := pki.ParseCertificates([]byte(a))
	cb, err2 := pki.ParseCertificates([]byte(b))
	if err1 != nil || err2 != nil || len(ca) != len(cb) {
		return false
	}
	for i := range ca {
		if !ca[i].Equal(cb[i]) {
			return false
		}
	}
	return true
}

// check validates what the store would hold and returns the problems d answers for.
func (pl *planner) check(d *Document) []Problem {
	result := &Document{Organizations: make([]Organization, len(d.Organizations))}
	for i, o := range d.Organizations {
		result.Organizations[i] = Organization{Name: o.Name, Environments: make([]Environment, len(o.Environments))}
		for j := range o.Environments {
			pe := pl.envs[[2]int{i, j}]
			r := pe.given
			if !pl.opts.Prune {
				r = mergeEnv(pe.stored, pe.given)
			}
			result.Organizations[i].Environments[j] = *r
		}
	}
	return result.walk(func(i, j int, r *Environment) []Problem {
		pe := pl.envs[[2]int{i, j}]
		old := map[string]bool{}
		for _, p := range pe.stored.Problems(pl.opts.Now) {
			old[p.String()] = true
		}
		mine := map[ObjectRef]bool{}
		for _, ref := range objectRefs(pe.given) {
			mine[ref] = true
		}
		var out []Problem
		for _, p := range r.Problems(pl.opts.Now) {
			if !old[p.String()] || mine[p.Object] {
				out = append(out, p)
			}
		}
		return append(out, pl.keyProblems(pe, r)...)
	})
}

// keyProblems reports the aliases whose stored key was dropped while a virtual host or
// target uses them, and sealed keys given in the document that do not open or match.
func (pl *planner) keyProblems(pe *planEnv, r *Environment) []Problem {
	var out []Problem
	for _, dk := range pe.dropped {
		users := keyAliasUsers(r, dk.keystore, dk.alias)
		if len(users) == 0 {
			continue
		}
		verb := "uses"
		if len(users) > 1 {
			verb = "use"
		}
		out = append(out, Problem{dk.path, ObjectRef{KindKeystore, dk.keystore}, fmt.Sprintf(
			"the certificate differs from the stored one and no key was given: the stored key belongs to the old certificate, and %s %s this alias as keyAlias; give the new certificate's key (key or keyFile)",
			strings.Join(users, ", "), verb)})
	}
	for k := range pe.given.Keystores {
		ks := &pe.given.Keystores[k]
		for l := range ks.Aliases {
			a := &ks.Aliases[l]
			if len(a.SealedKey) == 0 || a.Key != "" {
				continue
			}
			if sks := pe.stored.Keystore(ks.Name); sks != nil {
				if sa := sks.Alias(a.Name); sa != nil && bytes.Equal(sa.SealedKey, a.SealedKey) {
					continue
				}
			}
			path := elem("keystores", ks.Name, k) + "." + elem("aliases", a.Name, l) + ".sealedKey"
			if msg := pl.checkSealed(pe, ks.Name, a); msg != "" {
				out = append(out, Problem{path, ObjectRef{KindKeystore, ks.Name}, msg})
			}
		}
	}
	return out
}

// checkSealed says what is wrong with a sealed key given in the document, or "".
func (pl *planner) checkSealed(pe *planEnv, ks string, a *Alias) string {
	if pl.opts.Sealer == nil {
		return "a sealed key that is not the stored one cannot be checked without the master key"
	}
	key, err := OpenKey(pl.opts.Sealer, pe.org, pe.env, ks, a)
	if err != nil {
		return "the sealed key does not open here: it was sealed for another alias or under another master key; give the key in clear (key or keyFile)"
	}
	certs, err := pki.ParseCertificates([]byte(a.Cert))
	if err == nil && !pki.KeyMatches(certs[0], key) {
		return "the sealed key does not belong to the leaf certificate"
	}
	return ""
}

// keyAliasUsers names the virtual hosts, target servers and proxies whose SSLInfo uses
// alias of keystore ks as KeyAlias.
func keyAliasUsers(e *Environment, ks, alias string) []string {
	var users []string
	uses := func(s *SSLInfo) bool {
		if s == nil || s.KeyAlias != alias {
			return false
		}
		k, err := ResolveStore(e, s.KeyStore)
		return err == nil && k.Name == ks
	}
	for i := range e.VirtualHosts {
		if uses(e.VirtualHosts[i].SSLInfo) {
			users = append(users, elem("virtualHosts", e.VirtualHosts[i].Name, i))
		}
	}
	for i := range e.TargetServers {
		if uses(e.TargetServers[i].SSLInfo) {
			users = append(users, elem("targetServers", e.TargetServers[i].Name, i))
		}
	}
	for i := range e.Proxies {
		if uses(e.Proxies[i].Target.SSLInfo) {
			users = append(users, elem("proxies", e.Proxies[i].Name, i))
		}
	}
	return users
}

// sealKeys seals the clear keys of pe's aliases (or keeps the stored sealed value when it
// holds the same key), clears every clear field, and sets default certificate names.
func (pl *planner) sealKeys(pe *planEnv) error {
	for k := range pe.given.Keystores {
		ks := &pe.given.Keystores[k]
		for l := range ks.Aliases {
			a := &ks.Aliases[l]
			if a.Key != "" {
				if pl.opts.Sealer == nil {
					return fmt.Errorf("planning: alias %q of keystore %q holds a private key, and no sealer was given to seal it", a.Name, ks.Name)
				}
				sealed, err := pl.seal(pe, ks.Name, a)
				if err != nil {
					return err
				}
				a.SealedKey = sealed
			}
			a.Key, a.KeyFile, a.Password, a.CertFile = "", "", "", ""
			if a.CertName == "" {
				a.CertName = DefaultCertName(a)
			}
		}
	}
	return nil
}

// seal returns the sealed PKCS#8 form of a's clear key: the stored sealed value when it
// opens to the same key for the same chain, else a new one.
func (pl *planner) seal(pe *planEnv, ks string, a *Alias) ([]byte, error) {
	key, err := pki.ParsePrivateKey([]byte(a.Key), a.Password)
	if err != nil { // validated before; kept for safety
		return nil, fmt.Errorf("planning: alias %q of keystore %q: reading the private key: %w", a.Name, ks, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("planning: alias %q of keystore %q: %w", a.Name, ks, err)
	}
	defer clear(der)
	if sks := pe.stored.Keystore(ks); sks != nil {
		if sa := sks.Alias(a.Name); sa != nil && len(sa.SealedKey) > 0 && sameChain(a.Cert, sa.Cert) {
			if old, err := pl.opts.Sealer.Open(sa.SealedKey, SealAD(pe.org, pe.env, ks, a.Name)); err == nil {
				same := bytes.Equal(old, der)
				clear(old)
				if same {
					return sa.SealedKey, nil
				}
			}
		}
	}
	sealed, err := pl.opts.Sealer.Seal(der, SealAD(pe.org, pe.env, ks, a.Name))
	if err != nil {
		return nil, fmt.Errorf("planning: sealing the key of alias %q of keystore %q: %w", a.Name, ks, err)
	}
	return sealed, nil
}

// record adds the condition and, when missing, the creation of an organization's or
// environment's record.
func (pl *planner) record(kind Kind, key string, kv *store.KV, ch Change) {
	ch.Kind, ch.Key = kind, key
	if kv != nil {
		pl.plan.Conds = append(pl.plan.Conds, store.Cond{Key: key, ModRevision: kv.ModRevision})
		ch.Action = ActionUnchanged
		pl.plan.Changes = append(pl.plan.Changes, ch)
		return
	}
	value, _ := json.Marshal(Record{Name: ch.Name})
	pl.plan.Conds = append(pl.plan.Conds, store.Cond{Key: key})
	pl.plan.Ops = append(pl.plan.Ops, store.Put(key, value))
	ch.Action = ActionCreate
	pl.plan.Changes = append(pl.plan.Changes, ch)
}

// objects adds the ops, conditions and changes of an environment's objects.
func (pl *planner) objects(pe *planEnv) error {
	seen := map[string]bool{}
	put := func(kind Kind, name string, v any) error {
		key := ObjectKey(pe.org, pe.env, kind, name)
		seen[key] = true
		value, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("planning: %s: %w", key, err)
		}
		ch := Change{Key: key, Kind: kind, Org: pe.org, Env: pe.env, Name: name}
		kv, stored := pe.kvs[key]
		pl.plan.Conds = append(pl.plan.Conds, store.Cond{Key: key, ModRevision: kv.ModRevision})
		switch {
		case !stored:
			ch.Action = ActionCreate
		case sameJSON(kind, kv.Value, value):
			ch.Action = ActionUnchanged
		default:
			ch.Action = ActionUpdate
		}
		if ch.Action != ActionUnchanged {
			pl.plan.Ops = append(pl.plan.Ops, store.Put(key, value))
		}
		pl.plan.Changes = append(pl.plan.Changes, ch)
		return nil
	}
	e := pe.given
	var err error
	for i := range e.Keystores {
		err = errors.Join(err, put(KindKeystore, e.Keystores[i].Name, &e.Keystores[i]))
	}
	for i := range e.References {
		err = errors.Join(err, put(KindReference, e.References[i].Name, &e.References[i]))
	}
	for i := range e.VirtualHosts {
		err = errors.Join(err, put(KindVirtualHost, e.VirtualHosts[i].Name, &e.VirtualHosts[i]))
	}
	for i := range e.TargetServers {
		err = errors.Join(err, put(KindTargetServer, e.TargetServers[i].Name, &e.TargetServers[i]))
	}
	for i := range e.Proxies {
		err = errors.Join(err, put(KindProxy, e.Proxies[i].Name, &e.Proxies[i]))
	}
	if err != nil {
		return err
	}
	for _, key := range slices.Sorted(maps.Keys(pe.kvs)) {
		if seen[key] {
			continue
		}
		kv := pe.kvs[key]
		pl.plan.Conds = append(pl.plan.Conds, store.Cond{Key: key, ModRevision: kv.ModRevision})
		if !pl.opts.Prune {
			continue
		}
		kind, name, _ := strings.Cut(strings.TrimPrefix(key, EnvPrefix(pe.org, pe.env)), "/")
		name, _ = url.PathUnescape(name)
		pl.plan.Ops = append(pl.plan.Ops, store.Delete(key))
		pl.plan.Changes = append(pl.plan.Changes, Change{Action: ActionDelete, Key: key, Kind: Kind(kind), Org: pe.org, Env: pe.env, Name: name})
	}
	return nil
}

// sameJSON reports whether a stored value and a new one say the same: the stored value is
// decoded and encoded again before the comparison, so spacing and field order do not
// count.
func sameJSON(kind Kind, stored, value []byte) bool {
	var v any
	switch kind {
	case KindKeystore:
		v = new(Keystore)
	case KindReference:
		v = new(Reference)
	case KindVirtualHost:
		v = new(VirtualHost)
	case KindTargetServer:
		v = new(TargetServer)
	case KindProxy:
		v = new(Proxy)
	default:
		return false
	}
	if err := json.Unmarshal(stored, v); err != nil {
		return false
	}
	again, err := json.Marshal(v)
	return err == nil && bytes.Equal(again, value)
}

// objectRefs lists the objects of an environment.
func objectRefs(e *Environment) []ObjectRef {
	var out []ObjectRef
	for _, x := range e.Keystores {
		out = append(out, ObjectRef{KindKeystore, x.Name})
	}
	for _, x := range e.References {
		out = append(out, ObjectRef{KindReference, x.Name})
	}
	for _, x := range e.VirtualHosts {
		out = append(out, ObjectRef{KindVirtualHost, x.Name})
	}
	for _, x := range e.TargetServers {
		out = append(out, ObjectRef{KindTargetServer, x.Name})
	}
	for _, x := range e.Proxies {
		out = append(out, ObjectRef{KindProxy, x.Name})
	}
	return out
}

// mergeEnv returns the environment the store holds after given is written without
// pruning: given's objects, then the stored ones given does not replace.
func mergeEnv(stored, given *Environment) *Environment {
	return &Environment{
		Name:          given.Name,
		Keystores:     mergeList(given.Keystores, stored.Keystores, func(x Keystore) string { return x.Name }),
		References:    mergeList(given.References, stored.References, func(x Reference) string { return x.Name }),
		VirtualHosts:  mergeList(given.VirtualHosts, stored.VirtualHosts, func(x VirtualHost) string { return x.Name }),
		TargetServers: mergeList(given.TargetServers, stored.TargetServers, func(x TargetServer) string { return x.Name }),
		Proxies:       mergeList(given.Proxies, stored.Proxies, func(x Proxy) string { return x.Name }),
	}
}

func mergeList[T any](given, stored []T, name func(T) string) []T {
	out := slices.Clone(given)
	for _, s := range stored {
		if !slices.ContainsFunc(given, func(g T) bool { return name(g) == name(s) }) {
			out = append(out, s)
		}
	}
	return out
}

// cloneDocument copies d deeply enough for Plan to change aliases without touching d.
func cloneDocument(d *Document) *Document {
	out := &Document{Organizations: slices.Clone(d.Organizations)}
	for i := range out.Organizations {
		o := &out.Organizations[i]
		o.Environments = slices.Clone(o.Environments)
		for j := range o.Environments {
			e := &o.Environments[j]
			e.Keystores = slices.Clone(e.Keystores)
			for k := range e.Keystores {
				e.Keystores[k].Aliases = slices.Clone(e.Keystores[k].Aliases)
			}
		}
	}
	return out
}
