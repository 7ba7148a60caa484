package capture

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxKeyLogSize bounds a key log file: a line is about 200 bytes, so 64 MiB holds the
// secrets of some hundred thousand connections.
const MaxKeyLogSize = 64 << 20

// Key log labels (the NSS key log format that SSLKEYLOGFILE names, as curl, browsers, Go's
// tls.Config.KeyLogWriter and openssl s_client -keylogfile write it).
const (
	LabelClientRandom          = "CLIENT_RANDOM" // TLS 1.2 and earlier: the master secret
	LabelClientHandshakeSecret = "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
	LabelServerHandshakeSecret = "SERVER_HANDSHAKE_TRAFFIC_SECRET"
	LabelClientTrafficSecret0  = "CLIENT_TRAFFIC_SECRET_0"
	LabelServerTrafficSecret0  = "SERVER_TRAFFIC_SECRET_0"
	LabelClientEarlySecret     = "CLIENT_EARLY_TRAFFIC_SECRET"
	LabelExporterSecret        = "EXPORTER_SECRET"
	LabelEarlyExporterSecret   = "EARLY_EXPORTER_SECRET"
)

// Secrets are the secrets a key log holds for one connection, named by its ClientHello's
// random.
type Secrets struct {
	ClientHandshake, ServerHandshake []byte
	ClientTraffic0, ServerTraffic0   []byte
	MasterSecret                     []byte // TLS 1.2 and earlier
}

// KeyLog holds the secrets of a key log file, by client random. It is safe for concurrent
// reads once loaded.
type KeyLog struct {
	byRandom map[[32]byte]*Secrets
	// Problems are the lines that were not understood, each with its line number; the
	// other lines are used.
	Problems []string
}

// Len returns the number of connections the key log holds secrets for.
func (k *KeyLog) Len() int {
	if k == nil {
		return 0
	}
	return len(k.byRandom)
}

// Lookup returns the secrets of the connection whose ClientHello carried random.
func (k *KeyLog) Lookup(random [32]byte) *Secrets {
	if k == nil {
		return nil
	}
	return k.byRandom[random]
}

// ErrKeyLogTooLarge is returned for a key log file over MaxKeyLogSize.
var ErrKeyLogTooLarge = errors.New("larger than 64 MiB")

// maxKeyLogProblems bounds the bad lines reported one by one.
const maxKeyLogProblems = 20

// LoadKeyLog reads the key log file at path.
func LoadKeyLog(path string) (*KeyLog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("key log %q: %w", path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > MaxKeyLogSize {
		return nil, fmt.Errorf("key log %q: %d bytes: %w", path, st.Size(), ErrKeyLogTooLarge)
	}
	k, err := ParseKeyLog(io.LimitReader(f, MaxKeyLogSize+1))
	if err != nil {
		return nil, fmt.Errorf("key log %q: %w", path, err)
	}
	return k, nil
}

// ParseKeyLog reads a key log. Lines that are not understood are listed in Problems; a
// key log with no usable line at all, or larger than MaxKeyLogSize, is an error.
func ParseKeyLog(r io.Reader) (*KeyLog, error) {
	k := &KeyLog{byRandom: map[[32]byte]*Secrets{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 4096)
	var total, bad, lines int
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		total += len(line) + 1
		if total > MaxKeyLogSize {
			return nil, ErrKeyLogTooLarge
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		lines++
		if err := k.add(string(line)); err != nil {
			bad++
			if len(k.Problems) < maxKeyLogProblems {
				k.Problems = append(k.Problems, fmt.Sprintf("line %d: %v", n, err))
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, errors.New("a line is longer than 4096 bytes: not a key log")
		}
		return nil, err
	}
	if bad > maxKeyLogProblems {
		k.Problems = append(k.Problems, fmt.Sprintf("and %d more bad lines", bad-maxKeyLogProblems))
	}
	if lines > 0 && bad == lines {
		return nil, fmt.Errorf("no line is a key log line (%s)", k.Problems[0])
	}
	return k, nil
}

// add reads one line: LABEL <client random, 64 hex digits> <secret, hex>.
func (k *KeyLog) add(line string) error {
	f := strings.Fields(line)
	if len(f) != 3 {
		return fmt.Errorf("want LABEL CLIENT_RANDOM SECRET, got %d fields", len(f))
	}
	var random [32]byte
	if len(f[1]) != 64 {
		return fmt.Errorf("client random has %d hex digits, want 64", len(f[1]))
	}
	if _, err := hex.Decode(random[:], []byte(f[1])); err != nil {
		return fmt.Errorf("client random: %v", err)
	}
	secret, err := hex.DecodeString(f[2])
	if err != nil {
		return fmt.Errorf("secret: %v", err)
	}
	if len(secret) != 32 && len(secret) != 48 {
		return fmt.Errorf("secret of %d bytes, want 32 or 48", len(secret))
	}
	s := k.byRandom[random]
	if s == nil {
		s = &Secrets{}
	}
	switch f[0] {
	case LabelClientHandshakeSecret:
		s.ClientHandshake = secret
	case LabelServerHandshakeSecret:
		s.ServerHandshake = secret
	case LabelClientTrafficSecret0:
		s.ClientTraffic0 = secret
	case LabelServerTrafficSecret0:
		s.ServerTraffic0 = secret
	case LabelClientRandom:
		if len(secret) != 48 {
			return fmt.Errorf("master secret of %d bytes, want 48", len(secret))
		}
		s.MasterSecret = secret
	case LabelClientEarlySecret, LabelExporterSecret, LabelEarlyExporterSecret:
		return nil // valid, not needed
	default:
		return fmt.Errorf("unknown label %q", f[0])
	}
	k.byRandom[random] = s
	return nil
}

// merge returns a key log with the secrets of k and of other; other's win where both have
// a connection. Either may be nil.
func (k *KeyLog) merge(other *KeyLog) *KeyLog {
	switch {
	case k == nil:
		return other
	case other == nil:
		return k
	}
	out := &KeyLog{byRandom: make(map[[32]byte]*Secrets, len(k.byRandom)+len(other.byRandom))}
	for r, s := range k.byRandom {
		out.byRandom[r] = s
	}
	for r, s := range other.byRandom {
		out.byRandom[r] = s
	}
	out.Problems = append(append(out.Problems, k.Problems...), other.Problems...)
	return out
}
