// Command capture records, with tcpdump on the loopback interface, real clients acting out
// the lab's scenarios against real servers, as the test captures of tlsgate pcap.
//
//	go run ./lab/cmd/capture -out tlsdiag/capture/testdata/scenarios [-run REGEXP]
//
// It needs root (to capture), tcpdump, openssl, curl and nginx, and for the Java client a
// JDK (java, javac, keytool); with editcap (Debian package wireshark-common) it also writes
// each capture as pcapng. For each recording of plan.go it starts the scenario's server on
// 127.0.0.1 (lab.Start), starts tcpdump on the server's port, runs the client (curl, openssl s_client, a Go client or a Java client)
// once, stops tcpdump, and writes beside the capture:
//
//	NAME.pcap           the capture (NAME.pcapng: the same, converted by editcap)
//	NAME.keylog         the client's key log, for the recordings that keep one
//	NAME.truststore.pem the client's truststore
//	NAME.client.pem     the client's certificate (never its key), when tlsgate pcap is told
//	NAME.meta.json      the scenario, the client, the flags to give and the expected cause
//
// interleaved.pcap holds several scenarios played at once, a few connections each. The lab
// mints its certificates at start, valid for a year: the captures are judged at their own
// time, so they stay valid test data after that.
package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tlsgate/tlsgate/lab"
	"github.com/tlsgate/tlsgate/tlsdiag/capture/tcpflow"
)

// meta is NAME.meta.json: how the golden tests read the capture.
type meta struct {
	Scenario    string `json:"scenario"`
	Peer        string `json:"peer"`
	Client      string `json:"client"`
	Note        string `json:"note,omitempty"`
	Truststore  string `json:"truststore,omitempty"`
	ClientCert  string `json:"clientCert,omitempty"`
	Keylog      string `json:"keylog,omitempty"`
	Expect      string `json:"expect"`
	Snaplen     int    `json:"snaplen,omitempty"`
	RecordedAt  string `json:"recordedAt"`
	Connections int    `json:"connections"`
	// ExpectByPort is, for the interleaved capture, the expected cause of each server port.
	ExpectByPort map[string]string `json:"expectByPort,omitempty"`
}

func main() {
	out := flag.String("out", "tlsdiag/capture/testdata/scenarios", "the directory to write the captures to")
	run := flag.String("run", "", "record only the recordings whose name matches this regular expression")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := record(ctx, *out, *run); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func record(ctx context.Context, out, run string) error {
	re, err := regexp.Compile(run)
	if err != nil {
		return err
	}
	for _, tool := range []string{"tcpdump", "openssl", "curl", "nginx"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed: %w", tool, err)
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, r := range recordings() {
		if r.client == "java" && re.MatchString(r.name) && javaClasses == "" {
			bin, err := os.MkdirTemp("", "tlsgate-capture-java-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(bin)
			if err := compileJava(ctx, bin); err != nil {
				return err
			}
		}
	}
	for _, r := range recordings() {
		if !re.MatchString(r.name) {
			continue
		}
		fmt.Printf("%-55s ", r.name)
		if err := retry(func() error { return recordOne(ctx, out, r) }, filepath.Join(out, r.name+".pcap"), r.snaplen == 0); err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		fmt.Println("ok")
	}
	if re.MatchString("interleaved") {
		fmt.Printf("%-55s ", "interleaved")
		if err := retry(func() error { return recordInterleaved(ctx, out) }, filepath.Join(out, "interleaved.pcap"), true); err != nil {
			return fmt.Errorf("interleaved: %w", err)
		}
		fmt.Println("ok")
	}
	return nil
}

// retry records until the capture at path is whole (when whole is set): under load, the
// loopback capture sometimes misses a packet or the first ones of a connection.
func retry(record func() error, path string, whole bool) error {
	for try := 1; ; try++ {
		if err := record(); err != nil {
			return err
		}
		if !whole {
			return nil
		}
		why, err := incomplete(path)
		if err != nil {
			return err
		}
		if why == "" {
			return nil
		}
		if try == 5 {
			return fmt.Errorf("the capture stays incomplete: %s", why)
		}
		fmt.Printf("(again: %s) ", why)
	}
}

// incomplete says why the capture at path lacks packets, or "" when it has them all: every
// connection opens with its SYN, and no byte of any stream is missing.
func incomplete(path string) (string, error) {
	h := &wholeness{}
	if err := tcpflow.ReadFile(path, h, tcpflow.Options{}, nil); err != nil {
		return "", err
	}
	return h.why, nil
}

type wholeness struct {
	why string
}

func (w *wholeness) Start(c *tcpflow.Conn) tcpflow.ConnHandler { return &connWholeness{w, c} }

type connWholeness struct {
	w *wholeness
	c *tcpflow.Conn
}

func (c *connWholeness) Event(tcpflow.Event) {}

func (c *connWholeness) End() {
	switch {
	case c.w.why != "":
	case !c.c.SYN:
		c.w.why = fmt.Sprintf("connection %s → %s without its SYN", c.c.Client, c.c.Server)
	case c.c.Missing[0] > 0 || c.c.Missing[1] > 0:
		c.w.why = fmt.Sprintf("connection %s → %s lacks bytes", c.c.Client, c.c.Server)
	}
}

func scenario(name string) (lab.Scenario, error) {
	for _, s := range lab.Scenarios() {
		if s.Name == name {
			return s, nil
		}
	}
	return lab.Scenario{}, fmt.Errorf("no lab scenario %q", name)
}

// recordOne records r into out.
func recordOne(ctx context.Context, out string, r recording) error {
	s, err := scenario(r.scenario)
	if err != nil {
		return err
	}
	srv, err := lab.Start(ctx, s, r.peer, "")
	if err != nil {
		return err
	}
	defer srv.Close()
	work, err := os.MkdirTemp("", "tlsgate-capture-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	m := meta{Scenario: r.scenario, Peer: string(r.peer), Client: r.client, Note: r.note, Expect: r.expect,
		Snaplen: r.snaplen, RecordedAt: time.Now().UTC().Format(time.RFC3339), Connections: 1}
	if r.client == "curl-http" {
		m.Connections = 0 // no TLS: tlsgate pcap lists no connection
	}
	files, err := writeClientFiles(ctx, work, s, r)
	if err != nil {
		return err
	}
	base := filepath.Join(out, r.name)
	if m.Truststore, err = keep(files.truststore, base+".truststore.pem"); err != nil {
		return err
	}
	if r.passCert && files.cert != "" {
		if m.ClientCert, err = keep(files.cert, base+".client.pem"); err != nil {
			return err
		}
	}
	_, port, _ := strings.Cut(srv.Address, ":")
	td, err := startTcpdump(ctx, base+".pcap", r.snaplen, "tcp port "+port)
	if err != nil {
		return err
	}
	keylog := ""
	if r.keylog {
		keylog = filepath.Join(work, "keys.log")
	}
	runClient(ctx, r, srv, files, keylog)
	if err := td.stop(); err != nil {
		return err
	}
	if r.keylog {
		if m.Keylog, err = keep(keylog, base+".keylog"); err != nil {
			return fmt.Errorf("the client wrote no key log: %w", err)
		}
	}
	toPcapng(base)
	return writeMeta(base+".meta.json", m)
}

// recordInterleaved plays the interleaved scenarios at once into one capture.
func recordInterleaved(ctx context.Context, out string) error {
	work, err := os.MkdirTemp("", "tlsgate-capture-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	type started struct {
		r     recording
		srv   *lab.Running
		files clientFiles
	}
	var all []started
	var ports []string
	m := meta{Scenario: "interleaved", Client: "several", RecordedAt: time.Now().UTC().Format(time.RFC3339),
		ExpectByPort: map[string]string{}, Note: "several scenarios played at once, a few connections each"}
	for i, r := range interleaved {
		s, err := scenario(r.scenario)
		if err != nil {
			return err
		}
		srv, err := lab.Start(ctx, s, r.peer, "")
		if err != nil {
			return err
		}
		defer srv.Close()
		dir := filepath.Join(work, fmt.Sprint(i))
		if err := os.Mkdir(dir, 0o700); err != nil {
			return err
		}
		files, err := writeClientFiles(ctx, dir, s, r)
		if err != nil {
			return err
		}
		_, port, _ := strings.Cut(srv.Address, ":")
		ports = append(ports, "port "+port)
		m.ExpectByPort[port] = r.expect
		all = append(all, started{r, srv, files})
	}
	base := filepath.Join(out, "interleaved")
	// One truststore for all: every interleaved scenario trusts the lab's root.
	if m.Truststore, err = keep(all[0].files.truststore, base+".truststore.pem"); err != nil {
		return err
	}
	td, err := startTcpdump(ctx, base+".pcap", 0, "tcp and ("+strings.Join(ports, " or ")+")")
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for round := range interleavedRounds {
		for _, st := range all {
			wg.Go(func() {
				time.Sleep(time.Duration(round) * 7 * time.Millisecond)
				runClient(ctx, st.r, st.srv, st.files, "")
			})
		}
	}
	wg.Wait()
	if err := td.stop(); err != nil {
		return err
	}
	m.Connections = interleavedRounds * len(all)
	toPcapng(base)
	return writeMeta(base+".meta.json", m)
}

// keep copies the file at from to to, and returns to's base name.
func keep(from, to string) (string, error) {
	b, err := os.ReadFile(from)
	if err != nil {
		return "", err
	}
	if len(b) == 0 {
		return "", errors.New(from + " is empty")
	}
	return filepath.Base(to), os.WriteFile(to, b, 0o644)
}

func writeMeta(path string, m meta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// toPcapng writes base.pcap as base.pcapng with editcap, when it is installed.
func toPcapng(base string) {
	if _, err := exec.LookPath("editcap"); err != nil {
		return
	}
	if b, err := exec.Command("editcap", "-F", "pcapng", base+".pcap", base+".pcapng").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "editcap: %v: %s\n", err, b)
	}
}

// tcpdump is a running capture.
type tcpdump struct {
	cmd  *exec.Cmd
	done chan error
}

// startTcpdump captures on the loopback interface into path and returns once it listens.
func startTcpdump(ctx context.Context, path string, snaplen int, filter string) (*tcpdump, error) {
	// --immediate-mode: without it, packets still in the kernel's ring buffer when
	// tcpdump is stopped are lost.
	args := []string{"-i", "lo", "-U", "--immediate-mode", "-n", "-w", path}
	if snaplen > 0 {
		args = append(args, "-s", fmt.Sprint(snaplen))
	}
	args = append(args, filter)
	cmd := exec.CommandContext(ctx, "tcpdump", args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	listening := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		var seen strings.Builder
		for {
			n, err := stderr.Read(buf)
			seen.Write(buf[:n])
			if strings.Contains(seen.String(), "listening on") {
				close(listening)
				for err == nil {
					_, err = stderr.Read(buf)
				}
				return
			}
			if err != nil {
				return
			}
		}
	}()
	t := &tcpdump{cmd: cmd, done: make(chan error, 1)}
	go func() { t.done <- cmd.Wait() }()
	select {
	case <-listening:
		time.Sleep(time.Second)
		return t, nil
	case err := <-t.done:
		return nil, fmt.Errorf("tcpdump: %v", err)
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		return nil, errors.New("tcpdump did not start listening")
	}
}

// stop lets the last packets reach the capture and stops tcpdump cleanly.
func (t *tcpdump) stop() error {
	time.Sleep(500 * time.Millisecond)
	t.cmd.Process.Signal(os.Interrupt)
	select {
	case <-t.done:
		return nil
	case <-time.After(5 * time.Second):
		t.cmd.Process.Kill()
		return errors.New("tcpdump did not stop")
	}
}

// writePEM writes blocks to path.
func writePEM(path string, blocks ...*pem.Block) error {
	var b []byte
	for _, blk := range blocks {
		b = append(b, pem.EncodeToMemory(blk)...)
	}
	return os.WriteFile(path, b, 0o600)
}
