package mgmt

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Error is a failed request as Edge's management API reports it:
// {"code":"...","message":"...","contexts":[]} with an HTTP status.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Contexts is always present, as in Edge's responses.
	Contexts []string `json:"contexts"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Error codes, in Edge's style where Edge has one.
const (
	CodeUnauthorized       = "security.Unauthorized"
	CodeNotFound           = "messaging.config.beans.ResourceDoesNotExist"
	CodeOrgNotFound        = "organizations.OrganizationDoesNotExist"
	CodeEnvNotFound        = "organizations.environments.EnvironmentDoesNotExist"
	CodeKeystoreNotFound   = "keymanagement.service.keystore_not_found"
	CodeAliasNotFound      = "keymanagement.service.alias_not_found"
	CodeCertNotFound       = "keymanagement.service.cert_not_found"
	CodeReferenceNotFound  = "keymanagement.service.reference_not_found"
	CodeVHostNotFound      = "messaging.config.beans.VirtualHostDoesNotExist"
	CodeTargetNotFound     = "messaging.config.beans.TargetServerDoesNotExist"
	CodeProxyNotFound      = "messaging.config.beans.ApplicationDoesNotExist"
	CodeAlreadyExists      = "messaging.config.beans.ResourceAlreadyExists"
	CodeInvalidRequest     = "messaging.config.beans.InvalidRequest"
	CodeValidation         = "configuration.validation.Failed"
	CodeBodyTooLarge       = "messaging.config.beans.RequestTooLarge"
	CodeUnsupportedMedia   = "messaging.config.beans.UnsupportedMediaType"
	CodeMethodNotAllowed   = "messaging.config.beans.MethodNotAllowed"
	CodeConflict           = "messaging.config.beans.ConcurrentUpdate"
	CodeInternal           = "messaging.runtime.InternalError"
	CodeInvalidCertificate = "keymanagement.service.invalid_certificate"
	CodeInvalidKey         = "keymanagement.service.invalid_key"
	CodeWrongPassword      = "keymanagement.service.wrong_password"
	CodeKeyMismatch        = "keymanagement.service.key_cert_mismatch"
	CodeCertExpired        = "keymanagement.service.certificate_expired"
	CodeChainOrder         = "keymanagement.service.chain_out_of_order"
	CodeCertNotYetValid    = "keymanagement.service.certificate_not_yet_valid"
)

func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...), Contexts: []string{}}
}

func badRequest(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, CodeInvalidRequest, format, args...)
}

func notFound(code, format string, args ...any) *Error {
	return errorf(http.StatusNotFound, code, format, args...)
}

// writeError writes err as Edge's error JSON; errors that are not *Error are internal and
// their text is not shown (it could hold anything).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err.Error())
		e = errorf(http.StatusInternalServerError, CodeInternal, "internal error; the server log has the details")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(e)
}
