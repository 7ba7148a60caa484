package observe

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestAppendJSONMatchesEncodingJSON: for records with every field set or empty, strings
// with quotes, controls, HTML characters, line separators and invalid UTF-8, and numbers
// of every magnitude, AppendJSON writes exactly what encoding/json's Encoder writes.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(20261122, 1))
	pieces := []string{"", "a", "api.test", `"`, `\`, "<>&", "\n\r\t\b\f", "\x00\x01\x1f\x7f", "é", "日本",
		"\u2028\u2029", "\xff", "\xe2\x82", "🙂", "/v1/o/org/e/prod?x=1&y=<2>", "tg-0123456789abcdef"}
	str := func() string {
		var sb strings.Builder
		for range rng.IntN(4) {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return sb.String()
	}
	floats := []float64{0, 1, 0.001, 1.5, 12.345, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 123456789.125, -3.25, 5e-324, math.MaxFloat64}
	leg := func() *TLSLeg {
		if rng.IntN(3) == 0 {
			return nil
		}
		return &TLSLeg{Version: str(), Suite: str(), SNI: str()}
	}
	for i := range 5000 {
		r := &AccessRecord{
			Time:      time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).In(time.FixedZone("", (rng.IntN(48)-24)*1800)),
			MessageID: str(), Client: str(), Org: str(), Env: str(), VirtualHost: str(), Proxy: str(), Target: str(),
			Method: str(), Path: str(), Proto: str(), Status: rng.IntN(1000) - 1, FaultCode: str(), FaultSource: str(),
			Cause: str(), ClientTLS: leg(), TargetTLS: leg(), BytesSent: rng.Int64() - rng.Int64(),
			TotalMillis: floats[rng.IntN(len(floats))], TargetMillis: floats[rng.IntN(len(floats))] * float64(rng.IntN(2)),
		}
		if i%2 == 0 {
			r.TotalMillis = rng.Float64() * 1000
		}
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(r); err != nil {
			t.Fatal(err)
		}
		got := append(r.AppendJSON(nil), '\n')
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("record %d:\ngot  %s\nwant %s", i, got, want.Bytes())
		}
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	r := &AccessRecord{Time: time.Now(), MessageID: NewMessageID(time.Now()), Client: "127.0.0.1:41234", Org: "org", Env: "prod",
		VirtualHost: "secure", Proxy: "bench", Target: "127.0.0.1:20000", Method: "GET", Path: "/bench", Proto: "HTTP/1.1",
		Status: 200, ClientTLS: &TLSLeg{Version: "TLSv1.3", Suite: "TLS_AES_128_GCM_SHA256", SNI: "localhost"},
		TargetTLS: &TLSLeg{Version: "TLSv1.3", Suite: "TLS_AES_128_GCM_SHA256", SNI: "localhost"}, BytesSent: 70, TotalMillis: 0.412, TargetMillis: 0.3}
	var buf []byte
	for b.Loop() {
		buf = r.AppendJSON(buf[:0])
	}
}

// TestAppendJSONFloatThousandths: durations in ms from µs (the access log's) and values
// near them are written as encoding/json writes them.
func TestAppendJSONFloatThousandths(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	check := func(f float64) {
		t.Helper()
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONFloat(nil, f); string(got) != string(want) {
			t.Fatalf("appendJSONFloat(%v) = %s; want %s", f, got, want)
		}
	}
	for range 200000 {
		us := rng.Int64N(1 << uint(rng.IntN(50)))
		if rng.IntN(8) == 0 {
			us = -us
		}
		f := float64(us) / 1000
		check(f)
		check(math.Nextafter(f, math.Inf(1)))
		check(math.Nextafter(f, math.Inf(-1)))
	}
	for _, f := range []float64{0, 0.001, 0.01, 0.1, 0.999, 1, 10.5, 999999999.999, 1e12 + 0.001, 1e14 + 0.999} {
		check(f)
	}
}

// TestTimeCache: times written through the cache read as time.RFC3339Nano writes them,
// within a second, across seconds and zones, with and without a fraction.
func TestTimeCache(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	zones := []*time.Location{time.UTC, time.FixedZone("minus", -7*3600), time.FixedZone("plus", 5*3600+1800)}
	var c timeCache
	base := time.Date(2026, 11, 23, 0, 24, 24, 0, time.UTC).Unix()
	for i := range 100000 {
		sec := base + rng.Int64N(4)
		ns := rng.Int64N(1e9)
		switch i % 4 {
		case 0:
			ns = 0
		case 1:
			ns -= ns % 1000 // microseconds
		}
		tm := time.Unix(sec, ns).In(zones[rng.IntN(len(zones))])
		if got, want := string(c.append(nil, tm)), tm.Format(time.RFC3339Nano); got != want {
			t.Fatalf("timeCache wrote %s; want %s", got, want)
		}
	}
}
