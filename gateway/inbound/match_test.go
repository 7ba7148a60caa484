package inbound_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tlsgate/tlsgate/gateway/inbound"
)

func TestMatch(t *testing.T) {
	first := &inbound.VirtualHost{Name: "first", HostAliases: []string{"api.example.com", "API.Other.com:443"}}
	wild := &inbound.VirtualHost{Name: "wild", HostAliases: []string{"*.example.com"}}
	exact := &inbound.VirtualHost{Name: "exact", HostAliases: []string{"a.example.com"}}
	vhosts := []*inbound.VirtualHost{first, wild, exact}
	tests := []struct {
		name, serverName string
		want             *inbound.VirtualHost
	}{
		{"exact", "api.example.com", first},
		{"letter case and trailing dot", "API.example.COM.", first},
		{"alias with a port", "api.other.com", first},
		{"exact beats an earlier wildcard", "a.example.com", exact},
		{"wildcard", "b.example.com", wild},
		{"wildcard covers one label only", "a.b.example.com", nil},
		{"wildcard does not cover the bare domain", "example.com", nil},
		{"unknown", "nosuch.test", nil},
		{"no SNI gets the first", "", first},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := inbound.Match(vhosts, tt.serverName); got != tt.want {
				t.Errorf("Match(%q) = %v; want %v", tt.serverName, name(got), name(tt.want))
			}
		})
	}
	if got := inbound.Match(nil, ""); got != nil {
		t.Errorf("Match(nil, \"\") = %v; want nil", name(got))
	}
}

func name(vh *inbound.VirtualHost) string {
	if vh == nil {
		return "nil"
	}
	return vh.Name
}

func TestWriteFaultNegotiatesJSON(t *testing.T) {
	v := &inbound.Verdict{Cause: "inbound.clientcert.untrusted", Title: "T", Page: inbound.PageCertificateError}
	tests := []struct {
		accept []string
		json   bool
	}{
		{nil, false},
		{[]string{"*/*"}, false},
		{[]string{"application/json"}, true},
		{[]string{"application/*"}, true},
		{[]string{"text/html, application/json"}, false},
		{[]string{"text/html;q=0.1, application/json"}, true},
		{[]string{"text/html;q=0.8", "application/json"}, true},
		{[]string{"application/json;q=0"}, false},
		{[]string{"text/*;q=0.5, */*;q=0.9"}, true},
		{[]string{"garbage;;"}, false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "https://x.test/", nil)
		for _, a := range tt.accept {
			r.Header.Add("Accept", a)
		}
		w := httptest.NewRecorder()
		inbound.WriteFault(w, r, v, "")
		ct := w.Header().Get("Content-Type")
		if got := ct == "application/json"; got != tt.json {
			t.Errorf("Accept %q: got Content-Type %s; want JSON %v", tt.accept, ct, tt.json)
		}
		if w.Code != http.StatusBadRequest || w.Header().Get("X-Tlsgate-Message-Id") != "" {
			t.Errorf("Accept %q: got %d, message ID %q; want 400 and no message ID header", tt.accept, w.Code, w.Header().Get("X-Tlsgate-Message-Id"))
		}
	}
	r := httptest.NewRequest("GET", "https://x.test/", nil)
	r.Header.Set("Accept", "application/json")
	w := httptest.NewRecorder()
	inbound.WriteFault(w, r, v, "m-42")
	want := `{"fault":{"faultstring":"T","detail":{"errorcode":"router.ssl.CertificateError","cause":"inbound.clientcert.untrusted","messageid":"m-42"}}}`
	if got := w.Body.String(); got != want {
		t.Errorf("got %s; want %s", got, want)
	}
}
