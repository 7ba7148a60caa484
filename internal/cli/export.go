package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/tlsgate/tlsgate/config"
)

const exportHelp = `
Write everything tlsgate holds (organizations, environments, keystores and truststores
with their certificates, references, virtual hosts, target servers, API proxies) as the
declarative YAML file that 'tlsgate apply' reads. Private keys are never exported: applying
the file again keeps the keys already stored.

Examples:
  TLSGATE_TOKEN=... tlsgate export > tlsgate.yaml
  tlsgate export --data ./tlsgate-data -o tlsgate.yaml`

func runExport(ctx context.Context, e *env, args []string) int {
	var o remoteOptions
	var out string
	fs := newFlags(e, "export", "export [flags]", exportHelp)
	fs.StringVar(&out, "o", "", "write to `FILE` instead of standard output")
	o.register(fs.StringVar)
	if code, done := parseFlags(fs, e, args); done {
		return code
	}
	if fs.NArg() != 0 {
		return fail(e, ExitUsage, fmt.Errorf("export: unexpected argument %q", fs.Arg(0)), "see tlsgate export --help")
	}
	var data []byte
	var err error
	if o.data != "" {
		data, err = exportLocal(ctx, o.data)
	} else {
		data, err = o.call(ctx, http.MethodGet, "/tlsgate/v1/export", "", nil)
	}
	if err != nil {
		return fail(e, ExitUsage, fmt.Errorf("export: %w", err), "")
	}
	if out == "" {
		_, err = e.stdout.Write(data)
	} else {
		err = os.WriteFile(out, data, 0o600)
	}
	if err != nil {
		return fail(e, ExitUsage, fmt.Errorf("export: %w", err), "")
	}
	return ExitOK
}

func exportLocal(ctx context.Context, dir string) ([]byte, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("--data %s: %w", dir, err)
	}
	st, err := openState(dir)
	if err != nil {
		return nil, errors.Join(err, errors.New(st.hint))
	}
	defer st.close()
	doc, _, err := config.Load(ctx, st.store)
	if err != nil {
		return nil, err
	}
	return config.MarshalYAML(doc)
}
