package config

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tlsgate/tlsgate/pki"
)

// Bounds of the YAML that ParseYAML and ParseYAMLInline read: a file names its
// certificate and key files, an inline document (an API request) carries them.
const (
	MaxYAMLSize       = 1 << 20
	MaxInlineYAMLSize = 8 << 20
	// MaxFileSize bounds a certificate or key file that a YAML file names.
	MaxFileSize = 1 << 20
)

// ParseYAML reads the declarative file, strictly: a field the model does not have is an
// error. Errors name the file and line ("tlsgate.yaml:12: field "sslinfo" not found in
// type config.VirtualHost; did you mean "sslInfo"?"). An alias's certFile and keyFile,
// relative to the file's directory unless absolute, are read into Cert and Key (a DER
// certificate becomes PEM); CertFile and KeyFile stay set, saying where they came from.
// ParseYAML does not validate: call Document.Validate or Plan.
func ParseYAML(data []byte, file string) (*Document, error) {
	d, err := decodeYAML(data, file, MaxYAMLSize)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(file)
	var root *yaml.Node
	line := func(steps ...any) string {
		if root == nil {
			root = new(yaml.Node)
			_ = yaml.Unmarshal(data, root)
		}
		return fmt.Sprintf("%s:%d", file, nodeLine(root, steps...))
	}
	return d, eachAlias(d, func(path string, steps []any, a *Alias) error {
		if a.CertFile != "" {
			if a.Cert != "" {
				return fmt.Errorf("%s: %s: give cert or certFile, not both", line(append(steps, "certFile")...), path)
			}
			b, err := readFile(dir, a.CertFile)
			if err != nil {
				return fmt.Errorf("%s: %s.certFile: %w", line(append(steps, "certFile")...), path, err)
			}
			if pki.DetectFormat(b) == pki.FormatDER {
				if certs, err := pki.ParseCertificates(b); err == nil {
					b = pemCerts(certs)
				}
			}
			a.Cert = string(b)
		}
		if a.KeyFile != "" {
			if a.Key != "" {
				return fmt.Errorf("%s: %s: give key or keyFile, not both", line(append(steps, "keyFile")...), path)
			}
			b, err := readFile(dir, a.KeyFile)
			if err != nil {
				return fmt.Errorf("%s: %s.keyFile: %w", line(append(steps, "keyFile")...), path, err)
			}
			a.Key = string(b)
		}
		return nil
	})
}

// ParseYAMLInline reads a declarative document received from elsewhere (an API request):
// as ParseYAML, but certificates and keys must be inline (cert, key), since it reads no
// file; name stands for the file in errors.
func ParseYAMLInline(data []byte, name string) (*Document, error) {
	d, err := decodeYAML(data, name, MaxInlineYAMLSize)
	if err != nil {
		return nil, err
	}
	return d, eachAlias(d, func(path string, _ []any, a *Alias) error {
		if a.CertFile != "" || a.KeyFile != "" {
			return fmt.Errorf("%s: %s: certFile and keyFile are not read here; give cert and key inline", name, path)
		}
		return nil
	})
}

// eachAlias calls fn for every alias of d, with its path and the steps to its YAML node.
func eachAlias(d *Document, fn func(path string, steps []any, a *Alias) error) error {
	for i := range d.Organizations {
		o := &d.Organizations[i]
		for j := range o.Environments {
			e := &o.Environments[j]
			for k := range e.Keystores {
				ks := &e.Keystores[k]
				for l := range ks.Aliases {
					a := &ks.Aliases[l]
					path := strings.Join([]string{elem("organizations", o.Name, i), elem("environments", e.Name, j),
						elem("keystores", ks.Name, k), elem("aliases", a.Name, l)}, ".")
					steps := []any{"organizations", i, "environments", j, "keystores", k, "aliases", l}
					if err := fn(path, steps, a); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// decodeYAML decodes one YAML document into a Document, strictly.
func decodeYAML(data []byte, file string, limit int) (*Document, error) {
	if len(data) > limit {
		return nil, fmt.Errorf("%s: %d bytes; at most %d MiB are read", file, len(data), limit>>20)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	d := new(Document)
	if err := dec.Decode(d); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty; a configuration starts with \"organizations:\"", file)
		}
		return nil, yamlError(file, err)
	}
	var more yaml.Node
	switch err := dec.Decode(&more); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, yamlError(file, err)
	default:
		return nil, fmt.Errorf("%s:%d: a second YAML document; put the whole configuration in one", file, more.Line)
	}
	return d, nil
}

// readFile reads a file named in the YAML file, relative to dir, up to MaxFileSize.
func readFile(dir, name string) ([]byte, error) {
	if !filepath.IsAbs(name) {
		name = filepath.Join(dir, name)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d MiB", name, MaxFileSize>>20)
	}
	return b, nil
}

// nodeLine returns the line of the node that steps (mapping keys and sequence indexes)
// lead to from root, or of the last node reached. A last step that is a key gives the
// key's line.
func nodeLine(root *yaml.Node, steps ...any) int {
	n := root
	for n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for i, s := range steps {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next *yaml.Node
		switch s := s.(type) {
		case string:
			for k := 0; n.Kind == yaml.MappingNode && k+1 < len(n.Content); k += 2 {
				if n.Content[k].Value == s {
					next = n.Content[k+1]
					if i == len(steps)-1 {
						next = n.Content[k]
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && s < len(n.Content) {
				next = n.Content[s]
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return n.Line
}

// pemCerts encodes certificates as a PEM bundle.
func pemCerts(certs []*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

var (
	yamlLine     = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
)

// yamlError rewrites yaml.v3's errors as "FILE:LINE: MESSAGE", one per line, with a hint
// for a misspelt field.
func yamlError(file string, err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	for i, m := range msgs {
		where := file
		if g := yamlLine.FindStringSubmatch(m); g != nil {
			where, m = file+":"+g[1], g[2]
		}
		if g := unknownField.FindStringSubmatch(m); g != nil {
			m = fmt.Sprintf("field %q not found in type %s", g[1], g[2])
			if hint := fieldHint(g[1], g[2]); hint != "" {
				m += "; " + hint
			}
		}
		msgs[i] = where + ": " + m
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// modelTypes are the types of the YAML file, by the name yaml.v3 prints.
var modelTypes = func() map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for _, v := range []any{Document{}, Organization{}, Environment{}, Keystore{}, Alias{}, Reference{}, SSLInfo{},
		CommonName{}, VirtualHost{}, TargetServer{}, Proxy{}, TargetEndpoint{}, LoadBalancer{}} {
		t := reflect.TypeOf(v)
		m[t.String()] = t
	}
	return m
}()

// fieldHint suggests the field that an unknown field of the type was meant to be.
func fieldHint(field, typ string) string {
	if typ == "config.Alias" && field == "sealedKey" {
		return "a sealed key is kept in the store only; give key or keyFile"
	}
	t, ok := modelTypes[typ]
	if !ok {
		return ""
	}
	fold := func(s string) string { return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s)) }
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		if fold(name) == fold(field) {
			return fmt.Sprintf("did you mean %q?", name)
		}
		names = append(names, name)
	}
	return "want one of " + strings.Join(names, ", ")
}

// exportHeader opens an exported file.
const exportHeader = `# tlsgate configuration, exported.
# Private keys are never exported. Applying this file keeps the key stored for each alias
# whose certificate is unchanged; to change an alias's certificate, give its key too
# (key or keyFile).
`

// MarshalYAML writes the document as the declarative file, for export: certificates
// inline as literal blocks; never a private key, its file or password (Key, KeyFile,
// Password, SealedKey), and no certFile (the certificate is inline).
func MarshalYAML(d *Document) ([]byte, error) {
	out := *d
	out.Organizations = make([]Organization, len(d.Organizations))
	for i, o := range d.Organizations {
		o.Environments = append([]Environment(nil), o.Environments...)
		for j := range o.Environments {
			e := &o.Environments[j]
			e.Keystores = append([]Keystore(nil), e.Keystores...)
			for k := range e.Keystores {
				ks := &e.Keystores[k]
				ks.Aliases = append([]Alias(nil), ks.Aliases...)
				for l := range ks.Aliases {
					a := &ks.Aliases[l]
					a.Cert = strings.ReplaceAll(a.Cert, "\r\n", "\n")
					a.CertFile, a.Key, a.KeyFile, a.Password, a.SealedKey = "", "", "", "", nil
				}
			}
		}
		out.Organizations[i] = o
	}
	var b bytes.Buffer
	b.WriteString(exportHeader)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&out); err != nil {
		return nil, fmt.Errorf("writing YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("writing YAML: %w", err)
	}
	return b.Bytes(), nil
}
