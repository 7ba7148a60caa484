package tlswire

import (
	"cmp"
	"slices"
	"strings"
)

// KeyExchange is how a cipher suite agrees on the premaster secret.
type KeyExchange string

// Key exchange kinds, as the IANA suite names spell them. TLS 1.3 suites do
// not fix a key exchange ([KxAny]); the key_share and pre_shared_key
// extensions do.
const (
	KxNone     KeyExchange = ""     // signalling values, not real suites
	KxNULL     KeyExchange = "NULL" // TLS_NULL_WITH_NULL_NULL
	KxRSA      KeyExchange = "RSA"  // RSA key transport
	KxDH       KeyExchange = "DH"   // static Diffie-Hellman (DH_DSS, DH_RSA)
	KxDHE      KeyExchange = "DHE"  // ephemeral Diffie-Hellman, including DH_anon
	KxECDH     KeyExchange = "ECDH" // static ECDH (ECDH_ECDSA, ECDH_RSA)
	KxECDHE    KeyExchange = "ECDHE"
	KxPSK      KeyExchange = "PSK"
	KxDHEPSK   KeyExchange = "DHE_PSK"
	KxRSAPSK   KeyExchange = "RSA_PSK"
	KxECDHEPSK KeyExchange = "ECDHE_PSK"
	KxSRP      KeyExchange = "SRP"
	KxKRB5     KeyExchange = "KRB5"
	KxECCPWD   KeyExchange = "ECCPWD"
	KxGOST     KeyExchange = "GOSTR341112_256" // VKO GOST R 34.10-2012, RFC 9189
	KxAny      KeyExchange = "any"             // TLS 1.3: negotiated by extensions
)

// Authentication is how a cipher suite authenticates the server.
type Authentication string

// Authentication kinds. Anonymous suites (DH_anon, ECDH_anon) use AuthAnon.
const (
	AuthNone   Authentication = ""
	AuthNULL   Authentication = "NULL"
	AuthRSA    Authentication = "RSA"
	AuthDSS    Authentication = "DSS"
	AuthECDSA  Authentication = "ECDSA"
	AuthAnon   Authentication = "anon"
	AuthPSK    Authentication = "PSK"
	AuthSRP    Authentication = "SRP"
	AuthKRB5   Authentication = "KRB5"
	AuthECCPWD Authentication = "ECCPWD"
	AuthGOST   Authentication = "GOSTR341012"
	AuthAny    Authentication = "any" // TLS 1.3: the certificate decides
)

// Suite describes one value of the IANA TLS Cipher Suites registry.
type Suite struct {
	ID uint16
	// Name is the IANA name, e.g. "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".
	Name string
	// OpenSSLName is OpenSSL's name, e.g. "ECDHE-RSA-AES128-GCM-SHA256", or
	// "" where OpenSSL never named the suite.
	OpenSSLName string
	KeyExchange KeyExchange
	Auth        Authentication
	// Cipher is the bulk cipher as the IANA name spells it, e.g.
	// "AES_128_GCM", "3DES_EDE_CBC", "RC4_128" or "NULL".
	Cipher string
	// MAC is the record MAC ("MD5", "SHA1", "SHA256", "SHA384", ...) or
	// "AEAD" for suites whose cipher authenticates.
	MAC string
	// MinVersion and MaxVersion bound the protocol versions in which a
	// server may select the suite. TLS 1.3 suites exist only in TLS 1.3;
	// suites with AEAD ciphers or SHA-256/SHA-384 MACs only in TLS 1.2
	// (except the PSK suites of RFC 5487, 5489 and 6367 with CBC or NULL
	// ciphers, which TLS 1.0 may already negotiate, as OpenSSL allows); the
	// others in SSL 3.0 to TLS 1.2. Export suites are kept in that range
	// although RFC 4346 forbids them from TLS 1.1 on: a scanner should find
	// the servers that still accept them.
	MinVersion uint16
	MaxVersion uint16
	// Export marks the 40- and 56-bit export suites.
	Export bool
	// Signalling marks TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746) and
	// TLS_FALLBACK_SCSV (RFC 7507): values a client sends in its suite list
	// to signal something, which a server never selects.
	Signalling bool
}

// String returns the IANA name.
func (s Suite) String() string { return s.Name }

// SupportsVersion reports whether a server may select s in version v.
func (s Suite) SupportsVersion(v uint16) bool {
	return !s.Signalling && s.MinVersion <= v && v <= s.MaxVersion
}

// ForwardSecret reports whether the key exchange is ephemeral. Every TLS 1.3
// suite is, as TLS 1.3 has no static key exchange (PSK-only resumption
// aside).
func (s Suite) ForwardSecret() bool {
	switch s.KeyExchange {
	case KxDHE, KxECDHE, KxDHEPSK, KxECDHEPSK, KxAny, KxECCPWD:
		return true
	}
	return false
}

type suiteIndex struct {
	all    []Suite // sorted by ID
	byID   map[uint16]int
	byName map[string]int // upper-case IANA and OpenSSL names, and aliases
}

var suiteIdx = buildSuiteIndex()

func buildSuiteIndex() suiteIndex {
	all := make([]Suite, 0, len(suiteTable))
	for _, r := range suiteTable {
		all = append(all, Suite{
			ID:          r.id,
			Name:        r.name,
			OpenSSLName: r.openssl,
			KeyExchange: r.kx,
			Auth:        r.auth,
			Cipher:      r.cipher,
			MAC:         r.mac,
			MinVersion:  r.versions.min,
			MaxVersion:  r.versions.max,
			Export:      strings.Contains(r.name, "_EXPORT_"),
			Signalling:  r.kx == KxNone,
		})
	}
	slices.SortFunc(all, func(a, b Suite) int { return cmp.Compare(a.ID, b.ID) })
	idx := suiteIndex{
		all:    all,
		byID:   make(map[uint16]int, len(all)),
		byName: make(map[string]int, 2*len(all)),
	}
	addName := func(name string, i int) {
		key := strings.ToUpper(name)
		if j, dup := idx.byName[key]; dup && j != i {
			panic("tlswire: cipher suite name " + name + " registered twice")
		}
		idx.byName[key] = i
	}
	for i, s := range all {
		if _, dup := idx.byID[s.ID]; dup {
			panic("tlswire: cipher suite " + s.Name + " registered twice")
		}
		idx.byID[s.ID] = i
		addName(s.Name, i)
		if s.OpenSSLName != "" {
			addName(s.OpenSSLName, i)
		}
	}
	for alias, id := range suiteAliases {
		addName(alias, idx.byID[id])
	}
	return idx
}

// suiteAliases are further names that SuiteByName accepts: OpenSSL's "EDH-"
// names from before version 1.1.0, and the regular spelling of two RFC 6655
// suites that the registry names TLS_PSK_DHE_*, as OpenSSL and most
// libraries spell them.
var suiteAliases = map[string]uint16{
	"EXP-EDH-DSS-DES-CBC-SHA":        0x0011,
	"EDH-DSS-DES-CBC-SHA":            0x0012,
	"EDH-DSS-DES-CBC3-SHA":           0x0013,
	"EXP-EDH-RSA-DES-CBC-SHA":        0x0014,
	"EDH-RSA-DES-CBC-SHA":            0x0015,
	"EDH-RSA-DES-CBC3-SHA":           0x0016,
	"TLS_DHE_PSK_WITH_AES_128_CCM_8": 0xC0AA,
	"TLS_DHE_PSK_WITH_AES_256_CCM_8": 0xC0AB,
}

// SuiteByID returns the registry entry for id.
func SuiteByID(id uint16) (Suite, bool) {
	i, ok := suiteIdx.byID[id]
	if !ok {
		return Suite{}, false
	}
	return suiteIdx.all[i], true
}

// SuiteByName returns the suite with the given IANA or OpenSSL name, in any
// letter case. The "SSL_" prefix that Java and old documents use for the
// suites of SSL 3.0 (SSL_RSA_WITH_3DES_EDE_CBC_SHA) is accepted for "TLS_",
// and so are OpenSSL's "EDH-" names from before version 1.1.0.
func SuiteByName(name string) (Suite, bool) {
	key := strings.ToUpper(strings.TrimSpace(name))
	if i, ok := suiteIdx.byName[key]; ok {
		return suiteIdx.all[i], true
	}
	if rest, ok := strings.CutPrefix(key, "SSL_"); ok {
		if i, ok := suiteIdx.byName["TLS_"+rest]; ok {
			return suiteIdx.all[i], true
		}
	}
	return Suite{}, false
}

// SuiteName returns the IANA name of id, or "0x%04X" for a value the
// registry does not assign (GREASE values read "GREASE(0x0A0A)").
func SuiteName(id uint16) string {
	if s, ok := SuiteByID(id); ok {
		return s.Name
	}
	return unknownName(id)
}

// Suites returns every suite of the registry, signalling values included,
// sorted by ID. The caller may modify the returned slice.
func Suites() []Suite {
	return slices.Clone(suiteIdx.all)
}

// SuitesFor returns the suites a server may select in version v, sorted by
// ID. Signalling values are left out.
func SuitesFor(version uint16) []Suite {
	var out []Suite
	for _, s := range suiteIdx.all {
		if s.SupportsVersion(version) {
			out = append(out, s)
		}
	}
	return out
}

// SuiteIDs returns the IDs of suites, in order: a convenience for
// ClientHelloSpec.Suites.
func SuiteIDs(suites []Suite) []uint16 {
	ids := make([]uint16, len(suites))
	for i, s := range suites {
		ids[i] = s.ID
	}
	return ids
}

type versionSpan struct{ min, max uint16 }

var (
	vSSL30to12 = versionSpan{VersionSSL30, VersionTLS12}
	vTLS10to12 = versionSpan{VersionTLS10, VersionTLS12}
	vTLS12     = versionSpan{VersionTLS12, VersionTLS12}
	vTLS12to13 = versionSpan{VersionTLS12, VersionTLS13}
	vTLS13     = versionSpan{VersionTLS13, VersionTLS13}
	vScsv      = versionSpan{VersionSSL30, VersionTLS13}
)

type suiteRow struct {
	id          uint16
	name        string
	openssl     string
	kx          KeyExchange
	auth        Authentication
	cipher, mac string
	versions    versionSpan
}
