#!/usr/bin/env bash
# Measures tlsgate as an HTTPS→HTTPS reverse proxy against nginx and haproxy, in one run on
# loopback, in front of the same backend:
#   - the backend: an nginx instance of its own answering "return 200" with a small fixed
#     body over TLS, keep-alive on;
#   - the proxies terminate client TLS with the same certificate, verify the backend's
#     certificate and name against the CA file that issued it, and keep backend connections
#     alive: tlsgate serve --config (a virtual host, a proxy with basePath / and a target
#     URL with a truststore), nginx (proxy_ssl_verify on, upstream keepalive 64) and haproxy
#     (ssl verify required ca-file, http-reuse always, nbthread 2); and, as a reference
#     point, bench/proxy/stdproxy: net/http/httputil.ReverseProxy with the keep-alive pool,
#     session resumption and verification of tlsgate's transport, and nothing else; on
#     request (PROXIES=... rawgo), bench/proxy/rawgo: the least a Go forwarder on crypto/tls
#     does (heads passed through as they came, Content-Length bodies, no HTTP/2), a lower
#     bound of what an HTTP/1.1 path in Go could cost;
#   - checks first that a request through each proxy, over HTTP/1.1 and HTTP/2, returns the
#     backend's body;
#   - per proxy and round: wrk keep-alive HTTP/1.1 (requests/s, p50, p99); wrk with
#     "Connection: close", a new connection per request whose handshake resumes the session
#     (wrk resumes what the server offers); bench/proxy/handshake, a new connection per
#     request with a full handshake (requests/s, p99); h2load HTTP/2 (requests/s); for the
#     keep-alive, full-handshake and HTTP/2 runs, the CPU time the proxy's processes used
#     per request (µs, from /proc: less sensitive to the machine's other load than
#     requests/s). Rounds interleave the proxies in rotating order; medians, ratio to nginx;
#   - a CPU profile of tlsgate during one more keep-alive, full-handshake and HTTP/2 run
#     (serve --pprof), printed with go tool pprof -top.
#
# Usage: bash bench/proxy.sh [ROUNDS] [SECONDS]   (default 3 rounds of 8 s per measurement,
# about 8 minutes)
# Environment: CONNS (connections of every load, 50), STREAMS (h2load streams per
# connection, 10), KEY (rsa: RSA 2048 certificates, the default; ec: ECDSA P-256),
# PROXIES (the proxies measured, nginx always among them: default "tlsgate nginx haproxy
# stdproxy"; rawgo too when named), PROFILE (0: no profile), PROFILE_DIR (keep the profiles there), TLSGATE
# (measure this tlsgate binary instead of building one), TLSGATE_B (a second tlsgate binary,
# measured as the proxy "tlsgateb" when PROXIES names it: two builds compared in one run,
# their rounds interleaved; the same build as tlsgate's when unset), TLSGATE_B_ENV
# (variables in tlsgateb's environment, such as "GOMAXPROCS=8": a setting compared),
# TLSGATE_B_ARGS (more arguments of tlsgateb's serve, such as "--http2-server=net/http").
# Needs: go, openssl, curl, wrk, h2load, nginx, haproxy (Debian: apt-get install -y wrk
# nghttp2-client haproxy nginx-light openssl curl); it installs the missing ones with
# apt-get. It never touches the system's nginx or haproxy services: every process runs from
# its own configuration in a temporary directory, on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-8}
conns=${CONNS:-50}
streams=${STREAMS:-10}
keytype=${KEY:-rsa}
read -r -a proxies <<<"${PROXIES:-tlsgate nginx haproxy stdproxy}"
case " ${proxies[*]} " in
*" nginx "*) ;;
*) echo "error: PROXIES must include nginx (the figures are ratios to nginx's)" >&2; exit 2 ;;
esac
for p in "${proxies[@]}"; do
	case $p in tlsgate | nginx | haproxy | stdproxy | rawgo | tlsgateb) ;; *) echo "error: PROXIES: unknown proxy $p (tlsgate, nginx, haproxy, stdproxy, rawgo, tlsgateb)" >&2; exit 2 ;; esac
done
case " ${proxies[*]} " in
*" tlsgateb "*) [ -z "${TLSGATE_B:-}" ] || [ -x "$TLSGATE_B" ] || { echo "error: TLSGATE_B ($TLSGATE_B) is not an executable tlsgate binary" >&2; exit 2; } ;;
esac

need=()
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
command -v ss >/dev/null || need+=(iproute2)
command -v wrk >/dev/null || need+=(wrk)
command -v h2load >/dev/null || need+=(nghttp2-client)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
	echo "bench: installing ${need[*]} (apt-get install -y ${need[*]})" >&2
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
PATH=$PATH:/usr/sbin
# Installing nginx or haproxy may start their system services; the script never uses them,
# only instances of its own, from its own configurations, on ports of its own.

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

echo "bench: building tlsgate, stdproxy and handshake" >&2
if [ -n "${TLSGATE:-}" ]; then
	cp "$TLSGATE" "$work/tlsgate"
else
	go build -o "$work/tlsgate" ./cmd/tlsgate
fi
go build -o "$work/stdproxy" ./bench/proxy/stdproxy
go build -o "$work/rawgo" ./bench/proxy/rawgo
go build -o "$work/handshake" ./bench/proxy/handshake

# Certificates: one CA issuing the backend's and the proxies' certificates.
newkey() { # newkey FILE
	if [ "$keytype" = ec ]; then
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
	else
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null
	fi
}
newkey "$work/ca.key"
openssl req -x509 -new -key "$work/ca.key" -subj "/CN=Bench CA" -days 2 -out "$work/ca.pem" \
	-addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
for name in backend front; do
	newkey "$work/$name.key"
	openssl req -new -key "$work/$name.key" -subj "/CN=localhost" -out "$work/$name.csr" 2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:false\n' >"$work/$name.ext"
	openssl x509 -req -in "$work/$name.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
		-days 2 -extfile "$work/$name.ext" -out "$work/$name.pem" 2>/dev/null
done
cat "$work/front.pem" "$work/front.key" >"$work/front-haproxy.pem"

# Ten consecutive ports below the ephemeral range, none in use.
for _ in $(seq 20); do
	base=$((20000 + RANDOM % 12000))
	ss -Htan "( sport >= :$base and sport <= :$((base + 9)) )" | grep -q . || break
done
p_backend=$base p_tlsgate=$((base + 1)) p_nginx=$((base + 2)) p_haproxy=$((base + 3))
p_stdproxy=$((base + 4)) p_admin=$((base + 5)) p_pprof=$((base + 6)) p_rawgo=$((base + 7))
p_tlsgateb=$((base + 8)) p_adminb=$((base + 9))
body='tlsgate bench backend: a small fixed body, the same for every proxy.'

# nginx instances share one shape: a prefix directory of their own, no daemon, no system
# paths (pid, logs, temporary files all under it).
nginx_conf() { # nginx_conf DIR HTTP-BLOCK
	mkdir -p "$1/logs"
	cat >"$1/nginx.conf" <<EOF
worker_processes auto;
pid $1/nginx.pid;
error_log $1/logs/error.log warn;
events { worker_connections 4096; }
http {
	default_type text/plain;
	client_body_temp_path $1/tmp-body;
	proxy_temp_path $1/tmp-proxy;
	fastcgi_temp_path $1/tmp-fastcgi;
	uwsgi_temp_path $1/tmp-uwsgi;
	scgi_temp_path $1/tmp-scgi;
$2
}
EOF
}

nginx_conf "$work/backend" "
	access_log off;
	keepalive_requests 1000000;
	keepalive_timeout 300s;
	ssl_protocols TLSv1.2 TLSv1.3;
	server {
		listen 127.0.0.1:$p_backend ssl;
		ssl_certificate $work/backend.pem;
		ssl_certificate_key $work/backend.key;
		location / { return 200 \"$body\n\"; }
	}"

# The proxy nginx keeps its default access log (combined format, one write per request),
# as tlsgate writes its access log; haproxy logs nothing without a syslog target.
nginx_conf "$work/nginx" "
	access_log $work/nginx/logs/access.log;
	keepalive_requests 1000000;
	ssl_protocols TLSv1.2 TLSv1.3;
	upstream backend {
		server 127.0.0.1:$p_backend;
		keepalive 64;
		keepalive_requests 1000000;
	}
	server {
		listen 127.0.0.1:$p_nginx ssl http2;
		ssl_certificate $work/front.pem;
		ssl_certificate_key $work/front.key;
		location / {
			proxy_pass https://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection \"\";
			proxy_ssl_verify on;
			proxy_ssl_trusted_certificate $work/ca.pem;
			proxy_ssl_name localhost;
			proxy_ssl_server_name on;
			proxy_ssl_session_reuse on;
		}
	}"

cat >"$work/haproxy.cfg" <<EOF
global
	nbthread 2
	maxconn 8000
	pidfile $work/haproxy.pid
defaults
	mode http
	timeout connect 3s
	timeout client 60s
	timeout server 60s
	timeout http-keep-alive 60s
	http-reuse always
frontend fe
	bind 127.0.0.1:$p_haproxy ssl crt $work/front-haproxy.pem alpn h2,http/1.1
	default_backend be
backend be
	server backend 127.0.0.1:$p_backend ssl verify required ca-file $work/ca.pem verifyhost localhost sni str(localhost)
EOF

mkdir -p "$work/tg"
cat >"$work/tg/bench.yaml" <<EOF
# One TLS virtual host; every path goes to the backend, verified against the bench CA.
organizations:
  - name: bench
    environments:
      - name: test
        keystores:
          - name: gateway
            aliases:
              - name: front
                certFile: ../front.pem
                keyFile: ../front.key
          - name: backendCAs
            aliases:
              - name: ca
                certFile: ../ca.pem
        virtualHosts:
          - name: secure
            hostAliases:
              - localhost
              - 127.0.0.1
            port: $p_tlsgate
            sslInfo:
              enabled: true
              keyStore: gateway
              keyAlias: front
        proxies:
          - name: bench
            basePath: /
            virtualHosts:
              - secure
            target:
              url: https://127.0.0.1:$p_backend
              sslInfo:
                enabled: true
                trustStore: backendCAs
EOF

waitport() { # waitport PORT WHAT
	for _ in $(seq 100); do
		(echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "error: $2 did not open 127.0.0.1:$1" >&2
	return 1
}

nginx -p "$work/backend" -c "$work/backend/nginx.conf" -e "$work/backend/logs/error.log" -g 'daemon off;' &
pids+=($!)
waitport "$p_backend" "the backend (nginx)" || { cat "$work/backend/logs/error.log" >&2; exit 1; }
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/logs/error.log" -g 'daemon off;' &
pids+=($!) pid_nginx=$!
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pids+=($!) pid_haproxy=$!
TLSGATE_ADMIN_TOKEN=$(openssl rand -hex 24) "$work/tlsgate" serve --data "$work/tg/data" \
	--admin "127.0.0.1:$p_admin" --config "$work/tg/bench.yaml" --listen-host 127.0.0.1 \
	--pprof "127.0.0.1:$p_pprof" >"$work/tg/serve.log" 2>&1 &
pids+=($!) pid_tlsgate=$!
"$work/stdproxy" -listen "127.0.0.1:$p_stdproxy" -cert "$work/front.pem" -key "$work/front.key" \
	-ca "$work/ca.pem" -backend "https://127.0.0.1:$p_backend" >"$work/stdproxy.log" 2>&1 &
pids+=($!) pid_stdproxy=$!
waitport "$p_nginx" "nginx" || { cat "$work/nginx/logs/error.log" >&2; exit 1; }
waitport "$p_haproxy" "haproxy" || { cat "$work/haproxy.log" >&2; exit 1; }
waitport "$p_tlsgate" "tlsgate" || { cat "$work/tg/serve.log" >&2; exit 1; }
waitport "$p_stdproxy" "stdproxy" || { cat "$work/stdproxy.log" >&2; exit 1; }
if [[ " ${proxies[*]} " == *" tlsgateb "* ]]; then
	mkdir -p "$work/tgb"
	sed "s/port: $p_tlsgate\$/port: $p_tlsgateb/" "$work/tg/bench.yaml" >"$work/tgb/bench.yaml"
	read -r -a benv <<<"${TLSGATE_B_ENV:-}"
	read -r -a bargs <<<"${TLSGATE_B_ARGS:-}"
	env "${benv[@]}" TLSGATE_ADMIN_TOKEN=$(openssl rand -hex 24) "${TLSGATE_B:-$work/tlsgate}" serve --data "$work/tgb/data" \
		--admin "127.0.0.1:$p_adminb" --config "$work/tgb/bench.yaml" --listen-host 127.0.0.1 "${bargs[@]}" >"$work/tgb/serve.log" 2>&1 &
	pids+=($!) pid_tlsgateb=$!
	waitport "$p_tlsgateb" "tlsgateb" || { cat "$work/tgb/serve.log" >&2; exit 1; }
fi
if [[ " ${proxies[*]} " == *" rawgo "* ]]; then
	"$work/rawgo" -listen "127.0.0.1:$p_rawgo" -cert "$work/front.pem" -key "$work/front.key" \
		-ca "$work/ca.pem" -backend "127.0.0.1:$p_backend" >"$work/rawgo.log" 2>&1 &
	pids+=($!) pid_rawgo=$!
	waitport "$p_rawgo" "rawgo" || { cat "$work/rawgo.log" >&2; exit 1; }
fi

port() { local v="p_$1"; echo "${!v}"; }

# cputicks PROXY: the CPU time (user + system, in clock ticks) the proxy's processes (the
# process and its children: nginx's workers) have used so far.
hz=$(getconf CLK_TCK)
cputicks() {
	local v="pid_$1" pid
	pid=${!v}
	for q in $pid $(pgrep -P "$pid" || true); do cat "/proc/$q/stat" 2>/dev/null; done |
		awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}
# cpucol FILE PROXY TICKS0: appends to FILE's last line (a run whose first column is its
# requests/s) the proxy's CPU time per request in µs over the run, from TICKS0 on.
cpucol() {
	local t1
	t1=$(cputicks "$2")
	awk -v t0="$3" -v t1="$t1" -v hz="$hz" -v secs="$secs" '
		{ line[NR] = $0; rps = $1 }
		END {
			for (i = 1; i < NR; i++) print line[i]
			cpu = (rps > 0) ? (t1 - t0) / hz * 1e6 / (rps * secs) : 0
			printf "%s %.1f\n", line[NR], cpu
		}' "$1" >"$1.tmp" && mv "$1.tmp" "$1"
}

# Correctness first: through each proxy, over HTTP/1.1 and HTTP/2, the backend's body.
for p in "${proxies[@]}"; do
	for v in --http1.1 --http2; do
		got=$(curl -sS "$v" --cacert "$work/ca.pem" "https://127.0.0.1:$(port "$p")/bench" 2>&1) || true
		if [ "$got" != "$body" ]; then
			echo "error: $p ($v) did not return the backend's body; it answered:" >&2
			echo "$got" >&2
			exit 1
		fi
	done
done
echo "checked: ${proxies[*]} return the backend's body over HTTP/1.1 and HTTP/2 (rawgo: HTTP/1.1 only)" >&2

# wrkrun FILE PROXY [ARGS...]: one wrk run; appends "rps p50ms p99ms errors" to FILE.
wrkrun() {
	local out=$1 p=$2
	shift 2
	wrk -t2 -c"$conns" -d"${secs}s" --latency "$@" "https://127.0.0.1:$(port "$p")/bench" >"$work/wrk.out" 2>&1 || true
	awk '
		function ms(v) {
			if (v ~ /us$/) return v / 1000
			if (v ~ /ms$/) return v + 0
			if (v ~ /s$/) return v * 1000
			return v
		}
		$1 == "50%" { p50 = ms($2) }
		$1 == "99%" { p99 = ms($2) }
		/^Requests\/sec:/ { rps = $2 }
		/Non-2xx or 3xx responses:/ { err += $NF }
		/Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
		END { printf "%.0f %.2f %.2f %d\n", rps, p50, p99, err }
	' "$work/wrk.out" >>"$out"
}

# h2run FILE PROXY: one h2load run; appends "rps failed" to FILE.
h2run() {
	local out=$1 p=$2
	h2load -t2 -c"$conns" -m"$streams" -D "$secs" "https://127.0.0.1:$(port "$p")/bench" >"$work/h2.out" 2>&1 || true
	if ! grep -q '^Application protocol: h2' "$work/h2.out"; then
		echo "error: h2load did not negotiate HTTP/2 with $p:" >&2
		cat "$work/h2.out" >&2
		exit 1
	fi
	awk '
		/^finished in/ { gsub(/,/, ""); rps = $4 }
		/^requests:/ { gsub(/,/, ""); failed = $10 + $12 + $14 }
		END { printf "%.0f %d\n", rps, failed }
	' "$work/h2.out" >>"$out"
}

# fullrun FILE PROXY: one run of bench/proxy/handshake; appends "rps p50ms p99ms failed".
fullrun() {
	"$work/handshake" -c "$conns" -d "${secs}s" "https://127.0.0.1:$(port "$2")/bench" >>"$1"
}

echo "tools: $(nginx -v 2>&1 | cut -d' ' -f3), $(haproxy -v | head -1 | cut -d' ' -f1-3), $(go version | cut -d' ' -f3), $(openssl version | cut -d' ' -f1-2), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), $(h2load --version | head -1)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "load: $conns connections (wrk -t2, h2load -t2 -m$streams, handshake -c$conns); $rounds rounds of ${secs} s per measurement; $keytype certificates"
echo

# Warm-up: a short keep-alive run through each proxy (pools filled, code paged in).
for p in "${proxies[@]}"; do
	wrk -t2 -c"$conns" -d2s "https://127.0.0.1:$(port "$p")/bench" >/dev/null 2>&1 || true
done

kinds=(ka resumed full h2)
for r in $(seq 0 $((rounds - 1))); do
	order=()
	for i in "${!proxies[@]}"; do order+=("${proxies[$(((i + r) % ${#proxies[@]}))]}"); done
	echo "round $((r + 1))/$rounds: ${order[*]}" >&2
	for p in "${order[@]}"; do
		t0=$(cputicks "$p")
		wrkrun "$work/ka.$p" "$p"
		cpucol "$work/ka.$p" "$p" "$t0"
		sleep 0.5
		wrkrun "$work/resumed.$p" "$p" -H 'Connection: close'
		sleep 0.5
		t0=$(cputicks "$p")
		fullrun "$work/full.$p" "$p"
		cpucol "$work/full.$p" "$p" "$t0"
		sleep 0.5
		t0=$(cputicks "$p")
		if [ "$p" = rawgo ]; then echo "0 0" >>"$work/h2.$p"; else h2run "$work/h2.$p" "$p"; fi
		cpucol "$work/h2.$p" "$p" "$t0"
		sleep 0.5
		echo "  $p: keep-alive $(tail -1 "$work/ka.$p") | resumed $(tail -1 "$work/resumed.$p") | full $(tail -1 "$work/full.$p") | h2 $(tail -1 "$work/h2.$p")" >&2
	done
done

# med FILE COLUMN: the median of one column (the lower middle value for an even count).
med() { awk -v c="$2" '{ print $c }' "$1" | sort -g | sed -n "$(((rounds + 1) / 2))p"; }
sum() { awk -v c="$2" '{ s += $c } END { print s + 0 }' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "medians of $rounds rounds; ×: the proxy's figure over nginx's (for p99, at most 1 is no worse than nginx)"
echo
echo "| proxy | keep-alive req/s | × | p50 ms | p99 ms | × | CPU µs/req | resumed handshake per request, req/s | × | full handshake per request, req/s | × | p99 ms | CPU µs/req | HTTP/2 req/s | × | CPU µs/req | errors |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
n_ka=$(med "$work/ka.nginx" 1) n_p99=$(med "$work/ka.nginx" 3)
n_res=$(med "$work/resumed.nginx" 1) n_full=$(med "$work/full.nginx" 1) n_h2=$(med "$work/h2.nginx" 1)
for p in "${proxies[@]}"; do
	ka=$(med "$work/ka.$p" 1) p50=$(med "$work/ka.$p" 2) p99=$(med "$work/ka.$p" 3) kacpu=$(med "$work/ka.$p" 5)
	res=$(med "$work/resumed.$p" 1) full=$(med "$work/full.$p" 1) fp99=$(med "$work/full.$p" 3)
	fullcpu=$(med "$work/full.$p" 5) h2=$(med "$work/h2.$p" 1) h2cpu=$(med "$work/h2.$p" 3)
	errs=$(($(sum "$work/ka.$p" 4) + $(sum "$work/resumed.$p" 4) + $(sum "$work/full.$p" 4) + $(sum "$work/h2.$p" 2)))
	h2x=$(ratio "$h2" "$n_h2")
	[ "$p" = rawgo ] && h2=- h2x=- h2cpu=-
	echo "| $p | $ka | $(ratio "$ka" "$n_ka") | $p50 | $p99 | $(ratio "$p99" "$n_p99") | $kacpu | $res | $(ratio "$res" "$n_res") | $full | $(ratio "$full" "$n_full") | $fp99 | $fullcpu | $h2 | $h2x | $h2cpu | $errs |"
done
echo
echo "every run (req/s p50 p99 errors, and CPU µs/req but for resumed; h2: req/s failed CPU µs/req):"
for p in "${proxies[@]}"; do
	for k in "${kinds[@]}"; do
		printf '  %-8s %-7s %s\n' "$p" "$k" "$(tr '\n' ';' <"$work/$k.$p")"
	done
done
echo

# Where tlsgate's time goes: a CPU profile during one more run of each load but the
# resumed handshakes.
if [ "${PROFILE:-1}" = 0 ] || [[ " ${proxies[*]} " != *" tlsgate "* ]]; then
	echo "machine at the end: load average $(cut -d' ' -f1-3 /proc/loadavg)"
	exit 0
fi
profdir=${PROFILE_DIR:-$work}
mkdir -p "$profdir"
psecs=6
url="https://127.0.0.1:$p_tlsgate/bench"
for kind in keep-alive full-handshake h2; do
	case $kind in
	keep-alive) wrk -t2 -c"$conns" -d"$((psecs + 2))s" "$url" >"$work/prof.out" 2>&1 & ;;
	full-handshake) "$work/handshake" -c "$conns" -d "$((psecs + 2))s" "$url" >"$work/prof.out" 2>&1 & ;;
	h2) h2load -t2 -c"$conns" -m"$streams" -D "$((psecs + 2))" "$url" >"$work/prof.out" 2>&1 & ;;
	esac
	loadpid=$!
	sleep 1
	curl -sS -o "$profdir/tlsgate-$kind.cpu" "http://127.0.0.1:$p_pprof/debug/pprof/profile?seconds=$psecs"
	wait "$loadpid" || true
	rps=$(awk '/^Requests\/sec:/ { print $2 } /^finished in/ { print $4 } /^[0-9]+ / { print $1 }' "$work/prof.out")
	echo "CPU profile of tlsgate, $kind load ($rps req/s over the run):"
	go tool pprof -top -nodecount=25 "$work/tlsgate" "$profdir/tlsgate-$kind.cpu" 2>/dev/null | sed -n '/^Duration\|^Showing nodes\|flat%/,$p'
	echo
	echo "the same profile, cumulative:"
	go tool pprof -top -cum -nodecount=25 "$work/tlsgate" "$profdir/tlsgate-$kind.cpu" 2>/dev/null | sed -n '/flat%/,$p'
	echo
done
echo "machine at the end: load average $(cut -d' ' -f1-3 /proc/loadavg)"
