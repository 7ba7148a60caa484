// Package pkitest mints certificate chains, healthy or with any defect, for tests and the lab.
//
// A typical chain:
//
//	root := pkitest.NewRoot("Test Root CA")
//	inter := root.Issue(pkitest.Options{CommonName: "Test Intermediate CA", IsCA: true})
//	leaf := inter.Issue(pkitest.Options{CommonName: "backend", DNSNames: []string{"backend.test"}})
//
// Defects are options: validity in the past or future, wrong names, SHA-1 signatures, short
// RSA keys, a forged issuer name, a certificate signed by another CA's key. Minting errors can
// only come from the random source; the functions panic on them, which suits tests and the lab.
package pkitest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// Epoch is the reference time of minted certificates: unless Options say otherwise, a
// certificate is valid from Epoch-1h to Epoch+365 days. It is the real clock at package
// load, so minted certificates are valid now.
var Epoch = time.Now().Truncate(time.Second)

// KeyType names the kind of key a certificate carries.
type KeyType string

// Key types.
const (
	ECDSAP256 KeyType = "ecdsa-p256" // default
	ECDSAP384 KeyType = "ecdsa-p384"
	RSA2048   KeyType = "rsa-2048"
	RSA1024   KeyType = "rsa-1024"
	Ed25519   KeyType = "ed25519"
)

// Options describe a certificate to mint. The zero value gives a leaf for server and client
// authentication, valid now, with an ECDSA P-256 key.
type Options struct {
	CommonName   string
	Organization string
	DNSNames     []string
	IPAddresses  []net.IP
	EmailAddress []string

	IsCA    bool
	MaxPath int // for CAs; 0 means unlimited

	NotBefore time.Time // default Epoch-1h
	NotAfter  time.Time // default Epoch+365 days

	Key KeyType // default ECDSAP256

	// SignatureAlgorithm overrides the issuer's default; x509.SHA1WithRSA needs an RSA issuer.
	SignatureAlgorithm x509.SignatureAlgorithm

	// ExtKeyUsage defaults to server and client authentication for leaves, none for CAs.
	ExtKeyUsage []x509.ExtKeyUsage

	// IssuingCertificateURL becomes the Authority Information Access caIssuers URL.
	IssuingCertificateURL []string

	// ForgeIssuerName, when set, writes this name as the issuer instead of the signer's
	// subject (a chain whose names do not link).
	ForgeIssuerName *pkix.Name

	// SignWith, when set, signs with this key instead of the issuer's (the names link but the
	// signature does not verify).
	SignWith crypto.Signer

	// NoSKI omits the subject key identifier (leaves only).
	NoSKI bool

	// Subject, when set, is the whole subject name; CommonName and Organization are then
	// ignored. Attributes in ExtraNames (an e-mail address, say) follow the others.
	Subject *pkix.Name

	// SerialNumber, when set, replaces the generated serial number.
	SerialNumber *big.Int
}

// Cert is a minted certificate with its private key and, for issued certificates, its issuer.
type Cert struct {
	Cert   *x509.Certificate
	Key    crypto.Signer
	Issuer *Cert // nil for self-signed
}

var serial atomic.Int64

func init() { serial.Store(time.Now().UnixNano() & 0xffffffffffff) }

// NewRoot mints a self-signed root CA named cn.
func NewRoot(cn string) *Cert {
	return NewSelfSigned(Options{CommonName: cn, IsCA: true})
}

// NewSelfSigned mints a self-signed certificate (a root when o.IsCA, a self-signed leaf
// otherwise).
func NewSelfSigned(o Options) *Cert {
	key := newKey(o.Key)
	tmpl := template(o, key)
	if o.ForgeIssuerName != nil {
		panic("pkitest: ForgeIssuerName needs an issuer")
	}
	if o.SignatureAlgorithm != 0 {
		tmpl.SignatureAlgorithm = o.SignatureAlgorithm
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic(fmt.Sprintf("pkitest: minting %q: %v", o.CommonName, err))
	}
	return &Cert{Cert: mustParse(der), Key: key}
}

// Issue mints a certificate signed by c.
func (c *Cert) Issue(o Options) *Cert {
	key := newKey(o.Key)
	tmpl := template(o, key)
	parent := c.Cert
	if o.ForgeIssuerName != nil {
		p := *c.Cert
		p.Subject = *o.ForgeIssuerName
		p.RawSubject = nil
		parent = &p
	}
	signer := c.Key
	if o.SignWith != nil {
		signer = o.SignWith
		p := *parent
		p.PublicKey = signer.Public()
		parent = &p
	}
	if o.SignatureAlgorithm != 0 {
		tmpl.SignatureAlgorithm = o.SignatureAlgorithm
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		panic(fmt.Sprintf("pkitest: minting %q: %v", o.CommonName, err))
	}
	return &Cert{Cert: mustParse(der), Key: key, Issuer: c}
}

// Chain returns c followed by its issuers up to, but not including, the self-signed root.
func (c *Cert) Chain() []*x509.Certificate {
	var out []*x509.Certificate
	for x := c; x != nil && x.Issuer != nil; x = x.Issuer {
		out = append(out, x.Cert)
	}
	if len(out) == 0 {
		out = append(out, c.Cert)
	}
	return out
}

// Root returns the top of c's issuer chain.
func (c *Cert) Root() *Cert {
	x := c
	for x.Issuer != nil {
		x = x.Issuer
	}
	return x
}

// TLS returns a tls.Certificate holding c and the given chain certificates after it.
func (c *Cert) TLS(chain ...*x509.Certificate) tls.Certificate {
	tc := tls.Certificate{PrivateKey: c.Key, Leaf: c.Cert}
	tc.Certificate = append(tc.Certificate, c.Cert.Raw)
	for _, x := range chain {
		tc.Certificate = append(tc.Certificate, x.Raw)
	}
	return tc
}

// CertPEM returns c's certificate in PEM.
func (c *Cert) CertPEM() []byte { return PEM(c.Cert) }

// KeyPEM returns c's private key as PKCS#8 PEM.
func (c *Cert) KeyPEM() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		panic(fmt.Sprintf("pkitest: marshalling key: %v", err))
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// PEM encodes certificates as a PEM bundle.
func PEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// WriteFile writes data to dir/name with mode 0600 and returns the path.
func WriteFile(dir, name string, data []byte) (string, error) {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		return "", fmt.Errorf("writing %s: %w", p, err)
	}
	return p, nil
}

func template(o Options, key crypto.Signer) *x509.Certificate {
	nb, na := o.NotBefore, o.NotAfter
	if nb.IsZero() {
		nb = Epoch.Add(-time.Hour)
	}
	if na.IsZero() {
		na = Epoch.Add(365 * 24 * time.Hour)
	}
	subj := pkix.Name{CommonName: o.CommonName}
	if o.Organization != "" {
		subj.Organization = []string{o.Organization}
	}
	if o.Subject != nil {
		subj = *o.Subject
	}
	sn := big.NewInt(serial.Add(1))
	if o.SerialNumber != nil {
		sn = o.SerialNumber
	}
	t := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               subj,
		NotBefore:             nb,
		NotAfter:              na,
		DNSNames:              o.DNSNames,
		IPAddresses:           o.IPAddresses,
		EmailAddresses:        o.EmailAddress,
		BasicConstraintsValid: true,
		IsCA:                  o.IsCA,
		IssuingCertificateURL: o.IssuingCertificateURL,
	}
	if o.IsCA {
		t.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
		if o.MaxPath > 0 {
			t.MaxPathLen = o.MaxPath
		} else {
			t.MaxPathLen = -1
		}
	} else {
		t.KeyUsage = x509.KeyUsageDigitalSignature
		if _, ok := key.(*rsa.PrivateKey); ok {
			t.KeyUsage |= x509.KeyUsageKeyEncipherment
		}
		t.ExtKeyUsage = o.ExtKeyUsage
		if t.ExtKeyUsage == nil {
			t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		}
	}
	if !o.NoSKI {
		pub, err := x509.MarshalPKIXPublicKey(key.Public())
		if err == nil {
			sum := sha1.Sum(pub)
			t.SubjectKeyId = sum[:]
		}
	}
	return t
}

func newKey(k KeyType) crypto.Signer {
	var (
		key crypto.Signer
		err error
	)
	switch k {
	case "", ECDSAP256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384:
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case RSA2048:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case RSA1024:
		key, err = rsa.GenerateKey(rand.Reader, 1024)
	case Ed25519:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		panic(fmt.Sprintf("pkitest: unknown key type %q", k))
	}
	if err != nil {
		panic(fmt.Sprintf("pkitest: generating %s key: %v", k, err))
	}
	return key
}

func mustParse(der []byte) *x509.Certificate {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(fmt.Sprintf("pkitest: parsing minted certificate: %v", err))
	}
	return c
}
