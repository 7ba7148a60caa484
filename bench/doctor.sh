#!/usr/bin/env bash
# Measures, in one run against the same local OpenSSL s_server (TLS 1.2 and 1.3, a few dozen
# suites, RSA certificate), inside a network namespace that holds only loopback:
#   - a full diagnosis: tlsgate doctor (median of repeated runs);
#   - enumeration: tlsgate doctor --scan against sslscan and testssl.sh;
# and checks that the suites tlsgate accepts are those sslscan accepts.
#
# Usage: bash bench/doctor.sh [RUNS]      (default 20 runs; testssl.sh gets 3)
# Needs: openssl, sslscan, testssl.sh, hyperfine, unshare and ip (Debian: openssl sslscan
# testssl.sh hyperfine util-linux iproute2); it installs the missing ones with apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}

if [ "${TLSGATE_BENCH_NETNS:-}" != 1 ]; then
	need=()
	command -v openssl >/dev/null || need+=(openssl)
	command -v sslscan >/dev/null || need+=(sslscan)
	command -v testssl >/dev/null || need+=(testssl.sh)
	command -v hyperfine >/dev/null || need+=(hyperfine)
	command -v ip >/dev/null || need+=(iproute2)
	if [ ${#need[@]} -gt 0 ]; then
		echo "bench: installing ${need[*]}" >&2
		DEBIAN_FRONTEND=noninteractive apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
	fi
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	echo "bench: building tlsgate" >&2
	go build -o "$work/tlsgate" ./cmd/tlsgate
	go build -o "$work/suitecmp" ./bench/suitecmp
	# testssl.sh looks names up on its own: everything runs in a namespace with only loopback.
	TLSGATE_BENCH_NETNS=1 TLSGATE_BENCH_WORK=$work unshare -n bash "$0" "$runs"
	exit $?
fi

ip link set lo up
work=$TLSGATE_BENCH_WORK
port=$((20000 + RANDOM % 20000))
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -addext subjectAltName=DNS:localhost \
	-days 2 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
openssl s_server -accept "127.0.0.1:$port" -cert "$work/cert.pem" -key "$work/key.pem" \
	-no_ssl3 -no_tls1 -no_tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' \
	-ciphersuites 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256' \
	-www -quiet >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
	(echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
	sleep 0.1
done
target="127.0.0.1:$port"
tg="$work/tlsgate"

echo "server: openssl s_server $(openssl version | cut -d' ' -f2), TLSv1.2+TLSv1.3, $(openssl ciphers -s -tls1_2 'DEFAULT:@SECLEVEL=0' | tr ':' '\n' | wc -l) TLS 1.2 suites configured + 4 TLS 1.3"
echo "tools: sslscan $(sslscan --version 2>/dev/null | grep -o '2\.[0-9.]*' | head -1), testssl.sh $(testssl --version 2>/dev/null | grep -o 'testssl *[0-9][0-9.]*' | grep -o '[0-9][0-9.]*' | head -1), $(hyperfine --version)"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# Failing endpoints, for diagnoses that need experiments: a TLSv1.0-only server
# (protocol.mismatch: crafted hellos for every version) and the healthy server judged with
# a truststore that lacks its root (truststore.missing-anchor).
port10=$((port + 1))
openssl s_server -accept "127.0.0.1:$port10" -cert "$work/cert.pem" -key "$work/key.pem" \
	-tls1 -cipher 'DEFAULT:@SECLEVEL=0' -www -quiet >/dev/null 2>&1 &
server10=$!
trap 'kill $server $server10 2>/dev/null || true' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=Other -days 2 \
	-keyout "$work/other.key" -out "$work/other.pem" 2>/dev/null
for _ in $(seq 50); do
	(echo >/dev/tcp/127.0.0.1/$port10) 2>/dev/null && break
	sleep 0.1
done

# Correctness first: the accepted suites must agree.
"$tg" doctor --scan --format json --truststore "$work/cert.pem" --servername localhost --connect "$target" localhost:$port >"$work/scan.json" || true
sslscan --no-colour --no-compression --no-fallback --no-groups --no-heartbleed --no-renegotiation \
	--no-check-certificate --no-cipher-details --xml="$work/sslscan.xml" "$target" >/dev/null
echo "accepted suites, tlsgate --scan vs sslscan:"
"$work/suitecmp" "$work/scan.json" "$work/sslscan.xml" && agree=yes || agree=NO
echo

hyperfine -N -i --warmup 2 --runs "$runs" --export-json "$work/diag.json" \
	-n "tlsgate doctor, healthy endpoint" "$tg doctor --truststore $work/cert.pem --servername localhost --connect $target localhost:$port" \
	-n "tlsgate doctor, truststore.missing-anchor" "$tg doctor --truststore $work/other.pem --servername localhost --connect $target localhost:$port" \
	-n "tlsgate doctor, protocol.mismatch (TLSv1.0-only server)" "$tg doctor --truststore $work/cert.pem --servername localhost --connect 127.0.0.1:$port10 localhost:$port10" \
	>/dev/null 2>&1 # -i: a diagnosis that finds a cause exits 1
hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/enum.json" \
	-n "tlsgate doctor --scan" "$tg doctor --scan --truststore $work/cert.pem --servername localhost --connect $target localhost:$port" \
	-n "sslscan, enumeration only" "sslscan --no-colour --no-compression --no-fallback --no-groups --no-heartbleed --no-renegotiation --no-check-certificate --no-cipher-details $target" \
	-n "sslscan, defaults" "sslscan --no-colour $target" \
	>/dev/null
hyperfine --warmup 0 --runs 3 --export-json "$work/testssl.json" \
	-n "testssl.sh -E (each cipher per protocol)" "testssl --quiet --color 0 --warnings off -E $target" \
	>/dev/null

python3 - "$work/diag.json" "$work/enum.json" "$work/testssl.json" <<'PY'
import json, statistics, sys
def rows(path):
    return json.load(open(path))["results"]
def line(r, base=None):
    t = r["times"]
    med = statistics.median(t) * 1000
    rel = "" if base is None else f"{med / base:.1f}×"
    return f"| {r['command']} | {len(t)} | {med:.1f} | {min(t)*1000:.1f} | {max(t)*1000:.1f} | {rel} |"
print("## Full diagnosis (one endpoint, loopback)")
print()
print("| command | runs | median ms | min ms | max ms | |")
print("|---|---:|---:|---:|---:|---|")
for r in rows(sys.argv[1]):
    print(line(r))
print()
print("## Enumeration of versions and suites (relative: median time / tlsgate's)")
print()
print("| command | runs | median ms | min ms | max ms | relative |")
print("|---|---:|---:|---:|---:|---|")
enum = rows(sys.argv[2]) + rows(sys.argv[3])
base = statistics.median(enum[0]["times"]) * 1000
for r in enum:
    print(line(r, base))
PY
echo
echo "suites agree with sslscan: $agree"
