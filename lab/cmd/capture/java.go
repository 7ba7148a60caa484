package main

import (
	"context"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/lab"
	"github.com/tlsgate/tlsgate/lab/javaclient"
	"software.sslmate.com/src/go-pkcs12"
)

// javaStorePass is the password of the Java stores written for the Java client.
const javaStorePass = "changeit"

// javaClasses is the directory of the compiled Java client, "" until compileJava runs.
var javaClasses string

// compileJava compiles the Java client with javac into a new directory under dir.
func compileJava(ctx context.Context, dir string) error {
	for _, tool := range []string{"java", "javac", "keytool"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed for the Java client: %w", tool, err)
		}
	}
	bin := filepath.Join(dir, "java")
	if err := os.MkdirAll(bin, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(bin, "TLSClient.java"), javaclient.Source, 0o600); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "javac", "-d", bin, "TLSClient.java")
	cmd.Dir = bin
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("compiling the Java client: %w: %s", err, strings.TrimSpace(string(out)))
	}
	javaClasses = bin
	return nil
}

// writeJavaStores writes, beside f's PEM files, the JKS truststore (with keytool, as an
// operator would), the PKCS#12 keystore when the client has a certificate, and a hosts
// file naming the server for the JVM.
func writeJavaStores(ctx context.Context, dir string, s lab.Scenario, f *clientFiles) error {
	f.javaTrust = filepath.Join(dir, "truststore.jks")
	kt := func(args ...string) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		full := append(args, "-keystore", f.javaTrust, "-storepass", javaStorePass, "-storetype", "JKS", "-noprompt")
		if out, err := exec.CommandContext(ctx, "keytool", full...).CombinedOutput(); err != nil {
			return fmt.Errorf("keytool %s: %w: %s", args[0], err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	if len(s.Client.Roots) == 0 {
		return errors.New("keytool writes no empty truststore")
	}
	for i, root := range s.Client.Roots {
		name := filepath.Join(dir, fmt.Sprintf("root%d.pem", i))
		if err := writePEM(name, &pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}); err != nil {
			return err
		}
		if err := kt("-importcert", "-alias", fmt.Sprintf("root%d", i), "-file", name); err != nil {
			return err
		}
	}
	if f.pair != nil {
		cred := s.Client.Cert
		p12, err := pkcs12.Modern2023.WithRand(rand.Reader).Encode(cred.Key, cred.Chain[0], cred.Chain[1:], javaStorePass)
		if err != nil {
			return fmt.Errorf("encoding the client keystore: %w", err)
		}
		f.javaKeys = filepath.Join(dir, "client.p12")
		if err := os.WriteFile(f.javaKeys, p12, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// javaClient makes one HTTPS request with the Java client, its stores given as the
// javax.net.ssl system properties.
func javaClient(ctx context.Context, r recording, name, port string, f clientFiles) {
	hosts := filepath.Join(filepath.Dir(f.truststore), "hosts")
	if err := os.WriteFile(hosts, []byte("127.0.0.1 "+name+"\n"), 0o600); err != nil {
		return
	}
	args := []string{
		"-Djavax.net.ssl.trustStore=" + f.javaTrust,
		"-Djavax.net.ssl.trustStorePassword=" + javaStorePass,
		"-Djavax.net.ssl.trustStoreType=JKS",
		"-Djdk.net.hosts.file=" + hosts,
	}
	if f.javaKeys != "" {
		args = append(args, "-Djavax.net.ssl.keyStore="+f.javaKeys,
			"-Djavax.net.ssl.keyStorePassword="+javaStorePass, "-Djavax.net.ssl.keyStoreType=PKCS12")
	}
	switch r.tls {
	case "1.2":
		args = append(args, "-Djdk.tls.client.protocols=TLSv1.2")
	case "1.3":
		args = append(args, "-Djdk.tls.client.protocols=TLSv1.3")
	}
	args = append(args, "-cp", javaClasses, "TLSClient", "https://"+name+":"+port+"/", "4000")
	cmd := exec.CommandContext(ctx, "java", args...)
	cmd.Env = javaEnv()
	cmd.Run()
}

// javaEnv is the environment without the options the JVM would read from it.
func javaEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "JAVA_TOOL_OPTIONS" || k == "_JAVA_OPTIONS" || k == "JDK_JAVA_OPTIONS" || strings.HasSuffix(strings.ToLower(k), "_proxy") {
			continue
		}
		out = append(out, kv)
	}
	return out
}
