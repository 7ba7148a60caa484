package pki

// PKCS#12 (RFC 7292) is decoded by software.sslmate.com/src/go-pkcs12, which reads a file
// with exactly one private key. To read certificate-only files, to choose one key among
// several by alias, and to open encrypted PKCS#8 keys, the plaintext structure is read here
// (it carries the key bags and their friendly names, and every KDF iteration count we bound)
// and re-wrapped into a file the decoder accepts: the chosen key bag (or a throwaway key)
// plus the original certificate safes, authenticated with a PBMAC1 MAC computed with the
// caller's password after the original MAC was checked.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// maxIterations bounds every key derivation a file may ask for.
const maxIterations = 1 << 20

var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidEncryptedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidKeyBag        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 1}
	oidShroudedBag   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidCertBag       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	oidCertX509      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
	oidFriendlyName  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 20}
	oidPBES2         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidPBMAC1        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}
	oidHMACSHA256    = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidPKCS12PBE     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1}
)

type pfxPDU struct {
	Version  int
	AuthSafe contentInfo
	MacData  asn1.RawValue `asn1:"optional"`
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
}

type safeBag struct {
	ID         asn1.ObjectIdentifier
	Value      asn1.RawValue `asn1:"tag:0,explicit"`
	Attributes []attribute   `asn1:"set,optional"`
}

type attribute struct {
	ID    asn1.ObjectIdentifier
	Value asn1.RawValue `asn1:"set"`
}

type macData struct {
	Mac struct {
		Algorithm pkix.AlgorithmIdentifier
		Digest    []byte
	}
	Salt       []byte
	Iterations int `asn1:"optional,default:1"`
}

type encryptedData struct {
	Version int
	Info    struct {
		ContentType asn1.ObjectIdentifier
		Algorithm   pkix.AlgorithmIdentifier
		Content     asn1.RawValue `asn1:"tag:0,optional"`
	}
}

type encryptedKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	Data      []byte
}

// pfxScan is the plaintext structure of a PKCS#12 file.
type pfxScan struct {
	keys      []p12Key        // key bags in plaintext safes
	certBags  []asn1.RawValue // certificate bags in plaintext safes
	encrypted []asn1.RawValue // encrypted safes, whole ContentInfos
}

// p12Key is a key bag and the alias it is known by.
type p12Key struct {
	alias string
	bag   asn1.RawValue
}

// p12Store is what readPKCS12 returns.
type p12Store struct {
	certs   []*x509.Certificate // every certificate
	chain   []*x509.Certificate // the chosen key's certificate and its issuers
	key     any
	alias   string
	aliases []string
}

// scanPFX reads the plaintext structure of data and checks every iteration count.
func scanPFX(data []byte) (*pfxScan, error) {
	var pfx pfxPDU
	if err := unmarshalAll(data, &pfx); err != nil {
		return nil, fmt.Errorf("malformed PKCS#12: %w", err)
	}
	if !pfx.AuthSafe.ContentType.Equal(oidData) {
		return nil, errors.New("PKCS#12 without password integrity (public-key mode) is not supported")
	}
	if len(pfx.MacData.FullBytes) > 0 {
		var md macData
		if err := unmarshalAll(pfx.MacData.FullBytes, &md); err != nil {
			return nil, fmt.Errorf("malformed PKCS#12 MAC: %w", err)
		}
		n := md.Iterations
		if md.Mac.Algorithm.Algorithm.Equal(oidPBMAC1) {
			var err error
			if n, err = kdfIterations(md.Mac.Algorithm); err != nil {
				return nil, err
			}
		}
		if n > maxIterations {
			return nil, fmt.Errorf("PKCS#12 MAC asks for %d iterations, more than the %d allowed", n, maxIterations)
		}
	}
	var authSafe []byte
	if err := unmarshalAll(pfx.AuthSafe.Content.Bytes, &authSafe); err != nil {
		return nil, fmt.Errorf("malformed PKCS#12: %w", err)
	}
	var safes []asn1.RawValue
	if err := unmarshalAll(authSafe, &safes); err != nil {
		return nil, fmt.Errorf("malformed PKCS#12: %w", err)
	}
	s := &pfxScan{}
	for _, raw := range safes {
		var ci contentInfo
		if err := unmarshalAll(raw.FullBytes, &ci); err != nil {
			return nil, fmt.Errorf("malformed PKCS#12 safe: %w", err)
		}
		switch {
		case ci.ContentType.Equal(oidEncryptedData):
			var ed encryptedData
			if err := unmarshalAll(ci.Content.Bytes, &ed); err != nil {
				return nil, fmt.Errorf("malformed PKCS#12 encrypted safe: %w", err)
			}
			if err := checkIterations(ed.Info.Algorithm); err != nil {
				return nil, err
			}
			s.encrypted = append(s.encrypted, raw)
		case ci.ContentType.Equal(oidData):
			if err := s.scanBags(ci.Content.Bytes); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("PKCS#12 safe of type %s is not supported", ci.ContentType)
		}
	}
	return s, nil
}

// scanBags records the bags of a plaintext safe.
func (s *pfxScan) scanBags(content []byte) error {
	var contents []byte
	if err := unmarshalAll(content, &contents); err != nil {
		return fmt.Errorf("malformed PKCS#12 safe: %w", err)
	}
	var bags []asn1.RawValue
	if err := unmarshalAll(contents, &bags); err != nil {
		return fmt.Errorf("malformed PKCS#12 safe: %w", err)
	}
	for _, raw := range bags {
		var b safeBag
		if err := unmarshalAll(raw.FullBytes, &b); err != nil {
			return fmt.Errorf("malformed PKCS#12 bag: %w", err)
		}
		switch {
		case b.ID.Equal(oidShroudedBag):
			var ek encryptedKeyInfo
			if err := unmarshalAll(b.Value.Bytes, &ek); err != nil {
				return fmt.Errorf("malformed PKCS#12 key bag: %w", err)
			}
			if err := checkIterations(ek.Algorithm); err != nil {
				return err
			}
			fallthrough
		case b.ID.Equal(oidKeyBag):
			alias := friendlyName(b.Attributes)
			if alias == "" {
				alias = strconv.Itoa(len(s.keys) + 1) // as keytool lists unnamed entries
			}
			s.keys = append(s.keys, p12Key{alias: alias, bag: raw})
		case b.ID.Equal(oidCertBag):
			s.certBags = append(s.certBags, raw)
		}
	}
	return nil
}

// friendlyName returns the friendlyName attribute (a BMPString), or "".
func friendlyName(attrs []attribute) string {
	for _, a := range attrs {
		if !a.ID.Equal(oidFriendlyName) {
			continue
		}
		var v asn1.RawValue
		if _, err := asn1.Unmarshal(a.Value.Bytes, &v); err != nil || len(v.Bytes)%2 != 0 {
			return ""
		}
		u := make([]uint16, len(v.Bytes)/2)
		for i := range u {
			u[i] = uint16(v.Bytes[2*i])<<8 | uint16(v.Bytes[2*i+1])
		}
		return string(utf16.Decode(u))
	}
	return ""
}

// kdfIterations returns the iteration count of a PBES2, PBMAC1 or PKCS#12 PBE algorithm.
func kdfIterations(alg pkix.AlgorithmIdentifier) (int, error) {
	switch {
	case alg.Algorithm.Equal(oidPBES2), alg.Algorithm.Equal(oidPBMAC1):
		var p struct {
			KDF  pkix.AlgorithmIdentifier
			Rest asn1.RawValue
		}
		if err := unmarshalAll(alg.Parameters.FullBytes, &p); err != nil {
			return 0, fmt.Errorf("malformed PKCS#12 algorithm parameters: %w", err)
		}
		if !p.KDF.Algorithm.Equal(oidPBKDF2) {
			return 0, fmt.Errorf("key derivation %s is not supported", p.KDF.Algorithm)
		}
		var kp struct {
			Salt       asn1.RawValue
			Iterations int
			Rest       asn1.RawValue `asn1:"optional"`
			Rest2      asn1.RawValue `asn1:"optional"`
		}
		if _, err := asn1.Unmarshal(p.KDF.Parameters.FullBytes, &kp); err != nil {
			return 0, fmt.Errorf("malformed PBKDF2 parameters: %w", err)
		}
		return kp.Iterations, nil
	case len(alg.Algorithm) == len(oidPKCS12PBE)+1 && alg.Algorithm[:len(oidPKCS12PBE)].Equal(oidPKCS12PBE):
		var p struct {
			Salt       []byte
			Iterations int
		}
		if err := unmarshalAll(alg.Parameters.FullBytes, &p); err != nil {
			return 0, fmt.Errorf("malformed PBE parameters: %w", err)
		}
		return p.Iterations, nil
	}
	return 0, fmt.Errorf("encryption %s is not supported", alg.Algorithm)
}

func checkIterations(alg pkix.AlgorithmIdentifier) error {
	n, err := kdfIterations(alg)
	if err != nil {
		return err
	}
	if n > maxIterations {
		return fmt.Errorf("key derivation asks for %d iterations, more than the %d allowed", n, maxIterations)
	}
	return nil
}

// readPKCS12 opens a PKCS#12 file. With wantKey it selects the key entry named alias (""
// = the first) and its chain; otherwise it returns every certificate.
func readPKCS12(data []byte, password, alias string, wantKey bool) (*p12Store, error) {
	scan, err := scanPFX(data)
	if err != nil {
		return nil, err
	}
	st := &p12Store{}
	for _, k := range scan.keys {
		st.aliases = append(st.aliases, k.alias)
	}
	// The original MAC proves the password before anything is re-wrapped.
	_, _, _, err = pkcs12.DecodeChain(data, password)
	if errors.Is(err, pkcs12.ErrIncorrectPassword) || err != nil && strings.Contains(err.Error(), "cannot be encoded") {
		return nil, ErrWrongPassword
	}
	var chosen *p12Key
	if wantKey {
		if len(scan.keys) == 0 && len(scan.encrypted) == 0 {
			return nil, ErrNoKey
		}
		for i := range scan.keys {
			if alias == "" || strings.EqualFold(alias, scan.keys[i].alias) {
				chosen = &scan.keys[i]
				break
			}
		}
		if chosen == nil && (alias != "" || len(scan.keys) > 0) {
			return nil, aliasError(alias, st.aliases)
		}
		if chosen != nil {
			st.alias = chosen.alias
		}
	} else if len(scan.keys) > 0 {
		chosen = &scan.keys[0]
	}
	key, certs, err := decodeRewrapped(scan, chosen, password)
	if err != nil {
		return nil, err
	}
	st.certs = certs
	if wantKey {
		if key == nil {
			return nil, ErrNoKey
		}
		st.key = key
		for _, c := range certs {
			if KeyMatches(c, key) {
				st.chain = orderChain(c, certs)
				break
			}
		}
		if st.chain == nil {
			return nil, fmt.Errorf("%w: no certificate in the file matches the key", ErrNoCertificate)
		}
	}
	return st, nil
}

// aliasError says which alias is missing and which are present.
func aliasError(alias string, present []string) error {
	if len(present) == 0 {
		return fmt.Errorf("%w: %q (the store has no key entry)", ErrAliasNotFound, alias)
	}
	return fmt.Errorf("%w: %q (key entries: %s)", ErrAliasNotFound, alias, strings.Join(present, ", "))
}

// decodeRewrapped decodes the certificates of scan with one key bag (or a throwaway key
// when key is nil) and returns that key (nil for the throwaway) and every certificate.
func decodeRewrapped(scan *pfxScan, key *p12Key, password string) (any, []*x509.Certificate, error) {
	if len(scan.encrypted) > 1 {
		return nil, nil, errors.New("PKCS#12 files with more than one encrypted safe are not supported")
	}
	bags := append([]asn1.RawValue(nil), scan.certBags...)
	dummy := key == nil
	if dummy {
		d, err := throwawayKeyBag()
		if err != nil {
			return nil, nil, err
		}
		bags = append(bags, d)
	} else {
		bags = append(bags, key.bag)
	}
	var certs []*x509.Certificate
	var k any
	for attempt := 0; attempt < 2; attempt++ {
		pfx, err := buildPFX(bags, scan.encrypted, password)
		if err != nil {
			return nil, nil, err
		}
		var leaf *x509.Certificate
		var cas []*x509.Certificate
		k, leaf, cas, err = pkcs12.DecodeChain(pfx, password)
		if err != nil && dummy && attempt == 0 && strings.Contains(err.Error(), "exactly one key bag") {
			// The encrypted safe holds a key itself: decode without the throwaway.
			bags, dummy = bags[:len(bags)-1], false
			continue
		}
		if err != nil {
			if strings.Contains(err.Error(), "certificate missing") {
				return nil, nil, ErrNoCertificate
			}
			if errors.Is(err, pkcs12.ErrDecryption) || strings.Contains(err.Error(), "decrypt") {
				return nil, nil, ErrWrongPassword
			}
			return nil, nil, fmt.Errorf("decoding PKCS#12: %w", err)
		}
		certs = append([]*x509.Certificate{leaf}, cas...)
		break
	}
	if dummy {
		k = nil
	}
	return k, certs, nil
}

// throwawayKeyBag returns an unencrypted key bag holding a fresh key that nothing uses.
func throwawayKeyBag() (asn1.RawValue, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return asn1.RawValue{}, fmt.Errorf("generating a placeholder key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return asn1.RawValue{}, err
	}
	return marshalBag(oidKeyBag, der)
}

// marshalBag encodes a SafeBag with no attributes.
func marshalBag(id asn1.ObjectIdentifier, value []byte) (asn1.RawValue, error) {
	// A RawValue is written as is, so the [0] EXPLICIT wrapper is spelled out.
	b, err := asn1.Marshal(struct {
		ID    asn1.ObjectIdentifier
		Value asn1.RawValue
	}{id, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: value}})
	if err != nil {
		return asn1.RawValue{}, err
	}
	return asn1.RawValue{FullBytes: b}, nil
}

// buildPFX encodes a PFX whose first safe holds bags in plaintext, followed by the given
// encrypted safes, with a PBMAC1 (PBKDF2-HMAC-SHA256, HMAC-SHA256) MAC under password.
func buildPFX(bags []asn1.RawValue, encrypted []asn1.RawValue, password string) ([]byte, error) {
	bagsDER, err := asn1.Marshal(bags)
	if err != nil {
		return nil, err
	}
	plain, err := asn1.Marshal(contentInfo{ContentType: oidData, Content: octets(bagsDER)})
	if err != nil {
		return nil, err
	}
	safes := append([]asn1.RawValue{{FullBytes: plain}}, encrypted...)
	authSafe, err := asn1.Marshal(safes)
	if err != nil {
		return nil, err
	}
	salt := []byte("tlsgate-rewrap")
	key, err := pbkdf2.Key(sha256.New, password, salt, 1, 32)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(authSafe)

	hmacAlg := pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1.NullRawValue}
	kdfParams, err := asn1.Marshal(struct {
		Salt       []byte
		Iterations int
		KeyLength  int
		PRF        pkix.AlgorithmIdentifier
	}{salt, 1, 32, hmacAlg})
	if err != nil {
		return nil, err
	}
	params, err := asn1.Marshal(struct{ KDF, MAC pkix.AlgorithmIdentifier }{
		pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: kdfParams}}, hmacAlg})
	if err != nil {
		return nil, err
	}
	var md macData
	md.Mac.Algorithm = pkix.AlgorithmIdentifier{Algorithm: oidPBMAC1, Parameters: asn1.RawValue{FullBytes: params}}
	md.Mac.Digest = mac.Sum(nil)
	md.Salt, md.Iterations = salt, 1
	mdDER, err := asn1.Marshal(md)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(pfxPDU{Version: 3,
		AuthSafe: contentInfo{ContentType: oidData, Content: octets(authSafe)},
		MacData:  asn1.RawValue{FullBytes: mdDER}})
}

// octets returns the [0] EXPLICIT content of a data ContentInfo: an OCTET STRING.
func octets(b []byte) asn1.RawValue {
	der, _ := asn1.Marshal(b)
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: der}
}

// isEncryptedPKCS8 reports whether der is an EncryptedPrivateKeyInfo.
func isEncryptedPKCS8(der []byte) bool {
	var ek encryptedKeyInfo
	return unmarshalAll(der, &ek) == nil && len(ek.Algorithm.Algorithm) > 0
}

// decryptPKCS8 opens an encrypted PKCS#8 key (PBES2 or PKCS#12 PBE) with password, by
// decoding it as the key bag of a PKCS#12 file holding cert.
func decryptPKCS8(der []byte, password string, cert *x509.Certificate) (any, error) {
	var ek encryptedKeyInfo
	if err := unmarshalAll(der, &ek); err != nil {
		return nil, fmt.Errorf("malformed encrypted private key: %w", err)
	}
	if err := checkIterations(ek.Algorithm); err != nil {
		return nil, err
	}
	if password == "" {
		return nil, fmt.Errorf("%w: the key is encrypted and no password was given", ErrWrongPassword)
	}
	if cert == nil {
		return nil, errors.New("an encrypted PKCS#8 key is read together with its certificate")
	}
	keyBag, err := marshalBag(oidShroudedBag, der)
	if err != nil {
		return nil, err
	}
	certBagValue, err := asn1.Marshal(struct {
		ID   asn1.ObjectIdentifier
		Data []byte `asn1:"tag:0,explicit"`
	}{oidCertX509, cert.Raw})
	if err != nil {
		return nil, err
	}
	certBag, err := marshalBag(oidCertBag, certBagValue)
	if err != nil {
		return nil, err
	}
	pfx, err := buildPFX([]asn1.RawValue{keyBag, certBag}, nil, password)
	if err != nil {
		return nil, err
	}
	k, _, _, err := pkcs12.DecodeChain(pfx, password)
	if err != nil {
		if strings.Contains(err.Error(), "decrypt") || strings.Contains(err.Error(), "parsing PKCS#8") ||
			strings.Contains(err.Error(), "unmarshaling decrypted") {
			return nil, ErrWrongPassword
		}
		return nil, fmt.Errorf("decrypting PKCS#8 key: %w", err)
	}
	return k, nil
}

// unmarshalAll parses exactly one DER value from b.
func unmarshalAll(b []byte, v any) error {
	rest, err := asn1.Unmarshal(b, v)
	if err != nil {
		return err
	}
	if len(bytes.TrimRight(rest, "\x00")) != 0 {
		return errors.New("trailing data")
	}
	return nil
}
