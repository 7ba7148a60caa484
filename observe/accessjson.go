package observe

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends r as encoding/json encodes it (the same fields, order, omissions,
// escaping and number forms), without reflection: the access log writes one per request.
func (r *AccessRecord) AppendJSON(b []byte) []byte { return r.appendJSON(b, nil) }

// appendJSON is AppendJSON, the time written through tc when not nil.
func (r *AccessRecord) appendJSON(b []byte, tc *timeCache) []byte {
	b = append(b, `{"time":"`...)
	if tc != nil {
		b = tc.append(b, r.Time)
	} else {
		b = r.Time.AppendFormat(b, time.RFC3339Nano)
	}
	b = append(b, `","messageid":`...)
	b = appendJSONString(b, r.MessageID)
	b = append(b, `,"client":`...)
	b = appendJSONString(b, r.Client)
	b = appendField(b, "org", r.Org)
	b = appendField(b, "env", r.Env)
	b = appendField(b, "virtualhost", r.VirtualHost)
	b = appendField(b, "proxy", r.Proxy)
	b = appendField(b, "target", r.Target)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, r.Path)
	b = append(b, `,"proto":`...)
	b = appendJSONString(b, r.Proto)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = appendField(b, "fault_code", r.FaultCode)
	b = appendField(b, "fault_source", r.FaultSource)
	b = appendField(b, "cause", r.Cause)
	b = appendLeg(b, "client_tls", r.ClientTLS)
	b = appendLeg(b, "target_tls", r.TargetTLS)
	b = append(b, `,"bytes_sent":`...)
	b = strconv.AppendInt(b, r.BytesSent, 10)
	b = append(b, `,"total_ms":`...)
	b = appendJSONFloat(b, r.TotalMillis)
	if r.TargetMillis != 0 {
		b = append(b, `,"target_ms":`...)
		b = appendJSONFloat(b, r.TargetMillis)
	}
	return append(b, '}')
}

// timeCache writes times as RFC 3339 with nanoseconds, as time.RFC3339Nano does, keeping
// the date, the time to the second and the zone of the last second it wrote: the records
// of one second differ only in their fraction.
type timeCache struct {
	sec    int64
	loc    *time.Location
	prefix []byte // "2006-01-02T15:04:05"
	zone   []byte // "Z" or "-07:00"
}

func (c *timeCache) append(b []byte, t time.Time) []byte {
	if sec := t.Unix(); sec != c.sec || t.Location() != c.loc || c.prefix == nil {
		c.sec, c.loc = sec, t.Location()
		c.prefix = t.AppendFormat(c.prefix[:0], "2006-01-02T15:04:05")
		c.zone = t.AppendFormat(c.zone[:0], "Z07:00")
	}
	b = append(b, c.prefix...)
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i >= 1; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, c.zone...)
}

// appendField appends `,"name":"v"` unless v is empty (omitempty).
func appendField(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, v)
}

func appendLeg(b []byte, name string, l *TLSLeg) []byte {
	if l == nil {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, `":{`...)
	n := len(b)
	b = appendField(b, "version", l.Version)
	b = appendField(b, "suite", l.Suite)
	b = appendField(b, "sni", l.SNI)
	if len(b) > n {
		b = append(b[:n], b[n+1:]...) // the first field's leading comma
	}
	return append(b, '}')
}

// appendJSONFloat writes f as encoding/json does: the shortest form, with an exponent
// only for very small or large magnitudes, "e-07" written "e-7". NaN and infinities,
// which encoding/json refuses, are written as 0.
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '0')
	}
	if m := math.Round(f * 1000); m/1000 == f && math.Abs(m) < 1e15 {
		return appendThousandths(b, int64(m)) // a duration in ms from µs: the common case
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	n := len(b)
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		if m := len(b) - n; m >= 4 && b[len(b)-4] == 'e' && b[len(b)-3] == '-' && b[len(b)-2] == '0' {
			b[len(b)-2] = b[len(b)-1]
			b = b[:len(b)-1]
		}
	}
	return b
}

// appendThousandths writes m/1000 as strconv's shortest form does: the integer part, and
// the thousandths without trailing zeros. (For |m| < 1e15, the decimal m/1000 is the
// shortest string that reads back as the float nearest to it.)
func appendThousandths(b []byte, m int64) []byte {
	if m < 0 {
		b = append(b, '-')
		m = -m
	}
	b = strconv.AppendInt(b, m/1000, 10)
	frac := m % 1000
	if frac == 0 {
		return b
	}
	digits := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := 3
	for digits[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, digits[:n]...)
}

const hexDigits = "0123456789abcdef"

// jsonSafe are the ASCII bytes encoding/json writes as they are (with HTML escaping).
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString writes s quoted as encoding/json does with HTML escaping (its
// default): <, > and & as \u003c, \u003e, \u0026; U+2028 and U+2029 escaped; invalid
// UTF-8 as \ufffd.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
