package pki

import (
	"crypto/x509"
	"errors"
)

// maxInspectedKeys bounds the key entries of one PKCS#12 file that Inspect opens.
const maxInspectedKeys = 32

// StoreEntry is one entry of a keystore.
type StoreEntry struct {
	Alias  string
	HasKey bool                // a private key entry; otherwise a trusted certificate
	Chain  []*x509.Certificate // the key's chain, or the trusted certificate
}

// Contents is what a certificate or keystore file holds.
type Contents struct {
	Path    string
	Format  string              // "pem", "der", "pkcs12" or "jks"
	Certs   []*x509.Certificate // every certificate, in file order where the format has one
	Entries []StoreEntry        // keystores only; PKCS#12 lists its key entries (trusted certificates carry their names inside the encrypted part)
	HasKey  bool                // the file holds a private key
}

// Inspect reads any file the loaders read and says what it holds. The password opens
// PKCS#12 and JKS files (a JKS file is listed without its integrity check when it is empty).
func Inspect(path, password string) (*Contents, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	ct := &Contents{Path: path, Format: DetectFormat(data)}
	switch ct.Format {
	case FormatPEM, FormatDER:
		ct.Certs, err = ParseCertificates(data)
		if errors.Is(err, ErrNoCertificate) && hasKeyBlock(data) {
			err = nil // a key file
		}
		ct.HasKey = ct.Format == FormatPEM && hasKeyBlock(data)
	case FormatJKS:
		var entries []jksEntry
		if entries, err = parseJKS(data, password); err == nil {
			ct.Certs, err = jksCertificates(data, "")
		}
		for _, e := range entries {
			se := StoreEntry{Alias: e.alias, HasKey: e.isKey}
			for _, der := range e.certs {
				if c, perr := x509.ParseCertificate(der); perr == nil {
					se.Chain = append(se.Chain, c)
				}
			}
			ct.HasKey = ct.HasKey || e.isKey
			ct.Entries = append(ct.Entries, se)
		}
	case FormatPKCS12:
		var st *p12Store
		if st, err = readPKCS12(data, password, "", false); err == nil {
			ct.Certs = st.certs
			for i, alias := range st.aliases {
				if i == maxInspectedKeys {
					break
				}
				se := StoreEntry{Alias: alias, HasKey: true}
				if k, kerr := readPKCS12(data, password, alias, true); kerr == nil {
					se.Chain = k.chain
				}
				ct.HasKey = true
				ct.Entries = append(ct.Entries, se)
			}
		}
	default:
		err = ErrUnknownFormat
	}
	if err != nil {
		return nil, &LoadError{Path: path, Format: ct.Format, Err: err}
	}
	return ct, nil
}
