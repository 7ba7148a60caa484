package probe

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/tlsdiag"
)

// rootPool returns the configured truststore: the given roots, plus the system's when asked.
// An empty truststore is an empty pool, never nil (which would mean the system's).
func rootPool(e *tlsdiag.Expectations) *x509.CertPool {
	var pool *x509.CertPool
	if e.SystemRoots {
		if p, err := x509.SystemCertPool(); err == nil {
			pool = p
		}
	}
	if pool == nil {
		pool = x509.NewCertPool()
	}
	for _, c := range e.Roots {
		pool.AddCert(c)
	}
	return pool
}

// verifyChain verifies the server's chain (leaf first) as a strict client does: a path to
// the roots at time now, for the name, then the policy on every certificate of the path.
// crypto/x509 already refuses SHA-1 and MD5 signatures.
func verifyChain(certs []*x509.Certificate, roots *x509.CertPool, name string, now time.Time, policy pki.Policy) error {
	if len(certs) == 0 {
		return errors.New("x509: the server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	chains, err := certs[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		DNSName:       name,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return err
	}
	var first error
	for _, chain := range chains {
		err := checkPolicy(chain, policy)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// policyError says which certificate of a path the client's policy refuses, and why.
type policyError struct {
	subject string
	reason  string
}

func (e *policyError) Error() string {
	return fmt.Sprintf("x509: certificate %q refused by policy: %s", e.subject, e.reason)
}

// checkPolicy applies the key-size policy to every certificate of a verified path,
// trust anchor included.
func checkPolicy(chain []*x509.Certificate, p pki.Policy) error {
	for _, c := range chain {
		if k, ok := c.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() < p.MinRSA() {
			return &policyError{
				subject: c.Subject.String(),
				reason:  fmt.Sprintf("RSA key of %d bits, below the minimum of %d", k.N.BitLen(), p.MinRSA()),
			}
		}
	}
	return nil
}
