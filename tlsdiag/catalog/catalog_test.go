package catalog

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tlsgate/tlsgate/tlsdiag"
)

// outboundIDs are the outbound and pre-TLS cause IDs of the catalog contract. An ID is never
// renamed; adding one means adding it here and to docs/causes.md.
var outboundIDs = []string{
	"network.unreachable", "network.timeout", "tls.not-tls",
	"protocol.mismatch", "cipher.mismatch",
	"sni.required", "sni.default-certificate",
	"chain.incomplete", "chain.wrong-intermediate", "chain.misordered",
	"truststore.missing-anchor", "truststore.empty",
	"hostname.mismatch",
	"cert.expired", "cert.not-yet-valid", "cert.insecure-signature",
	"clientcert.missing", "clientcert.issuer-not-accepted", "clientcert.rejected",
	"clientcert.expired", "clientcert.key-mismatch",
	"alert.unclassified",
}

func TestOutboundIDs(t *testing.T) {
	got := map[string]bool{}
	for _, c := range Outbound() {
		got[c.ID] = true
		if c.Title == "" || c.Severity == "" {
			t.Errorf("cause %s: empty title or severity", c.ID)
		}
	}
	for _, id := range outboundIDs {
		if !got[id] {
			t.Errorf("cause %s is missing from the catalog", id)
		}
		delete(got, id)
	}
	for id := range got {
		t.Errorf("cause %s is in the catalog but not in the contract list", id)
	}
}

func TestEngineBuilds(t *testing.T) {
	if e := Engine(); len(e.Causes()) != len(outboundIDs) {
		t.Fatalf("engine has %d causes; want %d", len(e.Causes()), len(outboundIDs))
	}
}

func TestDuplicateIDPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewEngine accepted a duplicate ID")
		}
	}()
	c := Outbound()[0]
	tlsdiag.NewEngine(c, c)
}

func TestDocsListEveryCause(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	doc, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "docs", "causes.md"))
	if err != nil {
		t.Fatalf("reading docs/causes.md: %v", err)
	}
	for _, id := range outboundIDs {
		if !strings.Contains(string(doc), "`"+id+"`") {
			t.Errorf("docs/causes.md does not document %s", id)
		}
	}
}
