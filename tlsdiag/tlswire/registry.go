package tlswire

import (
	"fmt"
	"strings"
)

// NamedGroup is one value of the IANA TLS Supported Groups registry (RFC
// 8446 §4.2.7, RFC 8422 §5.1.1, RFC 7919).
type NamedGroup struct {
	ID   uint16
	Name string
}

// Named groups that the builder's defaults and the tests refer to.
const (
	GroupSecp256r1      uint16 = 0x0017
	GroupSecp384r1      uint16 = 0x0018
	GroupSecp521r1      uint16 = 0x0019
	GroupX25519         uint16 = 0x001D
	GroupX448           uint16 = 0x001E
	GroupFFDHE2048      uint16 = 0x0100
	GroupFFDHE3072      uint16 = 0x0101
	GroupFFDHE4096      uint16 = 0x0102
	GroupFFDHE6144      uint16 = 0x0103
	GroupFFDHE8192      uint16 = 0x0104
	GroupMLKEM512       uint16 = 0x0200
	GroupMLKEM768       uint16 = 0x0201
	GroupMLKEM1024      uint16 = 0x0202
	GroupSecP256r1MLKEM uint16 = 0x11EB // SecP256r1MLKEM768
	GroupX25519MLKEM768 uint16 = 0x11EC
	GroupSecP384r1MLKEM uint16 = 0x11ED // SecP384r1MLKEM1024
)

var groupTable = []NamedGroup{
	{0x0001, "sect163k1"}, {0x0002, "sect163r1"}, {0x0003, "sect163r2"},
	{0x0004, "sect193r1"}, {0x0005, "sect193r2"}, {0x0006, "sect233k1"},
	{0x0007, "sect233r1"}, {0x0008, "sect239k1"}, {0x0009, "sect283k1"},
	{0x000A, "sect283r1"}, {0x000B, "sect409k1"}, {0x000C, "sect409r1"},
	{0x000D, "sect571k1"}, {0x000E, "sect571r1"}, {0x000F, "secp160k1"},
	{0x0010, "secp160r1"}, {0x0011, "secp160r2"}, {0x0012, "secp192k1"},
	{0x0013, "secp192r1"}, {0x0014, "secp224k1"}, {0x0015, "secp224r1"},
	{0x0016, "secp256k1"}, {0x0017, "secp256r1"}, {0x0018, "secp384r1"},
	{0x0019, "secp521r1"}, {0x001A, "brainpoolP256r1"}, {0x001B, "brainpoolP384r1"},
	{0x001C, "brainpoolP512r1"}, {0x001D, "x25519"}, {0x001E, "x448"},
	{0x001F, "brainpoolP256r1tls13"}, {0x0020, "brainpoolP384r1tls13"},
	{0x0021, "brainpoolP512r1tls13"}, {0x0022, "GC256A"}, {0x0023, "GC256B"},
	{0x0024, "GC256C"}, {0x0025, "GC256D"}, {0x0026, "GC512A"}, {0x0027, "GC512B"},
	{0x0028, "GC512C"}, {0x0029, "curveSM2"},
	{0x0100, "ffdhe2048"}, {0x0101, "ffdhe3072"}, {0x0102, "ffdhe4096"},
	{0x0103, "ffdhe6144"}, {0x0104, "ffdhe8192"},
	{0x0200, "MLKEM512"}, {0x0201, "MLKEM768"}, {0x0202, "MLKEM1024"},
	{0x11EB, "SecP256r1MLKEM768"}, {0x11EC, "X25519MLKEM768"}, {0x11ED, "SecP384r1MLKEM1024"},
	{0x6399, "X25519Kyber768Draft00"}, {0x639A, "SecP256r1Kyber768Draft00"},
	{0xFF01, "arbitrary_explicit_prime_curves"}, {0xFF02, "arbitrary_explicit_char2_curves"},
}

// groupAliases are the names other tools give the common groups.
var groupAliases = map[string]uint16{
	"p-256": GroupSecp256r1, "prime256v1": GroupSecp256r1,
	"p-384": GroupSecp384r1, "p-521": GroupSecp521r1,
	"curvep256": GroupSecp256r1, "curvep384": GroupSecp384r1, "curvep521": GroupSecp521r1,
}

// NamedGroups returns the Supported Groups registry, sorted by ID.
func NamedGroups() []NamedGroup { return append([]NamedGroup(nil), groupTable...) }

// GroupName returns the registry name of a named group, e.g. "x25519", or
// "0x%04X" for a value the registry does not assign.
func GroupName(id uint16) string {
	for _, g := range groupTable {
		if g.ID == id {
			return g.Name
		}
	}
	return unknownName(id)
}

// GroupByName returns the ID of a named group, by its registry name or a
// common alias ("P-256", "prime256v1", Go's "CurveP256"), in any letter case.
func GroupByName(name string) (uint16, bool) {
	key := strings.ToLower(strings.TrimSpace(name))
	for _, g := range groupTable {
		if strings.ToLower(g.Name) == key {
			return g.ID, true
		}
	}
	id, ok := groupAliases[key]
	return id, ok
}

// SignatureScheme is one value of the IANA TLS SignatureScheme registry
// (RFC 8446 §4.2.3), which also names the (hash, signature) pairs of TLS 1.2
// (RFC 5246 §7.4.1.4.1).
type SignatureScheme struct {
	ID   uint16
	Name string
}

var schemeTable = []SignatureScheme{
	// RFC 5246 §7.4.1.4.1 pairs: hash (md5 1, sha1 2, sha224 3, sha256 4,
	// sha384 5, sha512 6) in the high byte, signature (rsa 1, dsa 2,
	// ecdsa 3) in the low byte. RFC 8446 renamed some; those keep the new
	// name below.
	{0x0101, "rsa_md5"}, {0x0102, "dsa_md5"}, {0x0103, "ecdsa_md5"},
	{0x0201, "rsa_pkcs1_sha1"}, {0x0202, "dsa_sha1"}, {0x0203, "ecdsa_sha1"},
	{0x0301, "rsa_sha224"}, {0x0302, "dsa_sha224"}, {0x0303, "ecdsa_sha224"},
	{0x0401, "rsa_pkcs1_sha256"}, {0x0402, "dsa_sha256"}, {0x0403, "ecdsa_secp256r1_sha256"},
	{0x0420, "rsa_pkcs1_sha256_legacy"},
	{0x0501, "rsa_pkcs1_sha384"}, {0x0502, "dsa_sha384"}, {0x0503, "ecdsa_secp384r1_sha384"},
	{0x0520, "rsa_pkcs1_sha384_legacy"},
	{0x0601, "rsa_pkcs1_sha512"}, {0x0602, "dsa_sha512"}, {0x0603, "ecdsa_secp521r1_sha512"},
	{0x0620, "rsa_pkcs1_sha512_legacy"},
	{0x0704, "eccsi_sha256"}, {0x0705, "iso_ibs1"}, {0x0706, "iso_ibs2"},
	{0x0707, "iso_chinese_ibs"}, {0x0708, "sm2sig_sm3"},
	{0x0709, "gostr34102012_256a"}, {0x070A, "gostr34102012_256b"},
	{0x070B, "gostr34102012_256c"}, {0x070C, "gostr34102012_256d"},
	{0x070D, "gostr34102012_512a"}, {0x070E, "gostr34102012_512b"},
	{0x070F, "gostr34102012_512c"},
	{0x0804, "rsa_pss_rsae_sha256"}, {0x0805, "rsa_pss_rsae_sha384"}, {0x0806, "rsa_pss_rsae_sha512"},
	{0x0807, "ed25519"}, {0x0808, "ed448"},
	{0x0809, "rsa_pss_pss_sha256"}, {0x080A, "rsa_pss_pss_sha384"}, {0x080B, "rsa_pss_pss_sha512"},
	{0x081A, "ecdsa_brainpoolP256r1tls13_sha256"}, {0x081B, "ecdsa_brainpoolP384r1tls13_sha384"},
	{0x081C, "ecdsa_brainpoolP512r1tls13_sha512"},
	// RFC 9189 §4.2.2: the TLS 1.2 GOST pairs.
	{0x0840, "gostr34102012_256"}, {0x0841, "gostr34102012_512"},
	{0x0904, "mldsa44"}, {0x0905, "mldsa65"}, {0x0906, "mldsa87"},
}

// SignatureSchemes returns the SignatureScheme registry with the TLS 1.2
// pairs, sorted by ID.
func SignatureSchemes() []SignatureScheme {
	return append([]SignatureScheme(nil), schemeTable...)
}

// SignatureSchemeName returns the registry name of a signature scheme, e.g.
// "rsa_pss_rsae_sha256", or "0x%04X" for a value the registry does not
// assign.
func SignatureSchemeName(id uint16) string {
	for _, s := range schemeTable {
		if s.ID == id {
			return s.Name
		}
	}
	return unknownName(id)
}

// SignatureSchemeByName returns the ID of a signature scheme by its registry
// name, in any letter case.
func SignatureSchemeByName(name string) (uint16, bool) {
	key := strings.ToLower(strings.TrimSpace(name))
	for _, s := range schemeTable {
		if strings.ToLower(s.Name) == key {
			return s.ID, true
		}
	}
	return 0, false
}

// Extension types used by the builder and parsers (IANA TLS ExtensionType
// Values registry).
const (
	ExtServerName           uint16 = 0     // RFC 6066 §3
	ExtStatusRequest        uint16 = 5     // RFC 6066 §8
	ExtSupportedGroups      uint16 = 10    // RFC 8446 §4.2.7
	ExtECPointFormats       uint16 = 11    // RFC 8422 §5.1.2
	ExtSignatureAlgorithms  uint16 = 13    // RFC 8446 §4.2.3
	ExtALPN                 uint16 = 16    // RFC 7301 §3.1
	ExtSCT                  uint16 = 18    // RFC 6962 §3.3.1
	ExtPadding              uint16 = 21    // RFC 7685
	ExtEncryptThenMAC       uint16 = 22    // RFC 7366
	ExtExtendedMasterSecret uint16 = 23    // RFC 7627
	ExtSessionTicket        uint16 = 35    // RFC 5077
	ExtPreSharedKey         uint16 = 41    // RFC 8446 §4.2.11
	ExtEarlyData            uint16 = 42    // RFC 8446 §4.2.10
	ExtSupportedVersions    uint16 = 43    // RFC 8446 §4.2.1
	ExtCookie               uint16 = 44    // RFC 8446 §4.2.2
	ExtPSKKeyExchangeModes  uint16 = 45    // RFC 8446 §4.2.9
	ExtCertificateAuthority uint16 = 47    // RFC 8446 §4.2.4
	ExtSignatureAlgsCert    uint16 = 50    // RFC 8446 §4.2.3
	ExtKeyShare             uint16 = 51    // RFC 8446 §4.2.8
	ExtRenegotiationInfo    uint16 = 65281 // RFC 5746 §3.2
)

var extensionNames = map[uint16]string{
	0: "server_name", 1: "max_fragment_length", 2: "client_certificate_url",
	3: "trusted_ca_keys", 4: "truncated_hmac", 5: "status_request",
	6: "user_mapping", 7: "client_authz", 8: "server_authz", 9: "cert_type",
	10: "supported_groups", 11: "ec_point_formats", 12: "srp",
	13: "signature_algorithms", 14: "use_srtp", 15: "heartbeat",
	16: "application_layer_protocol_negotiation", 17: "status_request_v2",
	18: "signed_certificate_timestamp", 19: "client_certificate_type",
	20: "server_certificate_type", 21: "padding", 22: "encrypt_then_mac",
	23: "extended_master_secret", 24: "token_binding", 25: "cached_info",
	26: "tls_lts", 27: "compress_certificate", 28: "record_size_limit",
	29: "pwd_protect", 30: "pwd_clear", 31: "password_salt",
	32: "ticket_pinning", 33: "tls_cert_with_extern_psk",
	34: "delegated_credential", 35: "session_ticket", 36: "TLMSP",
	37: "TLMSP_proxying", 38: "TLMSP_delegate", 39: "supported_ekt_ciphers",
	41: "pre_shared_key", 42: "early_data", 43: "supported_versions",
	44: "cookie", 45: "psk_key_exchange_modes", 47: "certificate_authorities",
	48: "oid_filters", 49: "post_handshake_auth", 50: "signature_algorithms_cert",
	51: "key_share", 52: "transparency_info", 53: "connection_id(deprecated)",
	54: "connection_id", 55: "external_id_hash", 56: "external_session_id",
	57: "quic_transport_parameters", 58: "ticket_request", 59: "dnssec_chain",
	0xFD00: "ech_outer_extensions", 0xFE0D: "encrypted_client_hello",
	65281: "renegotiation_info",
}

// ExtensionName returns the registry name of an extension type, e.g.
// "supported_versions", or "0x%04X" for a value the registry does not
// assign.
func ExtensionName(typ uint16) string {
	if n, ok := extensionNames[typ]; ok {
		return n
	}
	return unknownName(typ)
}

// Handshake message types (RFC 8446 §4, RFC 5246 §7.4).
const (
	TypeHelloRequest       uint8 = 0
	TypeClientHello        uint8 = 1
	TypeServerHello        uint8 = 2
	TypeNewSessionTicket   uint8 = 4
	TypeEndOfEarlyData     uint8 = 5
	TypeEncryptedExts      uint8 = 8
	TypeCertificate        uint8 = 11
	TypeServerKeyExchange  uint8 = 12
	TypeCertificateRequest uint8 = 13
	TypeServerHelloDone    uint8 = 14
	TypeCertificateVerify  uint8 = 15
	TypeClientKeyExchange  uint8 = 16
	TypeFinished           uint8 = 20
	TypeCertificateStatus  uint8 = 22
	TypeKeyUpdate          uint8 = 24
	TypeMessageHash        uint8 = 254
)

var handshakeNames = map[uint8]string{
	0: "HelloRequest", 1: "ClientHello", 2: "ServerHello", 3: "HelloVerifyRequest",
	4: "NewSessionTicket", 5: "EndOfEarlyData", 6: "HelloRetryRequest",
	8: "EncryptedExtensions", 9: "RequestConnectionId", 10: "NewConnectionId",
	11: "Certificate", 12: "ServerKeyExchange", 13: "CertificateRequest",
	14: "ServerHelloDone", 15: "CertificateVerify", 16: "ClientKeyExchange",
	17: "ClientCertificateRequest", 20: "Finished", 21: "CertificateURL",
	22: "CertificateStatus", 23: "SupplementalData", 24: "KeyUpdate",
	25: "CompressedCertificate", 26: "EKTKey", 254: "MessageHash",
}

// HandshakeTypeName returns the name of a handshake message type, e.g.
// "ServerHello", or "handshake(N)".
func HandshakeTypeName(typ uint8) string {
	if n, ok := handshakeNames[typ]; ok {
		return n
	}
	return fmt.Sprintf("handshake(%d)", typ)
}

// Record content types (RFC 8446 §5.1, RFC 6520).
const (
	RecordChangeCipherSpec uint8 = 20
	RecordAlert            uint8 = 21
	RecordHandshake        uint8 = 22
	RecordApplicationData  uint8 = 23
	RecordHeartbeat        uint8 = 24
)

// ContentTypeName returns the name of a record content type, e.g.
// "handshake", or "content(N)".
func ContentTypeName(typ uint8) string {
	switch typ {
	case RecordChangeCipherSpec:
		return "change_cipher_spec"
	case RecordAlert:
		return "alert"
	case RecordHandshake:
		return "handshake"
	case RecordApplicationData:
		return "application_data"
	case RecordHeartbeat:
		return "heartbeat"
	}
	return fmt.Sprintf("content(%d)", typ)
}

var certTypeNames = map[uint8]string{
	1: "rsa_sign", 2: "dss_sign", 3: "rsa_fixed_dh", 4: "dss_fixed_dh",
	5: "rsa_ephemeral_dh", 6: "dss_ephemeral_dh", 20: "fortezza_dms",
	64: "ecdsa_sign", 65: "rsa_fixed_ecdh", 66: "ecdsa_fixed_ecdh",
	67: "gost_sign256", 68: "gost_sign512",
}

// CertificateTypeName returns the name of a ClientCertificateType of a
// CertificateRequest (RFC 5246 §7.4.4, RFC 8422 §5.5), e.g. "ecdsa_sign",
// or "certificate_type(N)".
func CertificateTypeName(t uint8) string {
	if n, ok := certTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("certificate_type(%d)", t)
}
