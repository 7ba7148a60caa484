package pki

// JKS files are checked here before github.com/pavlo-v-chernykh/keystore-go decodes them:
// every length and count is bounded by the bytes that remain (the decoder allocates what a
// length field says), and the keyed SHA-1 digest that ends the file tells a wrong password
// from a damaged file.

import (
	"bytes"
	"crypto/sha1"
	"crypto/subtle"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"

	keystore "github.com/pavlo-v-chernykh/keystore-go/v4"
)

const jksMagic = 0xfeedfeed

// jksEntry is one entry of a JKS file.
type jksEntry struct {
	alias string
	isKey bool
	certs [][]byte // the trusted certificate, or the key's chain
}

// jksReader reads big-endian fields, bounded by the data.
type jksReader struct {
	b   []byte
	err error
}

func (r *jksReader) next(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errors.New("malformed JKS: a field runs past the end of the file")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *jksReader) u16() uint64 {
	if b := r.next(2); b != nil {
		return uint64(binary.BigEndian.Uint16(b))
	}
	return 0
}

func (r *jksReader) u32() uint64 {
	if b := r.next(4); b != nil {
		return uint64(binary.BigEndian.Uint32(b))
	}
	return 0
}

// count reads a count of items each at least min bytes long.
func (r *jksReader) count(min int) uint64 {
	n := r.u32()
	if r.err == nil && n*uint64(min) > uint64(len(r.b)) {
		r.err = errors.New("malformed JKS: more entries than the file can hold")
	}
	return n
}

// parseJKS walks a JKS file and, when password is not empty, checks its digest.
func parseJKS(data []byte, password string) ([]jksEntry, error) {
	r := &jksReader{b: data}
	if r.u32() != jksMagic {
		return nil, errors.New("not a JKS file")
	}
	version := r.u32()
	if r.err == nil && version != 1 && version != 2 {
		return nil, fmt.Errorf("JKS version %d is not supported", version)
	}
	readCert := func() []byte {
		if version == 2 {
			if t := string(r.next(r.u16())); r.err == nil && t != "X.509" {
				r.err = fmt.Errorf("JKS certificate type %q is not supported", t)
			}
		}
		return r.next(r.u32())
	}
	var entries []jksEntry
	n := r.count(14)
	for i := uint64(0); i < n && r.err == nil; i++ {
		tag := r.u32()
		e := jksEntry{alias: string(r.next(r.u16()))}
		r.next(8) // creation time
		switch tag {
		case 1:
			e.isKey = true
			r.next(r.u32()) // the protected key
			for j, m := uint64(0), r.count(4); j < m && r.err == nil; j++ {
				e.certs = append(e.certs, readCert())
			}
		case 2:
			e.certs = append(e.certs, readCert())
		default:
			if r.err == nil {
				r.err = fmt.Errorf("malformed JKS: unknown entry type %d", tag)
			}
		}
		entries = append(entries, e)
	}
	end := len(data) - len(r.b)
	digest := r.next(sha1.Size)
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, errors.New("malformed JKS: data after the digest")
	}
	if password != "" {
		h := sha1.New()
		for _, u := range utf16.Encode([]rune(password)) {
			h.Write([]byte{byte(u >> 8), byte(u)})
		}
		h.Write([]byte("Mighty Aphrodite"))
		h.Write(data[:end])
		if subtle.ConstantTimeCompare(h.Sum(nil), digest) != 1 {
			return nil, ErrWrongPassword
		}
	}
	return entries, nil
}

// jksCertificates returns the trusted certificates and the key entries' chains of a JKS
// file.
func jksCertificates(data []byte, password string) ([]*x509.Certificate, error) {
	entries, err := parseJKS(data, password)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	seen := map[string]bool{}
	for _, e := range entries {
		for _, der := range e.certs {
			if seen[string(der)] {
				continue
			}
			seen[string(der)] = true
			c, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, fmt.Errorf("parsing the certificate of entry %q: %w", e.alias, err)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// jksKeyEntry opens the key entry named alias ("" = the first) with the store password.
func jksKeyEntry(data []byte, password, alias string) ([]*x509.Certificate, any, string, error) {
	if password == "" {
		return nil, nil, "", fmt.Errorf("%w: a JKS key entry needs the store password", ErrWrongPassword)
	}
	entries, err := parseJKS(data, password)
	if err != nil {
		return nil, nil, "", err
	}
	var keys []string
	chosen := ""
	for _, e := range entries {
		if !e.isKey {
			continue
		}
		keys = append(keys, e.alias)
		if chosen == "" && (alias == "" || strings.EqualFold(alias, e.alias)) {
			chosen = e.alias
		}
	}
	if chosen == "" {
		if alias == "" {
			return nil, nil, "", fmt.Errorf("%w: the store holds only trusted certificates", ErrNoKey)
		}
		return nil, nil, "", aliasError(alias, keys)
	}
	ks := keystore.New()
	pw := []byte(password)
	if err := ks.Load(bytes.NewReader(data), pw); err != nil {
		return nil, nil, "", fmt.Errorf("decoding JKS: %w", err)
	}
	entry, err := ks.GetPrivateKeyEntry(chosen, pw)
	if err != nil {
		// The digest matched, so the store password is right: the key has its own.
		return nil, nil, "", fmt.Errorf("%w: the key of entry %q is not protected by the store password", ErrWrongPassword, chosen)
	}
	key, err := x509.ParsePKCS8PrivateKey(entry.PrivateKey)
	if err != nil {
		return nil, nil, "", fmt.Errorf("parsing the key of entry %q: %w", chosen, err)
	}
	var chain []*x509.Certificate
	for _, c := range entry.CertificateChain {
		x, err := x509.ParseCertificate(c.Content)
		if err != nil {
			return nil, nil, "", fmt.Errorf("parsing the chain of entry %q: %w", chosen, err)
		}
		chain = append(chain, x)
	}
	if len(chain) == 0 {
		return nil, nil, "", fmt.Errorf("%w: entry %q has no certificate", ErrNoCertificate, chosen)
	}
	if !KeyMatches(chain[0], key) {
		return nil, nil, "", fmt.Errorf("%w: entry %q", ErrKeyMismatch, chosen)
	}
	return chain, key, chosen, nil
}
