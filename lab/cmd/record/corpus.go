package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

const manifestName = "manifest.json"

// write merges the records into the corpus: the entries of the scenarios and systems this
// run covered are replaced (their files removed), the others kept; then the files, the
// manifest and the README are written.
func (rec *recorder) write(filter *regexp.Regexp) error {
	if err := os.MkdirAll(rec.out, 0o755); err != nil {
		return err
	}
	var old []entry
	if b, err := os.ReadFile(filepath.Join(rec.out, manifestName)); err == nil {
		if err := json.Unmarshal(b, &old); err != nil {
			return fmt.Errorf("reading the existing %s: %w", manifestName, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var kept []entry
	pages := map[string]bool{}
	for _, e := range old {
		if rec.systems[e.System] && filter.MatchString(e.Scenario) {
			if err := os.Remove(filepath.Join(rec.out, filepath.FromSlash(e.File))); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			continue
		}
		kept = append(kept, e)
		if strings.HasSuffix(e.File, ".response.txt") {
			b, _ := os.ReadFile(filepath.Join(rec.out, filepath.FromSlash(e.File)))
			pages[string(b)] = true
		}
	}
	if filter.String() == "" && len(rec.systems) == len(allSystems) {
		// A full run: nothing is kept, not even a file the manifest forgot.
		kept = nil
		for _, sys := range allSystems {
			if err := os.RemoveAll(filepath.Join(rec.out, sys)); err != nil {
				return err
			}
		}
	}
	all := kept
	for _, r := range rec.records {
		if causes := rec.pageCauses[r.page]; r.page != "" && len(causes) > 1 {
			// A page nginx answers several failures with names none of them.
			list := make([]string, 0, len(causes))
			for c := range causes {
				list = append(list, c)
			}
			sort.Strings(list)
			r.Cause = ""
			r.Note = "nginx answered each of these upstream failures with this page, which tells none of them: " +
				strings.Join(list, ", ")
		}
		if strings.HasSuffix(r.File, ".response.txt") && pages[r.text] {
			continue
		}
		path := filepath.Join(rec.out, filepath.FromSlash(r.File))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(r.text), 0o644); err != nil {
			return err
		}
		all = append(all, r.entry)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].File < all[j].File })
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(rec.out, manifestName), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(rec.out, "README.md"), []byte(readme(all)), 0o644); err != nil {
		return err
	}
	rec.logf("\n%d texts recorded in this run, %d in the corpus (%s)", len(rec.records), len(all), rec.out)
	rec.logf("%d client runs did not fail or printed nothing:", len(rec.skipped))
	for _, s := range rec.skipped {
		rec.logf("  %s", s)
	}
	return nil
}

// readme is the corpus's README: how it was made, and what it holds.
func readme(all []entry) string {
	var b strings.Builder
	b.WriteString(`# Recorded TLS failure messages

Every file here is what a real program printed on a real failure: the lab's servers
(package lab) played each failing scenario on 127.0.0.1, and curl, openssl, a Java client,
a Go client, a Node.js client, a Python client and nginx ran against them. Nothing was typed
by hand. This file, manifest.json and every text file are written by the recorder:

    go run ./lab/cmd/record -out tlsdiag/explain/testdata/corpus
    go run ./lab/cmd/record -out tlsdiag/explain/testdata/corpus -run '^clientcert\.' -systems java,nginx

It needs openssl, curl, nginx (Debian package nginx-light), a JDK with javac and keytool
(openjdk-17-jdk-headless), node (nodejs), python3 and the Go toolchain; it names the missing
package and stops when one is absent. -run and -systems re-record only the matching
scenarios and systems and keep the other entries. Every client run is bounded (3 s client
timeouts; a client still running after 20 s is killed and recorded with exit 124); every
server and temporary directory is removed at the end; only loopback addresses are used.

## Layout

` + "`<system>/<scenario>[.<variant>][.<peer>][.<kind>].txt`" + ` is the text, and manifest.json lists each
file with its system, the lab scenario, the true cause (an ID of shared/CAUSES.md), the
command, the exit code, the server peer (go, openssl, nginx) and the client's version.

- variant: ` + "`tls1.2`" + ` (the client allows at most TLS 1.2), ` + "`tls1.3`" + ` (only TLS 1.3),
  ` + "`tls1.0`" + ` (only TLS 1.0), ` + "`ciphers`" + ` (only ECDHE AES-GCM suites for TLS 1.2). A
  variant of a healthy scenario makes it fail: its cause is then the variant's
  (protocol.mismatch).
- peer: in the file name only where the server's implementation changes what the client
  sees (alerts, version negotiation, client-certificate handling); a text identical to one
  already recorded for the scenario (with another peer or variant) is not recorded again,
  except for client certificates, where what a client sees against the Go server depends on
  timing and every peer's and variant's text is kept.
- kind: ` + "`verify`" + ` (openssl verify on the server's chain), ` + "`urllib`" + ` (Python's
  urllib.request instead of a bare ssl socket), ` + "`server-log`" + `, ` + "`server-log.java`" + `,
  ` + "`server-log.go`" + ` and ` + "`server-page`" + ` (nginx as the server, the gateway's inbound
  side: the lines of its error log while curl, the Java client or the Go client ran against
  it, and the 400 page curl received; causes inbound.*).
- ` + "`response`" + `: the page nginx as a proxy answers an upstream failure with, recorded
  once, under the first scenario it was seen in; its cause is "" when nginx answers several
  causes with it (the note lists them).
- nginx files without a kind are nginx as a reverse proxy (proxy_ssl_verify on) in front of
  the lab server: the lines of its error log (notices and "closed keepalive connection"
  lines left out).

The text is verbatim except: ANSI colour codes are removed; the lab server's port is
PORT, the nginx proxy's PROXY_PORT, the lab AIA server's AIA_PORT; temporary directories
are /tmp/DIR. What still changes from one recording to the next is left as printed:
certificate dates (the lab mints its certificates at record time), OpenSSL's thread id
before ":error:", nginx's timestamps and process ids, curl's elapsed milliseconds.

A client that does not fail in a scenario (e.g. one that accepts a misordered chain) is not
recorded; the recorder lists those runs when it ends. Where a client met a connection the
server had already closed after its alert (Broken pipe, connection reset), the manifest's
note says so: which of the two a client sees depends on timing.

The clients: curl and openssl s_client/verify as installed; the Java client
(lab/javaclient/TLSClient.java, HttpsURLConnection, compiled with javac at record
time; JKS truststore written with keytool, PKCS#12 keystore); the Go client
(lab/cmd/record/goclient, net/http); lab/cmd/record/scripts/client.js (Node.js https.get)
and client.py (Python's ssl module, and urllib.request); nginx as a reverse proxy with
proxy_ssl_verify on, requested with curl.

## Contents

`)
	bySystem := map[string]int{}
	byCause := map[string]int{}
	versions := map[string]string{}
	for _, e := range all {
		bySystem[e.System]++
		byCause[e.Cause]++
		if e.Version != "" {
			versions[e.System] = e.Version
		}
	}
	fmt.Fprintf(&b, "%d texts.\n\n| system | texts | version |\n| --- | --- | --- |\n", len(all))
	for _, s := range allSystems {
		if bySystem[s] > 0 {
			fmt.Fprintf(&b, "| %s | %d | %s |\n", s, bySystem[s], versions[s])
		}
	}
	b.WriteString("\n| cause | texts |\n| --- | --- |\n")
	causes := make([]string, 0, len(byCause))
	for c := range byCause {
		causes = append(causes, c)
	}
	sort.Strings(causes)
	for _, c := range causes {
		name := c
		if name == "" {
			name = "(none: a page nginx answers several causes with)"
		}
		fmt.Fprintf(&b, "| %s | %d |\n", name, byCause[c])
	}
	return b.String()
}
