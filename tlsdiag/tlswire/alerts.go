package tlswire

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// Alert levels (RFC 5246 §7.2). TLS 1.3 ignores the level and treats every
// alert but close_notify and user_canceled as fatal (RFC 8446 §6).
const (
	AlertLevelWarning uint8 = 1
	AlertLevelFatal   uint8 = 2
)

// Alert descriptions of the IANA TLS Alerts registry (RFC 8446 §6, RFC 5246
// §7.2, RFC 6101 §5.4.2 and later RFCs).
const (
	AlertCloseNotify                  uint8 = 0
	AlertUnexpectedMessage            uint8 = 10
	AlertBadRecordMAC                 uint8 = 20
	AlertDecryptionFailed             uint8 = 21
	AlertRecordOverflow               uint8 = 22
	AlertDecompressionFailure         uint8 = 30
	AlertHandshakeFailure             uint8 = 40
	AlertNoCertificate                uint8 = 41
	AlertBadCertificate               uint8 = 42
	AlertUnsupportedCertificate       uint8 = 43
	AlertCertificateRevoked           uint8 = 44
	AlertCertificateExpired           uint8 = 45
	AlertCertificateUnknown           uint8 = 46
	AlertIllegalParameter             uint8 = 47
	AlertUnknownCA                    uint8 = 48
	AlertAccessDenied                 uint8 = 49
	AlertDecodeError                  uint8 = 50
	AlertDecryptError                 uint8 = 51
	AlertTooManyCIDsRequested         uint8 = 52
	AlertExportRestriction            uint8 = 60
	AlertProtocolVersion              uint8 = 70
	AlertInsufficientSecurity         uint8 = 71
	AlertInternalError                uint8 = 80
	AlertInappropriateFallback        uint8 = 86
	AlertUserCanceled                 uint8 = 90
	AlertNoRenegotiation              uint8 = 100
	AlertMissingExtension             uint8 = 109
	AlertUnsupportedExtension         uint8 = 110
	AlertCertificateUnobtainable      uint8 = 111
	AlertUnrecognizedName             uint8 = 112
	AlertBadCertificateStatusResponse uint8 = 113
	AlertBadCertificateHashValue      uint8 = 114
	AlertUnknownPSKIdentity           uint8 = 115
	AlertCertificateRequired          uint8 = 116
	AlertGeneralError                 uint8 = 117
	AlertNoApplicationProtocol        uint8 = 120
	AlertECHRequired                  uint8 = 121
)

type alertInfo struct{ name, text string }

var alertTable = map[uint8]alertInfo{
	AlertCloseNotify:                  {"close_notify", "the peer closed the connection"},
	AlertUnexpectedMessage:            {"unexpected_message", "a message arrived out of order"},
	AlertBadRecordMAC:                 {"bad_record_mac", "a record failed integrity checking"},
	AlertDecryptionFailed:             {"decryption_failed", "a record could not be decrypted (TLS 1.0)"},
	AlertRecordOverflow:               {"record_overflow", "a record was longer than allowed"},
	AlertDecompressionFailure:         {"decompression_failure", "a record could not be decompressed"},
	AlertHandshakeFailure:             {"handshake_failure", "no acceptable set of security parameters (often: no common cipher suite)"},
	AlertNoCertificate:                {"no_certificate", "no certificate was available (SSL 3.0)"},
	AlertBadCertificate:               {"bad_certificate", "a certificate was corrupt or its signature did not verify"},
	AlertUnsupportedCertificate:       {"unsupported_certificate", "a certificate was of an unsupported type"},
	AlertCertificateRevoked:           {"certificate_revoked", "a certificate was revoked by its issuer"},
	AlertCertificateExpired:           {"certificate_expired", "a certificate has expired or is not yet valid"},
	AlertCertificateUnknown:           {"certificate_unknown", "a certificate was rejected for an unspecified reason"},
	AlertIllegalParameter:             {"illegal_parameter", "a handshake field was out of range or inconsistent"},
	AlertUnknownCA:                    {"unknown_ca", "a certificate chain did not lead to a trusted CA"},
	AlertAccessDenied:                 {"access_denied", "a valid certificate was received but access was refused"},
	AlertDecodeError:                  {"decode_error", "a message could not be decoded"},
	AlertDecryptError:                 {"decrypt_error", "a handshake cryptographic operation failed"},
	AlertTooManyCIDsRequested:         {"too_many_cids_requested", "too many connection IDs were requested"},
	AlertExportRestriction:            {"export_restriction", "an export-restricted negotiation was refused"},
	AlertProtocolVersion:              {"protocol_version", "the offered protocol version is not supported"},
	AlertInsufficientSecurity:         {"insufficient_security", "the offered parameters are weaker than the peer requires"},
	AlertInternalError:                {"internal_error", "the peer hit an internal error"},
	AlertInappropriateFallback:        {"inappropriate_fallback", "a fallback retry was refused (TLS_FALLBACK_SCSV)"},
	AlertUserCanceled:                 {"user_canceled", "the handshake was canceled"},
	AlertNoRenegotiation:              {"no_renegotiation", "renegotiation was refused"},
	AlertMissingExtension:             {"missing_extension", "a required extension was not sent"},
	AlertUnsupportedExtension:         {"unsupported_extension", "an extension was sent that is not allowed here"},
	AlertCertificateUnobtainable:      {"certificate_unobtainable", "a certificate could not be fetched from its URL"},
	AlertUnrecognizedName:             {"unrecognized_name", "the server does not know the name sent in SNI"},
	AlertBadCertificateStatusResponse: {"bad_certificate_status_response", "an OCSP response was invalid or unacceptable"},
	AlertBadCertificateHashValue:      {"bad_certificate_hash_value", "a certificate's hash did not match"},
	AlertUnknownPSKIdentity:           {"unknown_psk_identity", "no acceptable PSK identity was offered"},
	AlertCertificateRequired:          {"certificate_required", "the server requires a client certificate and none was sent"},
	AlertGeneralError:                 {"general_error", "the peer hit an error it does not name"},
	AlertNoApplicationProtocol:        {"no_application_protocol", "no offered ALPN protocol is supported"},
	AlertECHRequired:                  {"ech_required", "the server requires Encrypted Client Hello"},
}

// AlertName returns the registry name of an alert description, such as
// "bad_certificate", or "alert(N)" for a value the registry does not assign.
func AlertName(desc uint8) string {
	if a, ok := alertTable[desc]; ok {
		return a.name
	}
	return fmt.Sprintf("alert(%d)", desc)
}

// AlertDescription returns a short human explanation of an alert
// description, such as "a certificate chain did not lead to a trusted CA".
func AlertDescription(desc uint8) string {
	if a, ok := alertTable[desc]; ok {
		return a.text
	}
	return "an alert the registry does not define"
}

// AlertByName returns the description value of a registry name such as
// "handshake_failure".
func AlertByName(name string) (uint8, bool) {
	for v, a := range alertTable {
		if a.name == name {
			return v, true
		}
	}
	return 0, false
}

// Alert is an alert message (RFC 8446 §6, RFC 5246 §7.2).
type Alert struct {
	Level       uint8 // AlertLevelWarning or AlertLevelFatal
	Description uint8 // e.g. AlertHandshakeFailure
}

// String returns the alert as OpenSSL and Go print it, e.g. "fatal
// handshake_failure (40)".
func (a Alert) String() string {
	level := fmt.Sprintf("level(%d)", a.Level)
	switch a.Level {
	case AlertLevelWarning:
		level = "warning"
	case AlertLevelFatal:
		level = "fatal"
	}
	return fmt.Sprintf("%s %s (%d)", level, AlertName(a.Description), a.Description)
}

// Marshal returns the two bytes of the alert, the fragment of an alert
// record.
func (a Alert) Marshal() []byte {
	return []byte{a.Level, a.Description}
}

// ParseAlert reads the fragment of an alert record. RFC 8446 §5.1 allows
// exactly one alert per record; older peers that pack several get the first
// one reported.
func ParseAlert(fragment []byte) (Alert, error) {
	s := cryptobyte.String(fragment)
	var a Alert
	// RFC 8446 §6: struct { AlertLevel level; AlertDescription description; }
	if !s.ReadUint8(&a.Level) || !s.ReadUint8(&a.Description) {
		return Alert{}, malformed("alert", "%d bytes, want 2", len(fragment))
	}
	if len(s)%2 != 0 {
		return Alert{}, malformed("alert", "%d bytes, want 2", len(fragment))
	}
	return a, nil
}
