// Command handshake loads an HTTPS server with requests that each open a new connection
// and complete a full TLS handshake: no session is ever resumed (wrk and h2load resume the
// sessions their servers offer, so their "Connection: close" runs measure resumed
// handshakes). Each of -c clients connects, handshakes (TLS 1.2 or 1.3, X25519, ALPN
// http/1.1, the certificate not verified, as wrk does), sends GET with "Connection: close",
// reads the whole response and closes, until -d has passed.
//
// Usage: handshake [-c 50] [-d 10s] https://127.0.0.1:PORT/PATH
//
// It prints one line: requests/s, p50 and p99 latency in milliseconds (connect to last byte),
// and the number of failed requests (an error, or a status other than 200).
package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"time"
)

func main() {
	clients := flag.Int("c", 50, "clients in parallel, each with one connection at a time")
	duration := flag.Duration("d", 10*time.Second, "how long to send requests")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: handshake [-c N] [-d DURATION] https://HOST:PORT/PATH")
		os.Exit(2)
	}
	u, err := url.Parse(flag.Arg(0))
	if err != nil || u.Scheme != "https" || u.Port() == "" {
		fmt.Fprintf(os.Stderr, "error: %q: want https://HOST:PORT/PATH\n", flag.Arg(0))
		os.Exit(2)
	}
	r := run(u, *clients, *duration)
	fmt.Printf("%.0f %.2f %.2f %d\n", r.rate, r.p50, r.p99, r.failed)
}

type result struct {
	rate, p50, p99 float64
	failed         int
}

func run(u *url.URL, clients int, d time.Duration) result {
	cfg := &tls.Config{
		InsecureSkipVerify: true, // a load generator: the proxies' checks verify the chain
		CurvePreferences:   []tls.CurveID{tls.X25519},
		NextProtos:         []string{"http/1.1"},
		// No ClientSessionCache: every handshake is a full one.
	}
	req := []byte("GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nConnection: close\r\n\r\n")
	start := time.Now()
	deadline := start.Add(d)
	var (
		mu     sync.Mutex
		lat    []time.Duration
		failed int
		wg     sync.WaitGroup
	)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if err := once(u.Host, cfg, req); err != nil {
					bad++
					continue
				}
				if time.Now().Before(deadline) {
					mine = append(mine, time.Since(t0))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			failed += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	r := result{rate: float64(len(lat)) / d.Seconds(), failed: failed}
	if len(lat) > 0 {
		r.p50 = ms(lat[len(lat)*50/100])
		r.p99 = ms(lat[min(len(lat)*99/100, len(lat)-1)])
	}
	return r
}

// once sends one request over a new connection.
func once(addr string, cfg *tls.Config, req []byte) error {
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return err
	}
	if _, err := c.Write(req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
