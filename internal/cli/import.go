package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tlsgate/tlsgate/config"
)

const importHelp = `
Read Edge's XML (VirtualHost, TargetServer, and the TargetEndpoint and ProxyEndpoint of a
proxy bundle) and write the declarative YAML file that 'tlsgate apply' takes, so an Edge
proxy's TLS settings come over as they are: SSLInfo (keystore, alias, truststore,
references, protocols, ciphers, CommonName), load balancers, timeouts.

Each PATH is an XML file, or a proxy bundle: a directory holding apiproxy/ (or apiproxy/
itself), whose proxies/*.xml and targets/*.xml are read. Keystores and truststores are not
in Edge's XML: upload them through the management API or add them to the file.

Examples:
  tlsgate import --org myorg --env prod vhost-secure.xml targetserver-backend.xml > tls.yaml
  tlsgate import --org myorg --env prod ./orders-v1/ >> tls.yaml
  tlsgate import --org myorg --env test --proxy orders --base-path /orders targets/default.xml`

type importOptions struct {
	org, env, proxy, basePath string
	vhosts                    listFlag
}

func runImport(_ context.Context, e *env, args []string) int {
	var o importOptions
	fs := newFlags(e, "import", "import --org ORG --env ENV [flags] PATH...", importHelp)
	fs.StringVar(&o.org, "org", "", "the `ORG`anization the objects go to (required)")
	fs.StringVar(&o.env, "env", "", "the `ENV`ironment the objects go to (required)")
	fs.StringVar(&o.proxy, "proxy", "", "proxy `NAME` for a TargetEndpoint (default: the bundle's directory name, or the endpoint's name)")
	fs.StringVar(&o.basePath, "base-path", "", "base `PATH` for a TargetEndpoint given without its ProxyEndpoint (default: /NAME)")
	fs.Var(&o.vhosts, "virtual-host", "virtual host `NAME` for a TargetEndpoint given without its ProxyEndpoint; repeatable (default: the imported virtual hosts, else default)")
	if code, done := parseFlags(fs, e, args); done {
		return code
	}
	if o.org == "" || o.env == "" {
		return fail(e, ExitUsage, errors.New("import: --org and --env are required"), "tlsgate import --org ORG --env ENV PATH...")
	}
	if fs.NArg() == 0 {
		return fail(e, ExitUsage, errors.New("import: no PATH given"), "give Edge XML files or proxy bundle directories")
	}
	env := config.Environment{Name: o.env}
	for _, p := range fs.Args() {
		if err := o.importPath(&env, p); err != nil {
			return fail(e, ExitUsage, fmt.Errorf("import: %w", err), "")
		}
	}
	doc := &config.Document{Organizations: []config.Organization{{Name: o.org, Environments: []config.Environment{env}}}}
	data, err := config.MarshalYAML(doc)
	if err != nil {
		return fail(e, ExitUsage, fmt.Errorf("import: %w", err), "")
	}
	if _, err := e.stdout.Write(data); err != nil {
		return fail(e, ExitUsage, fmt.Errorf("import: %w", err), "")
	}
	fmt.Fprintf(e.stderr, "imported %d virtual host(s), %d target server(s), %d proxy(ies); check and apply with: tlsgate apply --dry-run -f FILE\n",
		len(env.VirtualHosts), len(env.TargetServers), len(env.Proxies))
	return ExitOK
}

// importPath reads one file or bundle into env.
func (o *importOptions) importPath(env *config.Environment, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return o.importBundle(env, path)
	}
	data, err := readXMLFile(path)
	if err != nil {
		return err
	}
	if strings.Contains(string(data), "<ProxyEndpoint") {
		return fmt.Errorf("%s: a ProxyEndpoint is read with its bundle: give the bundle's directory", path)
	}
	v, err := config.ImportXML(data)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	switch v := v.(type) {
	case *config.VirtualHost:
		env.VirtualHosts = append(env.VirtualHosts, *v)
	case *config.TargetServer:
		env.TargetServers = append(env.TargetServers, *v)
	case *config.NamedTargetEndpoint:
		name := o.proxy
		if name == "" {
			name = v.Name
		}
		base := o.basePath
		if base == "" {
			base = "/" + name
		}
		env.Proxies = append(env.Proxies, config.Proxy{Name: name, BasePath: base, VirtualHosts: o.defaultVHosts(env), Target: v.Endpoint})
	}
	return nil
}

func (o *importOptions) defaultVHosts(env *config.Environment) []string {
	if len(o.vhosts) > 0 {
		return o.vhosts
	}
	var out []string
	for _, v := range env.VirtualHosts {
		out = append(out, v.Name)
	}
	if len(out) == 0 {
		out = []string{"default"}
	}
	return out
}

// importBundle reads an Edge proxy bundle: each ProxyEndpoint becomes a proxy routed to the
// TargetEndpoint its first RouteRule names.
func (o *importOptions) importBundle(env *config.Environment, dir string) error {
	root := dir
	if st, err := os.Stat(filepath.Join(dir, "apiproxy")); err == nil && st.IsDir() {
		root = filepath.Join(dir, "apiproxy")
	}
	bundle := filepath.Base(filepath.Clean(dir))
	if bundle == "apiproxy" {
		bundle = filepath.Base(filepath.Dir(filepath.Clean(dir)))
	}
	targets := map[string]config.TargetEndpoint{}
	tfiles, _ := filepath.Glob(filepath.Join(root, "targets", "*.xml"))
	pfiles, _ := filepath.Glob(filepath.Join(root, "proxies", "*.xml"))
	if len(pfiles) == 0 {
		return fmt.Errorf("%s: not a proxy bundle (no apiproxy/proxies/*.xml)", dir)
	}
	for _, f := range tfiles {
		data, err := readXMLFile(f)
		if err != nil {
			return err
		}
		t, err := config.ParseTargetEndpointXML(data)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		targets[t.Name] = t.Endpoint
	}
	sort.Strings(pfiles)
	for _, f := range pfiles {
		data, err := readXMLFile(f)
		if err != nil {
			return err
		}
		p, err := config.ParseProxyEndpointXML(data)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if len(p.Targets) == 0 {
			return fmt.Errorf("%s: ProxyEndpoint %s routes to no TargetEndpoint", f, p.Name)
		}
		t, ok := targets[p.Targets[0]]
		if !ok {
			return fmt.Errorf("%s: ProxyEndpoint %s routes to TargetEndpoint %s, which the bundle does not have", f, p.Name, p.Targets[0])
		}
		name := o.proxy
		if name == "" {
			name = bundle
		}
		if len(pfiles) > 1 {
			name += "-" + p.Name
		}
		vhosts := p.VirtualHosts
		if len(vhosts) == 0 {
			vhosts = o.defaultVHosts(env)
		}
		env.Proxies = append(env.Proxies, config.Proxy{Name: name, BasePath: p.BasePath, VirtualHosts: vhosts, Target: t})
	}
	return nil
}

func readXMLFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > config.MaxXMLSize {
		return nil, fmt.Errorf("%s: %d bytes; Edge XML files are read up to %d MiB", path, st.Size(), config.MaxXMLSize>>20)
	}
	return os.ReadFile(path)
}
