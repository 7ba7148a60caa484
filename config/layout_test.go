package config

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tlsgate/tlsgate/masterkey"
	"github.com/tlsgate/tlsgate/store"
	"github.com/tlsgate/tlsgate/store/boltstore"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "tlsgate.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newSealer(t *testing.T) *masterkey.Key {
	t.Helper()
	raw := make([]byte, masterkey.Size)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	k, err := masterkey.New(raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeys(t *testing.T) {
	tests := []struct{ got, want string }{
		{OrgKey("myorg"), "/org/myorg"},
		{OrgKey(""), "/org/"},
		{EnvKey("myorg", "test"), "/env/myorg/test"},
		{EnvKey("myorg", ""), "/env/myorg/"},
		{EnvPrefix("myorg", "test"), "/cfg/myorg/test/"},
		{ObjectPrefix("myorg", "test", KindKeystore), "/cfg/myorg/test/keystores/"},
		{ObjectKey("myorg", "test", KindVirtualHost, "secure.v1_a-b"), "/cfg/myorg/test/virtualhosts/secure.v1_a-b"},
		{ObjectKey("myorg", "test", KindProxy, "a/b"), "/cfg/myorg/test/proxies/a%2Fb"},
		{string(SealAD("myorg", "test", "ks1", "server")), "/cfg/myorg/test/keystores/ks1#server"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q; want %q", tt.got, tt.want)
		}
	}
	if got, want := Kinds(), []Kind{"keystores", "references", "virtualhosts", "targetservers", "proxies"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Kinds: got %v; want %v", got, want)
	}
}

// plan runs Plan and fails the test on an error.
func plan(t *testing.T, s store.Store, d *Document, opts PlanOptions) *ApplyPlan {
	t.Helper()
	p, err := Plan(context.Background(), s, d, opts)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	return p
}

// apply plans and applies d.
func apply(t *testing.T, s store.Store, d *Document, opts PlanOptions) *ApplyPlan {
	t.Helper()
	p := plan(t, s, d, opts)
	if _, err := p.Apply(context.Background(), s); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return p
}

func TestPlanApplyLoad(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s := openStore(t)
	key := newSealer(t)
	opts := PlanOptions{Sealer: key, Now: f.now}
	d := doc(f.env())

	p := apply(t, s, d, opts)
	// org, env, 2 keystores, 2 references, 2 virtual hosts, 2 target servers, 2 proxies
	if got, want := p.Summary(), "12 created, 0 updated, 0 deleted, 0 unchanged"; got != want {
		t.Errorf("first apply: got %q; want %q", got, want)
	}
	if got, want := p.Changes[0], (Change{ActionCreate, "/org/myorg", KindOrganization, "myorg", "", "myorg"}); got != want {
		t.Errorf("first change: got %+v; want %+v", got, want)
	}
	if got, want := p.Changes[2], (Change{ActionCreate, "/cfg/myorg/test/keystores/ks1", KindKeystore, "myorg", "test", "ks1"}); got != want {
		t.Errorf("third change: got %+v; want %+v", got, want)
	}
	if len(p.Conds) != len(p.Ops) {
		t.Errorf("got %d conditions for %d new keys; want one each", len(p.Conds), len(p.Ops))
	}
	for _, c := range p.Conds {
		if c.ModRevision != 0 {
			t.Errorf("condition on new key %s: got revision %d; want 0", c.Key, c.ModRevision)
		}
	}
	if d.Organizations[0].Environments[0].Keystores[0].Aliases[0].Key == "" || d.Organizations[0].Environments[0].Keystores[0].Aliases[0].SealedKey != nil {
		t.Errorf("Plan changed the document it was given")
	}

	e, _, err := LoadEnvironment(ctx, s, "myorg", "test")
	if err != nil {
		t.Fatal(err)
	}
	ks := e.Keystore("ks1")
	server := ks.Alias("server")
	if server.Key != "" || len(server.SealedKey) == 0 {
		t.Fatalf("stored alias: got key %q, %d sealed bytes; want only a sealed key", server.Key, len(server.SealedKey))
	}
	if got, want := server.CertName, "server-cert"; got != want {
		t.Errorf("certName of a key alias: got %q; want %q", got, want)
	}
	if got, want := e.Keystore("ts1").Alias("root").CertName, "root"; got != want {
		t.Errorf("certName of a certificate: got %q; want %q", got, want)
	}
	priv, err := OpenKey(key, "myorg", "test", "ks1", server)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(priv, f.server.Key) {
		t.Errorf("OpenKey: got another key than the one applied")
	}
	if _, err := OpenKey(key, "myorg", "test", "ks1", &Alias{Name: "client", SealedKey: server.SealedKey}); !errors.Is(err, masterkey.ErrOpen) {
		t.Errorf("OpenKey of a sealed key moved to another alias: got %v; want masterkey.ErrOpen", err)
	}
	if got, want := len(e.VirtualHosts)+len(e.TargetServers)+len(e.Proxies)+len(e.References), 8; got != want {
		t.Errorf("loaded %d objects besides keystores; want %d", got, want)
	}
	if got, want := e.Proxies[0].Name, "legacy"; got != want {
		t.Errorf("first proxy: got %q; want %q (sorted by name)", got, want)
	}

	// The same document again: nothing to write, the sealed keys are kept.
	p = plan(t, s, d, opts)
	if got, want := p.Summary(), "0 created, 0 updated, 0 deleted, 12 unchanged"; got != want || len(p.Ops) != 0 {
		t.Errorf("second apply: got %q with %d ops; want %q and none", got, len(p.Ops), want)
	}

	// Export, and apply the export: no key in it, and no key lost.
	all, _, err := Load(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	out, err := MarshalYAML(all)
	if err != nil {
		t.Fatal(err)
	}
	exported, err := ParseYAMLInline(out, "export")
	if err != nil {
		t.Fatal(err)
	}
	p = plan(t, s, exported, opts)
	if got, want := p.Summary(), "0 created, 0 updated, 0 deleted, 12 unchanged"; got != want {
		t.Errorf("applying the export: got %q; want %q", got, want)
	}
	// Without a sealer too: nothing needs sealing.
	p = plan(t, s, exported, PlanOptions{Now: f.now})
	if len(p.Ops) != 0 {
		t.Errorf("applying the export without a sealer: got %d ops; want none", len(p.Ops))
	}
}

func TestPlanNeverWritesClearKeys(t *testing.T) {
	f := newFixture(t)
	s := openStore(t)
	p := plan(t, s, doc(f.env()), PlanOptions{Sealer: newSealer(t), Now: f.now})
	secrets := append(keyForms(t, f.server.KeyPEM()), keyForms(t, f.client.KeyPEM())...)
	if len(p.Ops) == 0 {
		t.Fatal("no ops")
	}
	for _, op := range p.Ops {
		for _, sec := range secrets {
			if bytes.Contains(op.Value, sec) {
				t.Errorf("op %s holds key material (%d bytes)", op.Key, len(sec))
			}
		}
	}
}

func TestPlanKeepsOrDropsKeys(t *testing.T) {
	f := newFixture(t)
	key := newSealer(t)
	opts := PlanOptions{Sealer: key, Now: f.now}
	renewed := f.inter.Issue(f.serverOptions())

	tests := []struct {
		name   string
		mutate func(e *Environment)
		want   []want // problems; none means the plan succeeds
		check  func(t *testing.T, e *Environment)
	}{
		{"same chain without key keeps the key", func(e *Environment) { e.Keystores[0].Aliases[0].Key = "" }, nil,
			func(t *testing.T, e *Environment) {
				if a := e.Keystore("ks1").Alias("server"); len(a.SealedKey) == 0 || a.CertName != "server-cert" {
					t.Errorf("got %d sealed bytes, certName %q; want the key kept, server-cert", len(a.SealedKey), a.CertName)
				}
			}},
		{"new chain and key", func(e *Environment) {
			e.Keystores[0].Aliases[0].Cert = chainPEM(renewed)
			e.Keystores[0].Aliases[0].Key = string(renewed.KeyPEM())
		}, nil, func(t *testing.T, e *Environment) {
			k, err := OpenKey(key, "myorg", "test", "ks1", e.Keystore("ks1").Alias("server"))
			if err != nil || !reflect.DeepEqual(k, renewed.Key) {
				t.Errorf("got key %v, %v; want the renewed certificate's key", k, err)
			}
		}},
		{"new chain without key for a used alias", func(e *Environment) {
			e.Keystores[0].Aliases[0].Cert = chainPEM(renewed)
			e.Keystores[0].Aliases[0].Key = ""
		}, []want{
			{"organizations[myorg].environments[test].keystores[ks1].aliases[server].cert", "the stored key belongs to the old certificate, and virtualHosts[secure] uses this alias as keyAlias"},
			{"organizations[myorg].environments[test].virtualHosts[secure].sslInfo.keyAlias", `alias "server" of keystore "ks1" (ref://ksref) holds a certificate only`},
		}, nil},
		{"new chain without key for an unused alias", func(e *Environment) {
			e.Keystores[0].Aliases[0].Cert = chainPEM(renewed)
			e.Keystores[0].Aliases[0].Key = ""
			e.VirtualHosts[0].SSLInfo.KeyAlias = "client"
		}, nil, func(t *testing.T, e *Environment) {
			if a := e.Keystore("ks1").Alias("server"); len(a.SealedKey) != 0 || a.CertName != "server" {
				t.Errorf("got %d sealed bytes, certName %q; want a certificate-only alias named server", len(a.SealedKey), a.CertName)
			}
		}},
		{"sealed key of another alias", func(e *Environment) {
			a := &e.Keystores[0].Aliases[1] // client
			a.Key = ""
			a.SealedKey = []byte("x") // replaced below by the stored key of server
		}, []want{
			{"organizations[myorg].environments[test].keystores[ks1].aliases[client].sealedKey", "the sealed key does not open here"},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t)
			apply(t, s, doc(f.env()), opts)
			stored, _, err := LoadEnvironment(ctx, s, "myorg", "test")
			if err != nil {
				t.Fatal(err)
			}
			e := f.env()
			tt.mutate(&e)
			if string(e.Keystores[0].Aliases[1].SealedKey) == "x" {
				e.Keystores[0].Aliases[1].SealedKey = stored.Keystore("ks1").Alias("server").SealedKey
			}
			p, err := Plan(ctx, s, doc(e), opts)
			if tt.want != nil {
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("Plan: got %v; want a *ValidationError", err)
				}
				checkProblems(t, ve.Problems, tt.want...)
				return
			}
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if _, err := p.Apply(ctx, s); err != nil {
				t.Fatal(err)
			}
			got, _, err := LoadEnvironment(ctx, s, "myorg", "test")
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
}

func TestPlanConflict(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s := openStore(t)
	opts := PlanOptions{Sealer: newSealer(t), Now: f.now}
	apply(t, s, doc(f.env()), opts)

	e := f.env()
	e.VirtualHosts[1].Port = 8080
	p := plan(t, s, doc(e), opts)
	if got, want := p.Summary(), "0 created, 1 updated, 0 deleted, 11 unchanged"; got != want {
		t.Fatalf("got %q; want %q", got, want)
	}
	// Another writer changes the virtual host between Plan and Apply.
	if _, err := s.Txn(ctx, nil, []store.Op{store.Put(ObjectKey("myorg", "test", KindVirtualHost, "default"), []byte(`{"name":"default","hostAliases":["x.example"],"port":81}`))}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(ctx, s); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Apply after a concurrent change: got %v; want store.ErrConflict", err)
	}
}

func TestPlanPrune(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	opts := PlanOptions{Sealer: newSealer(t), Now: f.now}
	e := f.env()
	e.Proxies = e.Proxies[:1] // without legacy

	s := openStore(t)
	apply(t, s, doc(f.env()), opts)
	p := plan(t, s, doc(e), opts)
	if got, want := p.Summary(), "0 created, 0 updated, 0 deleted, 11 unchanged"; got != want {
		t.Errorf("without prune: got %q; want %q", got, want)
	}
	opts.Prune = true
	p = apply(t, s, doc(e), opts)
	if got, want := p.Summary(), "0 created, 0 updated, 1 deleted, 11 unchanged"; got != want {
		t.Errorf("with prune: got %q; want %q", got, want)
	}
	if got := p.Changes[len(p.Changes)-1]; got.Action != ActionDelete || got.Kind != KindProxy || got.Name != "legacy" {
		t.Errorf("last change: got %+v; want the deletion of proxy legacy", got)
	}
	got, _, err := LoadEnvironment(ctx, s, "myorg", "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Proxies) != 1 || got.Proxies[0].Name != "orders" {
		t.Errorf("proxies after prune: got %+v; want orders only", got.Proxies)
	}
}

func TestPlanPartialDocument(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	opts := PlanOptions{Sealer: newSealer(t), Now: f.now}
	s := openStore(t)
	apply(t, s, doc(f.env()), opts)

	// A virtual host alone, using a stored keystore through a stored reference.
	vh := VirtualHost{Name: "partner", HostAliases: []string{"partner.example.com"}, Port: 443,
		SSLInfo: &SSLInfo{Enabled: true, KeyStore: "ref://ksref", KeyAlias: "server"}}
	p := apply(t, s, doc(Environment{Name: "test", VirtualHosts: []VirtualHost{vh}}), opts)
	if got, want := p.Summary(), "1 created, 0 updated, 0 deleted, 2 unchanged"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}

	// A keystore without the alias stored virtual hosts use: their problems are reported.
	_, err := Plan(ctx, s, doc(Environment{Name: "test", Keystores: []Keystore{{Name: "ks1"}}}), opts)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Plan: got %v; want a *ValidationError", err)
	}
	checkProblems(t, ve.Problems,
		want{"organizations[myorg].environments[test].virtualHosts[secure].sslInfo.keyAlias", `alias "server" does not exist in keystore "ks1"`},
		want{"organizations[myorg].environments[test].virtualHosts[partner].sslInfo.keyAlias", `alias "server" does not exist in keystore "ks1"`},
		want{"organizations[myorg].environments[test].targetServers[backend-a].sslInfo.keyAlias", `alias "client" does not exist in keystore "ks1"`},
	)
	if got := ve.About(ObjectRef{KindVirtualHost, "secure"}); len(got) != 1 {
		t.Errorf("About(secure): got %v; want one problem", got)
	}

	// A stored object that has become invalid (its certificate expired) does not block a
	// document that does not touch it; a document that holds it reports it.
	later := opts
	later.Now = f.now.AddDate(2, 0, 0)
	plan(t, s, doc(Environment{Name: "test", References: []Reference{{Name: "r2", Refers: "ts1", ResourceType: ResourceTrustStore}}}), later)
	_, err = Plan(ctx, s, doc(f.env()), later)
	if !errors.As(err, &ve) {
		t.Fatalf("Plan of expired certificates: got %v; want a *ValidationError", err)
	}
}

func TestPlanErrors(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s := openStore(t)
	e := f.env()
	e.VirtualHosts[0].Port = 0
	_, err := Plan(ctx, s, doc(e), PlanOptions{Sealer: newSealer(t), Now: f.now})
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Plan of an invalid document: got %v; want a *ValidationError", err)
	}
	checkProblems(t, ve.Problems, want{"organizations[myorg].environments[test].virtualHosts[secure].port", "port 0 is out of range"})

	_, err = Plan(ctx, s, doc(f.env()), PlanOptions{Now: f.now})
	if err == nil || errors.As(err, &ve) {
		t.Errorf("Plan of keys without a sealer: got %v; want an error that is not a validation error", err)
	}
	if rev, _ := s.Revision(ctx); rev != 0 {
		t.Errorf("Plan wrote: revision %d; want 0", rev)
	}
}

func TestLoad(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	s := openStore(t)
	opts := PlanOptions{Sealer: newSealer(t), Now: f.now}
	prod := Environment{Name: "prod", References: []Reference{{Name: "r", Refers: "ks", ResourceType: ResourceKeyStore}}, Keystores: []Keystore{{Name: "ks"}}}
	d := &Document{Organizations: []Organization{
		{Name: "zeta", Environments: []Environment{{Name: "test"}}},
		{Name: "alpha", Environments: []Environment{prod, f.env()}},
		{Name: "empty"},
	}}
	apply(t, s, d, opts)
	// An object of an environment without a record is left out.
	if _, err := s.Txn(ctx, nil, []store.Op{store.Put(ObjectKey("ghost", "test", KindReference, "r"), []byte(`{}`))}); err != nil {
		t.Fatal(err)
	}
	got, rev, err := Load(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := s.Revision(ctx); rev != want {
		t.Errorf("revision: got %d; want %d", rev, want)
	}
	var names []string
	for _, o := range got.Organizations {
		names = append(names, o.Name)
		for _, e := range o.Environments {
			names = append(names, o.Name+"/"+e.Name)
		}
	}
	if want := []string{"alpha", "alpha/prod", "alpha/test", "empty", "zeta", "zeta/test"}; !reflect.DeepEqual(names, want) {
		t.Errorf("got %v; want %v", names, want)
	}
	if r := got.Organization("alpha").Environment("prod").Reference("r"); r == nil || r.Refers != "ks" {
		t.Errorf("alpha/prod reference r: got %+v; want it to refer to ks", r)
	}

	_, _, err = LoadEnvironment(ctx, s, "alpha", "nope")
	if !errors.Is(err, store.ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadEnvironment of a missing environment: got %v; want store.ErrNotFound", err)
	}
}

func TestSummary(t *testing.T) {
	p := &ApplyPlan{Changes: []Change{{Action: ActionCreate}, {Action: ActionCreate}, {Action: ActionCreate}, {Action: ActionUpdate},
		{Action: ActionUnchanged}, {Action: ActionUnchanged}, {Action: ActionUnchanged}, {Action: ActionUnchanged}, {Action: ActionUnchanged}}}
	if got, want := p.Summary(), "3 created, 1 updated, 0 deleted, 5 unchanged"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}
