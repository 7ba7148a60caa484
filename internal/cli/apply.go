package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/mgmt"
)

const applyHelp = `
Apply a declarative YAML file (organizations, environments, keystores and truststores,
references, virtual hosts, target servers, API proxies) as one change: all of it or
nothing. Certificate and key files the YAML names are read here, relative to the YAML file,
and sent inline. Objects the file does not name are kept unless --prune.

By default the file goes to a running 'tlsgate serve' (--admin, with the token from
--token or TLSGATE_TOKEN). With --data DIR the store under DIR is changed directly (the
server must not be running on it).

Examples:
  TLSGATE_TOKEN=... tlsgate apply -f tlsgate.yaml
  tlsgate apply --dry-run -f tlsgate.yaml --token "$TOKEN"
  tlsgate apply --data ./tlsgate-data -f tlsgate.yaml

Exit status: 0 applied (or would apply); 1 refused (validation, conflict); 2 bad usage or
unreadable input.`

// remoteOptions are the flags apply and export share to reach the management API.
type remoteOptions struct {
	admin, token, data string
}

func (o *remoteOptions) register(fsAdd func(p *string, name, value, usage string)) {
	fsAdd(&o.admin, "admin", "127.0.0.1:9000", "management API `ADDR`ess of 'tlsgate serve' (host:port or URL)")
	fsAdd(&o.token, "token", "", "API `TOKEN` (default: $TLSGATE_TOKEN)")
	fsAdd(&o.data, "data", "", "work on the store under `DIR` directly instead of a running server")
}

func (o *remoteOptions) baseURL() string {
	if strings.Contains(o.admin, "://") {
		return strings.TrimRight(o.admin, "/")
	}
	return "http://" + o.admin
}

func (o *remoteOptions) tokenValue() string {
	if o.token != "" {
		return o.token
	}
	return os.Getenv("TLSGATE_TOKEN")
}

// call sends one request to the management API and returns the body of a 2xx answer, or
// an error carrying the API's message.
func (o *remoteOptions) call(ctx context.Context, method, path, contentType string, body []byte) ([]byte, error) {
	tok := o.tokenValue()
	if tok == "" {
		return nil, errors.New("no API token: give --token or set TLSGATE_TOKEN (the admin token 'tlsgate serve' printed at first start)")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, o.baseURL()+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("reaching the management API at %s: %w", o.baseURL(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		var e mgmt.Error
		if json.Unmarshal(data, &e) == nil && e.Message != "" {
			return nil, &apiError{status: resp.StatusCode, code: e.Code, msg: e.Message}
		}
		return nil, &apiError{status: resp.StatusCode, msg: strings.TrimSpace(string(data))}
	}
	return data, nil
}

// apiError is a refusal from the management API.
type apiError struct {
	status    int
	code, msg string
}

func (e *apiError) Error() string {
	if e.code != "" {
		return fmt.Sprintf("%d %s: %s", e.status, e.code, e.msg)
	}
	return fmt.Sprintf("%d: %s", e.status, e.msg)
}

type applyResult struct {
	Revision int64           `json:"revision"`
	DryRun   bool            `json:"dryRun"`
	Summary  string          `json:"summary"`
	Changes  []config.Change `json:"changes"`
}

func runApply(ctx context.Context, e *env, args []string) int {
	var o remoteOptions
	var file string
	var prune, dry bool
	fs := newFlags(e, "apply", "apply -f FILE [flags]", applyHelp)
	fs.StringVar(&file, "f", "", "the declarative YAML `FILE`")
	fs.BoolVar(&prune, "prune", false, "delete objects of the file's environments that the file does not name")
	fs.BoolVar(&dry, "dry-run", false, "validate and show what would change, change nothing")
	o.register(fs.StringVar)
	if code, done := parseFlags(fs, e, args); done {
		return code
	}
	if file == "" || fs.NArg() != 0 {
		return fail(e, ExitUsage, errors.New("apply: give the file with -f FILE"), "see tlsgate apply --help")
	}
	doc, err := readDocument(file)
	if err != nil {
		return fail(e, ExitUsage, fmt.Errorf("apply: %w", err), "see docs/config.md for the file's shape")
	}
	var res applyResult
	if o.data != "" {
		res, err = applyLocal(ctx, o.data, doc, prune, dry)
	} else {
		res, err = applyRemote(ctx, &o, doc, prune, dry)
	}
	var ve *config.ValidationError
	var ae *apiError
	switch {
	case errors.As(err, &ve), errors.As(err, &ae) && ae.status/100 == 4 && ae.status != http.StatusUnauthorized:
		return fail(e, ExitFindings, fmt.Errorf("apply: %s refused: %w", file, err), "nothing was changed; fix the file and apply again")
	case err != nil:
		return fail(e, ExitUsage, fmt.Errorf("apply: %w", err), "")
	}
	verb := "applied"
	if res.DryRun {
		verb = "would apply (dry run)"
	}
	for _, c := range res.Changes {
		if c.Action != "unchanged" {
			fmt.Fprintf(e.stdout, "  %-9s %s\n", c.Action, c.Key)
		}
	}
	fmt.Fprintf(e.stdout, "%s %s: %s (store revision %d)\n", verb, file, res.Summary, res.Revision)
	return ExitOK
}

// applyRemote sends the document, keys inline, to a running server.
func applyRemote(ctx context.Context, o *remoteOptions, doc *config.Document, prune, dry bool) (applyResult, error) {
	inlineFiles(doc)
	body, err := yaml.Marshal(doc)
	if err != nil {
		return applyResult{}, err
	}
	q := url.Values{}
	if prune {
		q.Set("prune", "true")
	}
	if dry {
		q.Set("dryRun", "true")
	}
	path := "/tlsgate/v1/apply"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	data, err := o.call(ctx, http.MethodPost, path, "application/yaml", body)
	if err != nil {
		return applyResult{}, err
	}
	var res applyResult
	if err := json.Unmarshal(data, &res); err != nil {
		return res, fmt.Errorf("reading the API's answer: %w", err)
	}
	return res, nil
}

// inlineFiles drops the file names once their contents are in Cert and Key.
func inlineFiles(doc *config.Document) {
	for i := range doc.Organizations {
		for j := range doc.Organizations[i].Environments {
			env := &doc.Organizations[i].Environments[j]
			for k := range env.Keystores {
				for a := range env.Keystores[k].Aliases {
					al := &env.Keystores[k].Aliases[a]
					al.CertFile, al.KeyFile = "", ""
				}
			}
		}
	}
}

// applyLocal changes the store under dir directly.
func applyLocal(ctx context.Context, dir string, doc *config.Document, prune, dry bool) (applyResult, error) {
	if _, err := os.Stat(dir); err != nil {
		return applyResult{}, fmt.Errorf("--data %s: %w", dir, err)
	}
	st, err := openState(dir)
	if err != nil {
		return applyResult{}, fmt.Errorf("%w (%s)", err, st.hint)
	}
	defer st.close()
	if dry {
		plan, err := config.Plan(ctx, st.store, doc, config.PlanOptions{Prune: prune, Sealer: st.key, Now: time.Now()})
		if err != nil {
			return applyResult{}, err
		}
		rev, err := st.store.Revision(ctx)
		return applyResult{Revision: rev, DryRun: true, Summary: plan.Summary(), Changes: plan.Changes}, err
	}
	api, err := mgmt.New(mgmt.Options{Store: st.store, Sealer: st.key, Logger: st.log, Version: Version})
	if err != nil {
		return applyResult{}, err
	}
	rev, plan, err := api.ApplyDocument(ctx, doc, "tlsgate apply --data", prune)
	if err != nil {
		return applyResult{}, err
	}
	return applyResult{Revision: rev, Summary: plan.Summary(), Changes: plan.Changes}, nil
}
