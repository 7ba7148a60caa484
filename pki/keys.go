package pki

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// maxPEMBlocks bounds the blocks read from one PEM file.
const maxPEMBlocks = 10000

// pemBlocks returns the PEM blocks of data, at most maxPEMBlocks.
func pemBlocks(data []byte) []*pem.Block {
	var out []*pem.Block
	for len(out) < maxPEMBlocks {
		b, rest := pem.Decode(data)
		if b == nil {
			break
		}
		out = append(out, b)
		data = rest
	}
	return out
}

// isKeyBlock reports whether a PEM block type holds a private key.
func isKeyBlock(t string) bool {
	return t == "PRIVATE KEY" || t == "ENCRYPTED PRIVATE KEY" || strings.HasSuffix(t, " PRIVATE KEY")
}

// hasKeyBlock reports whether PEM data holds a private key block.
func hasKeyBlock(data []byte) bool {
	for _, b := range pemBlocks(data) {
		if isKeyBlock(b.Type) {
			return true
		}
	}
	return false
}

// parsePrivateKey reads a private key from PEM or DER. With several keys in a PEM file, the
// one that matches cert wins. cert is also needed to open an encrypted PKCS#8 key.
func parsePrivateKey(data []byte, password string, cert *x509.Certificate) (crypto.PrivateKey, error) {
	if DetectFormat(data) != FormatPEM {
		return parseKeyDER(data, password, cert)
	}
	var first crypto.PrivateKey
	var firstErr error
	for _, b := range pemBlocks(data) {
		if !isKeyBlock(b.Type) {
			continue
		}
		k, err := parseKeyBlock(b, password, cert)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if cert == nil || KeyMatches(cert, k) {
			return k, nil
		}
		if first == nil {
			first = k
		}
	}
	switch {
	case first != nil:
		return first, nil
	case firstErr != nil:
		return nil, firstErr
	}
	return nil, ErrNoKey
}

// parseKeyBlock parses one PEM private key block.
func parseKeyBlock(b *pem.Block, password string, cert *x509.Certificate) (crypto.PrivateKey, error) {
	der := b.Bytes
	//lint:ignore SA1019 legacy encrypted PEM (Proc-Type: 4,ENCRYPTED) is still what many tools write.
	if x509.IsEncryptedPEMBlock(b) {
		if password == "" {
			return nil, fmt.Errorf("%w: the key is encrypted and no password was given", ErrWrongPassword)
		}
		var err error
		//lint:ignore SA1019 see above.
		der, err = x509.DecryptPEMBlock(b, []byte(password))
		if err != nil {
			if errors.Is(err, x509.IncorrectPasswordError) {
				return nil, ErrWrongPassword
			}
			return nil, fmt.Errorf("decrypting %s: %w", strings.ToLower(b.Type), err)
		}
	}
	switch b.Type {
	case "PRIVATE KEY":
		return parsed(x509.ParsePKCS8PrivateKey(der))
	case "RSA PRIVATE KEY":
		return parsed(x509.ParsePKCS1PrivateKey(der))
	case "EC PRIVATE KEY":
		return parsed(x509.ParseECPrivateKey(der))
	case "ENCRYPTED PRIVATE KEY":
		return decryptPKCS8(der, password, cert)
	}
	return nil, fmt.Errorf("%w: unsupported key type %q", ErrNoKey, b.Type)
}

// parsed widens a typed key to crypto.PrivateKey, keeping nil nil.
func parsed[K any](k K, err error) (crypto.PrivateKey, error) {
	if err != nil {
		return nil, fmt.Errorf("parsing private key: %w", err)
	}
	return k, nil
}

// parseKeyDER parses a DER private key: PKCS#8, PKCS#1, SEC1 or encrypted PKCS#8.
func parseKeyDER(der []byte, password string, cert *x509.Certificate) (crypto.PrivateKey, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	if isEncryptedPKCS8(der) {
		return decryptPKCS8(der, password, cert)
	}
	return nil, ErrNoKey
}
