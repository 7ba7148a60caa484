package pki

import (
	"crypto"
	"errors"
	"fmt"
)

// The functions below read key material from memory (an upload, a field of a file), with
// the same rules and errors as the Load functions; their errors name no file.

// ParsePrivateKey reads a private key from PEM (PKCS#1, PKCS#8, SEC1, encrypted PKCS#8 or
// legacy encrypted PEM opened with password) or DER. With several keys, the first wins.
func ParsePrivateKey(data []byte, password string) (crypto.PrivateKey, error) {
	if len(data) > MaxFileSize {
		return nil, ErrTooLarge
	}
	return parsePrivateKey(data, password, nil)
}

// ParseKeyPair reads a certificate chain (PEM or DER, leaf first) and its private key,
// and checks that the key belongs to the leaf (ErrKeyMismatch).
func ParseKeyPair(certData, keyData []byte, password string) (*Bundle, error) {
	if len(certData) > MaxFileSize || len(keyData) > MaxFileSize {
		return nil, ErrTooLarge
	}
	certs, err := ParseCertificates(certData)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	key, err := parsePrivateKey(keyData, password, certs[0])
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	if !KeyMatches(certs[0], key) {
		return nil, fmt.Errorf("%w %s", ErrKeyMismatch, name(certs[0]))
	}
	return &Bundle{Chain: certs, Key: key, Format: DetectFormat(certData)}, nil
}

// ParseKeystore reads a private key entry and its chain from a PKCS#12 or JKS keystore in
// memory, as LoadKeystore does from a file.
func ParseKeystore(data []byte, password, alias string) (*Bundle, error) {
	if len(data) > MaxFileSize {
		return nil, ErrTooLarge
	}
	format := DetectFormat(data)
	b := &Bundle{Format: format}
	var err error
	switch format {
	case FormatPKCS12:
		var st *p12Store
		if st, err = readPKCS12(data, password, alias, true); err == nil {
			b.Chain, b.Key, b.Alias = st.chain, st.key, st.alias
		}
	case FormatJKS:
		b.Chain, b.Key, b.Alias, err = jksKeyEntry(data, password, alias)
	case FormatPEM:
		if _, kerr := parsePrivateKey(data, password, nil); errors.Is(kerr, ErrNoKey) {
			return nil, fmt.Errorf("%w: a PEM file without a key is not a keystore", ErrNoKey)
		}
		b, err := ParseKeyPair(data, data, password)
		if err != nil {
			return nil, err
		}
		b.Format = FormatPEM
		return b, nil
	case FormatDER:
		err = fmt.Errorf("%w: a DER certificate is not a keystore", ErrNoKey)
	default:
		err = ErrUnknownFormat
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}
