// Command suitecmp compares the cipher suites `tlsgate doctor --scan --format json` found
// with those sslscan found (its --xml output), per protocol version, by suite code.
//
// Usage: go run ./bench/suitecmp TLSGATE.json SSLSCAN.xml
//
// It prints one line per version and exits 1 when the sets differ.
package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

type sslscanXML struct {
	Ciphers []struct {
		Status  string `xml:"status,attr"`
		Version string `xml:"sslversion,attr"`
		Cipher  string `xml:"cipher,attr"`
		ID      string `xml:"id,attr"`
	} `xml:"ssltest>cipher"`
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: suitecmp TLSGATE.json SSLSCAN.xml")
		os.Exit(2)
	}
	ours, err := readOurs(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
	theirs, err := readSSLScan(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
	same := true
	for _, v := range []string{"SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"} {
		a, b := ours[v], theirs[v]
		if len(a) == 0 && len(b) == 0 {
			continue
		}
		onlyA, onlyB := diff(a, b), diff(b, a)
		status := "identical"
		if len(onlyA)+len(onlyB) > 0 {
			status = "DIFFERENT"
			same = false
		}
		fmt.Printf("%-8s tlsgate %3d  sslscan %3d  %s", v, len(a), len(b), status)
		if len(onlyA) > 0 {
			fmt.Printf("  only tlsgate: %s", strings.Join(names(onlyA), " "))
		}
		if len(onlyB) > 0 {
			fmt.Printf("  only sslscan: %s", strings.Join(names(onlyB), " "))
		}
		fmt.Println()
	}
	if !same {
		os.Exit(1)
	}
}

func readOurs(path string) (map[string][]uint16, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r struct {
		Facts struct {
			Server struct {
				Suites map[string][]string `json:"suites"`
			} `json:"server"`
		} `json:"facts"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string][]uint16{}
	for v, suites := range r.Facts.Server.Suites {
		for _, name := range suites {
			s, ok := tlswire.SuiteByName(name)
			if !ok {
				return nil, fmt.Errorf("%s: unknown suite %q", path, name)
			}
			out[v] = append(out[v], s.ID)
		}
	}
	return out, nil
}

func readSSLScan(path string) (map[string][]uint16, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var x sslscanXML
	if err := xml.Unmarshal(data, &x); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string][]uint16{}
	for _, c := range x.Ciphers {
		if c.Status != "accepted" && c.Status != "preferred" {
			continue
		}
		s, ok := tlswire.SuiteByName(c.Cipher)
		if !ok {
			return nil, fmt.Errorf("%s: unknown suite %q", path, c.Cipher)
		}
		out[c.Version] = append(out[c.Version], s.ID)
	}
	return out, nil
}

func diff(a, b []uint16) []uint16 {
	var out []uint16
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func names(ids []uint16) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = tlswire.SuiteName(id)
	}
	return out
}
