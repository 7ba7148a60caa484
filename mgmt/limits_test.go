package mgmt

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// longChain mints a chain of n certificates, leaf first, each issued by the next.
func longChain(n int) []*x509.Certificate {
	ca := pkitest.NewRoot("Chain 0")
	chain := []*x509.Certificate{ca.Cert}
	for i := 1; i < n-1; i++ {
		ca = ca.Issue(pkitest.Options{CommonName: fmt.Sprintf("Chain %d", i), IsCA: true})
		chain = append(chain, ca.Cert)
	}
	leaf := ca.Issue(pkitest.Options{CommonName: "leaf.chain.test"})
	chain = append(chain, leaf.Cert)
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return chain
}

func TestChainOfAThousandCertificates(t *testing.T) {
	a := newTestAPI(t)
	a.createKeystore("ts")
	before, rev := a.keystoreKV("ts")
	pemChain := pkitest.PEM(longChain(1000)...)

	// Through Edge's upload route: over its 50 KB limit.
	status, body := a.do("POST", a.envPath("/keystores/ts/certs?alias=long"), "application/x-pem-file", pemChain)
	wantError(t, status, body, http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "50 KB")

	// Through apply, whose limit is larger: refused by validation, naming the limit.
	var doc strings.Builder
	doc.WriteString("organizations:\n  - name: org\n    environments:\n      - name: test\n        keystores:\n          - name: ts\n            aliases:\n              - name: long\n                cert: |\n")
	for _, line := range strings.Split(strings.TrimSpace(string(pemChain)), "\n") {
		doc.WriteString("                  " + line + "\n")
	}
	status, body = a.do("POST", "/tlsgate/v1/apply", "application/yaml", []byte(doc.String()))
	wantError(t, status, body, http.StatusBadRequest, CodeValidation, "1000 certificates", "at most 10")

	// Nothing was written, and the store still works.
	if after, rev2 := a.keystoreKV("ts"); after != before || rev2 != rev {
		t.Errorf("a refused upload changed the truststore (revision %d to %d)", rev, rev2)
	}
	root := pkitest.NewRoot("After")
	a.mustDo("POST", a.envPath("/keystores/ts/certs?alias=root"), "application/x-pem-file", root.CertPEM(), http.StatusCreated)
	if _, _, err := a.store.List(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
}
