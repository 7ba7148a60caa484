package config

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/pki"
)

// Problem is one thing wrong with a configuration: where it is (Path, in the YAML file's
// field names, e.g. "keystores[ks1].aliases[a1].cert"), which object it belongs to, and
// what is wrong. An unnamed element of a list shows as its position: "keystores[#0]".
type Problem struct {
	Path    string
	Object  ObjectRef
	Message string
}

// String renders "PATH: MESSAGE".
func (p Problem) String() string { return p.Path + ": " + p.Message }

// ObjectRef names an object of an environment. Problems with an organization or an
// environment itself carry KindOrganization or KindEnvironment.
type ObjectRef struct {
	Kind Kind
	Name string
}

// ValidationError lists every problem of a document or environment.
type ValidationError struct {
	Problems []Problem
}

// Error lists the problems, one per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// About returns the problems of one object.
func (e *ValidationError) About(obj ObjectRef) []Problem {
	var out []Problem
	for _, p := range e.Problems {
		if p.Object == obj {
			out = append(out, p)
		}
	}
	return out
}

// Validate checks the whole document against now (certificate validity) and returns a
// *ValidationError listing every problem, or nil. Paths start with
// "organizations[ORG].environments[ENV].".
func (d *Document) Validate(now time.Time) error {
	if ps := d.problems(now); len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}

func (d *Document) problems(now time.Time) []Problem {
	return d.walk(func(_, _ int, e *Environment) []Problem { return e.Problems(now) })
}

// walk checks the names of d's organizations and environments, adds the problems
// envProblems finds in each environment (organization i, environment j) with the path
// of the environment before theirs, and the listeners claimed by two environments.
func (d *Document) walk(envProblems func(i, j int, e *Environment) []Problem) []Problem {
	var out []Problem
	orgs := map[string]int{}
	for i := range d.Organizations {
		o := &d.Organizations[i]
		op := elem("organizations", o.Name, i)
		obj := ObjectRef{KindOrganization, o.Name}
		if err := CheckName(KindOrganization, o.Name); err != nil {
			out = append(out, Problem{op + ".name", obj, err.Error()})
		} else if first, dup := orgs[o.Name]; dup {
			out = append(out, Problem{op, obj, fmt.Sprintf("organization %q is defined more than once (entries #%d and #%d)", o.Name, first, i)})
		} else {
			orgs[o.Name] = i
		}
		envs := map[string]int{}
		for j := range o.Environments {
			e := &o.Environments[j]
			ep := op + "." + elem("environments", e.Name, j)
			eobj := ObjectRef{KindEnvironment, e.Name}
			if err := CheckName(KindEnvironment, e.Name); err != nil {
				out = append(out, Problem{ep + ".name", eobj, err.Error()})
			} else if first, dup := envs[e.Name]; dup {
				out = append(out, Problem{ep, eobj, fmt.Sprintf("environment %q is defined more than once (entries #%d and #%d)", e.Name, first, j)})
			} else {
				envs[e.Name] = j
			}
			for _, p := range envProblems(i, j, e) {
				p.Path = ep + "." + p.Path
				out = append(out, p)
			}
		}
	}
	return append(out, listenerProblems(d)...)
}

// Problems checks the environment against now (certificate validity) and returns every
// problem, with paths relative to the environment ("virtualHosts[vh1].port").
func (e *Environment) Problems(now time.Time) []Problem {
	c := &checker{env: e, now: now}
	c.names()
	for i := range e.Keystores {
		c.keystore(i, &e.Keystores[i])
	}
	for i := range e.References {
		c.reference(i, &e.References[i])
	}
	for i := range e.VirtualHosts {
		c.virtualHost(i, &e.VirtualHosts[i])
	}
	c.hostPorts()
	for i := range e.TargetServers {
		c.targetServer(i, &e.TargetServers[i])
	}
	c.proxies()
	return c.out
}

// checker collects the problems of one environment.
type checker struct {
	env *Environment
	now time.Time
	out []Problem
}

func (c *checker) add(obj ObjectRef, path, format string, args ...any) {
	c.out = append(c.out, Problem{Path: path, Object: obj, Message: fmt.Sprintf(format, args...)})
}

// elem renders one element of a list: "list[name]", or "list[#i]" when the name is empty.
func elem(list, name string, i int) string {
	if name == "" {
		return fmt.Sprintf("%s[#%d]", list, i)
	}
	return list + "[" + name + "]"
}

// names checks the name of every object and that no two objects of a kind share one.
func (c *checker) names() {
	e := c.env
	check := func(kind Kind, list string, n int, name func(int) string) {
		seen := map[string]int{}
		for i := range n {
			nm := name(i)
			obj := ObjectRef{kind, nm}
			path := elem(list, nm, i)
			if err := CheckName(kind, nm); err != nil {
				c.add(obj, path+".name", "%v", err)
				continue
			}
			if first, dup := seen[nm]; dup {
				c.add(obj, path, "%s %q is defined more than once (entries #%d and #%d)", kindNoun(kind), nm, first, i)
				continue
			}
			seen[nm] = i
		}
	}
	check(KindKeystore, "keystores", len(e.Keystores), func(i int) string { return e.Keystores[i].Name })
	check(KindReference, "references", len(e.References), func(i int) string { return e.References[i].Name })
	check(KindVirtualHost, "virtualHosts", len(e.VirtualHosts), func(i int) string { return e.VirtualHosts[i].Name })
	check(KindTargetServer, "targetServers", len(e.TargetServers), func(i int) string { return e.TargetServers[i].Name })
	check(KindProxy, "proxies", len(e.Proxies), func(i int) string { return e.Proxies[i].Name })
}

// MaxNameLen is the longest name of any object.
const MaxNameLen = 255

// CheckName reports whether name is a valid name for an object of kind (or an alias or
// certificate name, with KindAlias): 1 to 255 letters, digits, '.', '_' and '-', and not
// "." or ".."; a keystore name takes no '.' (Edge allows only letters and digits; '_' and
// '-' are accepted too). A valid name never contains '/', so it is one segment of a store
// key or a URL path.
func CheckName(kind Kind, name string) error {
	noun := kindNoun(kind)
	switch {
	case name == "":
		return fmt.Errorf("%s name is empty", noun)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%s name is %d bytes long; at most %d are allowed", noun, len(name), MaxNameLen)
	case name == "." || name == "..":
		return fmt.Errorf("%s name %q is not allowed", noun, name)
	}
	for _, r := range name {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '_', r == '-':
		case r == '.' && kind != KindKeystore:
		case kind == KindKeystore:
			return fmt.Errorf("keystore name %q: only letters, digits, '_' and '-' are allowed", name)
		default:
			return fmt.Errorf("%s name %q: only letters, digits, '.', '_' and '-' are allowed", noun, name)
		}
	}
	return nil
}

// kindNoun names a kind in messages.
func kindNoun(k Kind) string {
	switch k {
	case KindKeystore:
		return "keystore"
	case KindReference:
		return "reference"
	case KindVirtualHost:
		return "virtual host"
	case KindTargetServer:
		return "target server"
	case KindProxy:
		return "proxy"
	case KindOrganization:
		return "organization"
	case KindEnvironment:
		return "environment"
	case KindAlias:
		return "alias"
	}
	return string(k)
}

// keystore checks a keystore's aliases.
func (c *checker) keystore(i int, ks *Keystore) {
	obj := ObjectRef{KindKeystore, ks.Name}
	path := elem("keystores", ks.Name, i)
	aliases := map[string]int{}
	certNames := map[string]string{}
	for j := range ks.Aliases {
		a := &ks.Aliases[j]
		ap := path + "." + elem("aliases", a.Name, j)
		if err := CheckName(KindAlias, a.Name); err != nil {
			c.add(obj, ap+".name", "%v", err)
		} else if first, dup := aliases[a.Name]; dup {
			c.add(obj, ap, "alias %q is defined more than once (entries #%d and #%d)", a.Name, first, j)
		} else {
			aliases[a.Name] = j
		}
		if a.CertName != "" {
			if err := CheckName(KindAlias, a.CertName); err != nil {
				c.add(obj, ap+".certName", "certificate %v", err)
			}
		}
		if cn := a.EffectiveCertName(); a.Name != "" {
			if other, dup := certNames[cn]; dup && other != a.Name {
				c.add(obj, ap+".certName", "certificate name %q is also the certificate name of alias %q", cn, other)
			} else {
				certNames[cn] = a.Name
			}
		}
		c.alias(obj, ap, a)
	}
}

// MaxChainLength bounds the certificates of one alias's chain, as uploads are bounded.
const MaxChainLength = 10

// alias checks an alias's chain (PEM, in order, valid at c.now) and its clear key.
func (c *checker) alias(obj ObjectRef, path string, a *Alias) {
	if a.Cert == "" {
		if a.CertFile != "" {
			c.add(obj, path+".certFile", "certificate file %q was not read into cert", a.CertFile)
		} else {
			c.add(obj, path+".cert", "no certificate: give cert (PEM) or certFile")
		}
		return
	}
	if f := pki.DetectFormat([]byte(a.Cert)); f != pki.FormatPEM {
		c.add(obj, path+".cert", "not a PEM certificate chain (-----BEGIN CERTIFICATE-----)")
		return
	}
	certs, err := pki.ParseCertificates([]byte(a.Cert))
	if err != nil {
		c.add(obj, path+".cert", "reading the certificate chain: %v", err)
		return
	}
	if len(certs) > MaxChainLength {
		c.add(obj, path+".cert", "the chain holds %d certificates; at most %d are accepted (leaf, intermediates, root)", len(certs), MaxChainLength)
		return
	}
	for _, msg := range chainOrder(certs) {
		c.add(obj, path+".cert", "%s", msg)
	}
	if !a.IgnoreExpiryValidation {
		for i, x := range certs {
			switch {
			case c.now.After(x.NotAfter):
				c.add(obj, path+".cert", "%s expired on %s; renew it, or set ignoreExpiryValidation to accept it",
					certLabel(certs, i), x.NotAfter.UTC().Format(time.DateOnly))
			case c.now.Before(x.NotBefore):
				c.add(obj, path+".cert", "%s is not valid before %s; set ignoreExpiryValidation to accept it",
					certLabel(certs, i), x.NotBefore.UTC().Format(time.RFC3339))
			}
		}
	}
	switch {
	case a.Key != "":
		key, err := pki.ParsePrivateKey([]byte(a.Key), a.Password)
		if err != nil {
			c.add(obj, path+".key", "reading the private key: %v", err)
		} else if !pki.KeyMatches(certs[0], key) {
			c.add(obj, path+".key", "the private key does not belong to the leaf certificate (%s); the chain goes leaf first", certs[0].Subject)
		}
	case a.KeyFile != "":
		c.add(obj, path+".keyFile", "key file %q was not read into key", a.KeyFile)
	}
}

// chainOrder checks that each certificate is followed by its issuer, and says where not.
func chainOrder(certs []*x509.Certificate) []string {
	var out []string
	for i := 0; i+1 < len(certs); i++ {
		child, next := certs[i], certs[i+1]
		if bytes.Equal(child.RawIssuer, child.RawSubject) && !bytes.Equal(next.RawSubject, child.RawSubject) {
			out = append(out, fmt.Sprintf("chain out of order at position %d: %s is self-signed, so it ends the chain, yet %s follows it; give the leaf first, each certificate followed by its issuer",
				i+2, certLabel(certs, i), certLabel(certs, i+1)))
			continue
		}
		if !bytes.Equal(child.RawIssuer, next.RawSubject) {
			where := "which is not in the chain"
			for k, x := range certs {
				if k != i && bytes.Equal(x.RawSubject, child.RawIssuer) {
					where = fmt.Sprintf("which is certificate %d", k+1)
					break
				}
			}
			out = append(out, fmt.Sprintf("chain out of order at position %d: %s was issued by %s, %s, not by %s; give the leaf first, each certificate followed by its issuer",
				i+2, certLabel(certs, i), child.Issuer, where, certLabel(certs, i+1)))
			continue
		}
		if err := next.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature); err != nil {
			out = append(out, fmt.Sprintf("chain broken at position %d: %s names %s as its issuer, but its signature does not verify with that certificate's key",
				i+2, certLabel(certs, i), certLabel(certs, i+1)))
		}
	}
	return out
}

// certLabel names certificate i of a chain: "certificate 2 (CN=Inter CA)", the leaf
// "certificate 1 (leaf, CN=api)".
func certLabel(certs []*x509.Certificate, i int) string {
	if i == 0 && len(certs) > 1 {
		return fmt.Sprintf("certificate 1 (leaf, %s)", certs[0].Subject)
	}
	return fmt.Sprintf("certificate %d (%s)", i+1, certs[i].Subject)
}

// reference checks that a reference names an existing keystore and a resource type.
func (c *checker) reference(i int, r *Reference) {
	obj := ObjectRef{KindReference, r.Name}
	path := elem("references", r.Name, i)
	switch {
	case r.Refers == "":
		c.add(obj, path+".refers", "refers is empty: give the keystore the reference points at")
	case strings.HasPrefix(r.Refers, RefPrefix):
		c.add(obj, path+".refers", "refers %q is a reference; a reference names a keystore", r.Refers)
	case c.env.Keystore(r.Refers) == nil:
		c.add(obj, path+".refers", "keystore %q does not exist", r.Refers)
	}
	if r.ResourceType != ResourceKeyStore && r.ResourceType != ResourceTrustStore {
		c.add(obj, path+".resourceType", "resource type %q: want %s or %s", r.ResourceType, ResourceKeyStore, ResourceTrustStore)
	}
}

// ResolveStore returns the keystore that a KeyStore or TrustStore field names: a keystore
// name, or "ref://" and a reference, resolved. An error says what is missing
// ("reference "r" refers to keystore "ks", which does not exist") and matches
// fs.ErrNotExist.
func ResolveStore(e *Environment, nameOrRef string) (*Keystore, error) {
	if nameOrRef == "" {
		return nil, notExist("no keystore named")
	}
	name, isRef := strings.CutPrefix(nameOrRef, RefPrefix)
	if !isRef {
		if ks := e.Keystore(name); ks != nil {
			return ks, nil
		}
		return nil, notExist(fmt.Sprintf("keystore %q does not exist", name))
	}
	r := e.Reference(name)
	if r == nil {
		return nil, notExist(fmt.Sprintf("reference %q does not exist", name))
	}
	if ks := e.Keystore(r.Refers); ks != nil {
		return ks, nil
	}
	return nil, notExist(fmt.Sprintf("reference %q refers to keystore %q, which does not exist", name, r.Refers))
}

// notExist is an error that says what does not exist and matches fs.ErrNotExist.
type notExist string

func (e notExist) Error() string      { return string(e) }
func (notExist) Is(target error) bool { return target == fs.ErrNotExist }
