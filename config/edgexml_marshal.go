package config

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"maps"
	"slices"
)

// xmlHeader opens the XML that Edge's management API answers.
const xmlHeader = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"

// The shapes Edge writes. SSLInfo's elements come in alphabetical order, empty Ciphers
// and Protocols as <Ciphers/> and <Protocols/>, as Edge's responses have them.
type (
	xmlVirtualHost struct {
		XMLName     xml.Name       `xml:"VirtualHost"`
		Name        string         `xml:"name,attr"`
		HostAliases xmlHostAliases `xml:"HostAliases"`
		Port        int            `xml:"Port"`
		BaseURL     string         `xml:"BaseUrl,omitempty"`
		SSLInfo     *xmlSSLInfo    `xml:"SSLInfo,omitempty"`
		Properties  *xmlProperties `xml:"Properties,omitempty"`
	}
	xmlTargetServer struct {
		XMLName     xml.Name    `xml:"TargetServer"`
		Name        string      `xml:"name,attr"`
		Description string      `xml:"Description,omitempty"`
		Host        string      `xml:"Host"`
		Port        int         `xml:"Port"`
		IsEnabled   bool        `xml:"IsEnabled"`
		SSLInfo     *xmlSSLInfo `xml:"SSLInfo,omitempty"`
	}
	xmlSSLInfo struct {
		Ciphers                xmlCiphers     `xml:"Ciphers"`
		ClientAuthEnabled      bool           `xml:"ClientAuthEnabled"`
		CommonName             *xmlCommonName `xml:"CommonName,omitempty"`
		Enabled                bool           `xml:"Enabled"`
		Enforce                bool           `xml:"Enforce,omitempty"`
		IgnoreValidationErrors bool           `xml:"IgnoreValidationErrors"`
		KeyAlias               string         `xml:"KeyAlias,omitempty"`
		KeyStore               string         `xml:"KeyStore,omitempty"`
		Protocols              xmlProtocols   `xml:"Protocols"`
		TrustStore             string         `xml:"TrustStore,omitempty"`
	}
	xmlHostAliases struct {
		HostAlias []string `xml:"HostAlias"`
	}
	xmlCiphers struct {
		Cipher []string `xml:"Cipher"`
	}
	xmlProtocols struct {
		Protocol []string `xml:"Protocol"`
	}
	xmlCommonName struct {
		WildcardMatch bool   `xml:"wildcardMatch,attr"`
		Value         string `xml:",chardata"`
	}
	xmlProperties struct {
		Property []xmlProperty `xml:"Property"`
	}
	xmlProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:",chardata"`
	}
)

// MarshalVirtualHostXML writes a virtual host as Edge's management API does.
func MarshalVirtualHostXML(v *VirtualHost) ([]byte, error) {
	x := xmlVirtualHost{Name: v.Name, HostAliases: xmlHostAliases{v.HostAliases}, Port: v.Port, BaseURL: v.BaseURL,
		SSLInfo: toXMLSSLInfo(v.SSLInfo)}
	if len(v.Properties) > 0 {
		x.Properties = &xmlProperties{}
		for _, k := range slices.Sorted(maps.Keys(v.Properties)) {
			x.Properties.Property = append(x.Properties.Property, xmlProperty{k, v.Properties[k]})
		}
	}
	return marshalXML(x)
}

// MarshalTargetServerXML writes a target server as Edge's management API does.
func MarshalTargetServerXML(t *TargetServer) ([]byte, error) {
	return marshalXML(xmlTargetServer{Name: t.Name, Description: t.Description, Host: t.Host, Port: t.Port,
		IsEnabled: t.Enabled(), SSLInfo: toXMLSSLInfo(t.SSLInfo)})
}

func toXMLSSLInfo(s *SSLInfo) *xmlSSLInfo {
	if s == nil {
		return nil
	}
	x := &xmlSSLInfo{
		Ciphers: xmlCiphers{s.Ciphers}, ClientAuthEnabled: bool(s.ClientAuthEnabled), Enabled: bool(s.Enabled),
		Enforce: s.Enforce, IgnoreValidationErrors: s.IgnoreValidationErrors, KeyAlias: s.KeyAlias, KeyStore: s.KeyStore,
		Protocols: xmlProtocols{s.Protocols}, TrustStore: s.TrustStore,
	}
	if s.CommonName != nil {
		x.CommonName = &xmlCommonName{WildcardMatch: s.CommonName.WildcardMatch, Value: s.CommonName.Value}
	}
	return x
}

func marshalXML(v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xmlHeader)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "    ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("writing XML: %w", err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}
