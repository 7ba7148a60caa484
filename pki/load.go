package pki

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxFileSize is the largest certificate, key or keystore file the loaders read.
const MaxFileSize = 10 << 20

// Errors the loaders wrap, for callers to test with errors.Is.
var (
	ErrEmpty         = errors.New("file is empty")
	ErrUnknownFormat = errors.New("not a certificate or keystore in PEM, DER, PKCS#12 or JKS")
	ErrWrongPassword = errors.New("wrong password") // or integrity check failed
	ErrKeyMismatch   = errors.New("private key does not match the certificate")
	ErrNoKey         = errors.New("no private key")
	ErrAliasNotFound = errors.New("alias not found")
	ErrNoCertificate = errors.New("no certificate")
	ErrTooLarge      = fmt.Errorf("file is larger than %d MiB", MaxFileSize>>20)
)

// Formats DetectFormat names.
const (
	FormatPEM    = "pem"
	FormatDER    = "der"
	FormatPKCS12 = "pkcs12"
	FormatJKS    = "jks"
)

// LoadError says which file, which format was tried and what went wrong; it wraps one of
// the sentinel errors above or the parser's error. It never holds a password.
type LoadError struct {
	Path   string
	Format string // "" when the format could not be told
	Err    error
}

// Error renders "reading PATH (FORMAT): ERR".
func (e *LoadError) Error() string {
	if e.Format == "" {
		return fmt.Sprintf("reading %s: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("reading %s (%s): %v", e.Path, e.Format, e.Err)
}

// Unwrap returns the cause.
func (e *LoadError) Unwrap() error { return e.Err }

// Bundle is a certificate chain with its private key, as a server or client presents it.
type Bundle struct {
	Chain  []*x509.Certificate // leaf first
	Key    crypto.PrivateKey
	Alias  string // the keystore entry, "" for PEM/DER pairs
	Format string // the format of the file the chain came from
	Path   string // the file the chain came from
}

// TLSCertificate returns the bundle as crypto/tls uses it.
func (b *Bundle) TLSCertificate() tls.Certificate {
	tc := tls.Certificate{PrivateKey: b.Key}
	for _, c := range b.Chain {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	if len(b.Chain) > 0 {
		tc.Leaf = b.Chain[0]
	}
	return tc
}

// DetectFormat tells the format of a file's contents: "pem", "der", "pkcs12", "jks", or ""
// when it is none of them.
func DetectFormat(data []byte) string {
	switch {
	case bytes.Contains(data, []byte("-----BEGIN ")):
		return FormatPEM
	case len(data) >= 4 && binary.BigEndian.Uint32(data) == jksMagic:
		return FormatJKS
	case len(data) > 0 && data[0] == 0x30:
		if looksLikePFX(data) {
			return FormatPKCS12
		}
		return FormatDER
	}
	return ""
}

// looksLikePFX reports whether data starts as a PKCS#12 PFX: SEQUENCE { INTEGER 3,
// ContentInfo { data or signedData ... } }.
func looksLikePFX(data []byte) bool {
	var pfx struct {
		Version  int
		AuthSafe struct {
			ContentType asn1.ObjectIdentifier
			Rest        asn1.RawValue `asn1:"optional,explicit,tag:0"`
		}
		Rest asn1.RawValue `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(data, &pfx); err != nil {
		return false
	}
	return pfx.Version == 3 && len(pfx.AuthSafe.ContentType) > 0
}

// readFile reads path, refusing files larger than MaxFileSize and empty files.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &LoadError{Path: path, Err: err}
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > MaxFileSize {
		return nil, &LoadError{Path: path, Err: ErrTooLarge}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &LoadError{Path: path, Err: err}
	}
	if len(data) > MaxFileSize {
		return nil, &LoadError{Path: path, Err: ErrTooLarge}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &LoadError{Path: path, Err: ErrEmpty}
	}
	return data, nil
}

// LoadCertificates reads a truststore: a PEM bundle (keys and other blocks are ignored,
// but at least one certificate is needed), DER, PKCS#12 (every certificate, with or without
// a key) or JKS (trusted entries and the chains of key entries). The password opens
// PKCS#12 and JKS files; with no password a JKS file is read without its integrity check,
// as keytool does.
func LoadCertificates(path, password string) ([]*x509.Certificate, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	format := DetectFormat(data)
	var certs []*x509.Certificate
	switch format {
	case FormatPEM, FormatDER:
		certs, err = ParseCertificates(data)
	case FormatPKCS12:
		var st *p12Store
		st, err = readPKCS12(data, password, "", false)
		if st != nil {
			certs = st.certs
		}
	case FormatJKS:
		certs, err = jksCertificates(data, password)
	default:
		err = ErrUnknownFormat
	}
	if err == nil && len(certs) == 0 {
		err = ErrNoCertificate
	}
	if err != nil {
		return nil, &LoadError{Path: path, Format: format, Err: err}
	}
	return certs, nil
}

// ParseCertificates parses certificates in PEM (every CERTIFICATE block, other blocks
// ignored) or DER (one or more concatenated) from memory.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	switch DetectFormat(data) {
	case FormatPEM:
		var certs []*x509.Certificate
		for _, b := range pemBlocks(data) {
			if b.Type != "CERTIFICATE" && b.Type != "X509 CERTIFICATE" && b.Type != "TRUSTED CERTIFICATE" {
				continue
			}
			c, err := parseCertDER(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parsing certificate %d: %w", len(certs)+1, err)
			}
			certs = append(certs, c)
		}
		if len(certs) == 0 {
			return nil, ErrNoCertificate
		}
		return certs, nil
	case FormatDER:
		certs, err := x509.ParseCertificates(data)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnknownFormat, err)
		}
		if len(certs) == 0 {
			return nil, ErrNoCertificate
		}
		return certs, nil
	case "":
		return nil, ErrUnknownFormat
	}
	return nil, fmt.Errorf("%w: a keystore, not PEM or DER", ErrUnknownFormat)
}

// parseCertDER parses one certificate, ignoring what follows it (OpenSSL's TRUSTED
// CERTIFICATE blocks append their trust settings).
func parseCertDER(der []byte) (*x509.Certificate, error) {
	var raw asn1.RawValue
	if _, err := asn1.Unmarshal(der, &raw); err == nil {
		der = raw.FullBytes
	}
	return x509.ParseCertificate(der)
}

// KeyMatches reports whether key is the private key of cert's public key.
func KeyMatches(cert *x509.Certificate, key crypto.PrivateKey) bool {
	s, ok := key.(interface{ Public() crypto.PublicKey })
	if !ok || cert == nil {
		return false
	}
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(s.Public())
}

// LoadKeyPair reads a certificate chain (PEM or DER, leaf first) and its private key (PEM:
// PKCS#1, PKCS#8, SEC1, encrypted PKCS#8 or legacy encrypted PEM opened with password; or
// DER), and checks that the key belongs to the leaf. certPath and keyPath may name the same
// file.
func LoadKeyPair(certPath, keyPath, password string) (*Bundle, error) {
	data, err := readFile(certPath)
	if err != nil {
		return nil, err
	}
	format := DetectFormat(data)
	if format != FormatPEM && format != FormatDER {
		return nil, &LoadError{Path: certPath, Format: format,
			Err: fmt.Errorf("%w: a certificate file is PEM or DER; a keystore is read with its own password and alias", ErrUnknownFormat)}
	}
	certs, err := ParseCertificates(data)
	if err != nil {
		return nil, &LoadError{Path: certPath, Format: format, Err: err}
	}
	keyData := data
	if keyPath != certPath {
		if keyData, err = readFile(keyPath); err != nil {
			return nil, err
		}
	}
	keyFormat := DetectFormat(keyData)
	key, err := parsePrivateKey(keyData, password, certs[0])
	if err != nil {
		return nil, &LoadError{Path: keyPath, Format: keyFormat, Err: err}
	}
	if !KeyMatches(certs[0], key) {
		return nil, &LoadError{Path: keyPath, Format: keyFormat,
			Err: fmt.Errorf("%w %s", ErrKeyMismatch, name(certs[0]))}
	}
	return &Bundle{Chain: certs, Key: key, Format: format, Path: certPath}, nil
}

// LoadKeystore reads a private key entry and its chain from a PKCS#12 or JKS keystore. An
// empty alias selects the only, or else the first, key entry; an unknown alias yields
// ErrAliasNotFound naming the aliases present. A JKS key is opened with the store password.
// A PEM file holding both a certificate and its key is accepted too.
func LoadKeystore(path, password, alias string) (*Bundle, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	b, err := ParseKeystore(data, password, alias)
	if err != nil {
		return nil, &LoadError{Path: path, Format: DetectFormat(data), Err: err}
	}
	b.Path = path
	return b, nil
}

// orderChain returns leaf followed by its issuers found among certs, by name and
// signature, at most 10 certificates.
func orderChain(leaf *x509.Certificate, certs []*x509.Certificate) []*x509.Certificate {
	chain := []*x509.Certificate{leaf}
	used := map[*x509.Certificate]bool{leaf: true}
	for cur := leaf; len(chain) < maxPathLen && !IsSelfSigned(cur); {
		var next *x509.Certificate
		for _, c := range certs {
			if !used[c] && bytes.Equal(c.RawSubject, cur.RawIssuer) &&
				c.CheckSignature(cur.SignatureAlgorithm, cur.RawTBSCertificate, cur.Signature) == nil {
				next = c
				break
			}
		}
		if next == nil {
			break
		}
		chain, used[next], cur = append(chain, next), true, next
	}
	return chain
}
