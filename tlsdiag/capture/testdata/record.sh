#!/usr/bin/env bash
# record.sh re-records the loopback captures of this directory: tcpdump (and
# dumpcap, when installed) on the loopback interface while openssl s_server,
# openssl s_client and curl do a few TLS handshakes on 127.0.0.1 and ::1.
# It needs root (to capture), openssl, curl and tcpdump; dumpcap, editcap and
# tshark (Debian package tshark) for the pcapng captures and for
# captures.tsv, the per-connection summary the Go tests compare with.
#
# Usage: sudo ./record.sh   (from any directory; writes beside itself)
set -euo pipefail

cd "$(dirname "$0")"
out=$PWD
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

# A throwaway self-signed certificate: the key never leaves $work.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$work/key.pem" -out "$work/cert.pem" -days 3650 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1 2>/dev/null

# capture FILE TOOL ARGS...: starts TOOL (tcpdump or dumpcap) writing FILE
# and waits until it listens.
capture() {
	local file=$1 tool=$2
	shift 2
	rm -f "$out/$file"
	"$tool" "$@" -w "$out/$file" >"$work/$file.log" 2>&1 &
	cap=$!
	pids+=("$cap")
	for _ in $(seq 50); do
		grep -qE 'listening on|Capturing on' "$work/$file.log" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.3
}

# stop: lets the last packets reach the capture, then stops it cleanly.
stop() {
	sleep 1.5
	kill -INT "$cap" 2>/dev/null || true
	wait "$cap" || true
}

# server ADDR N ARGS...: s_server answering HTTP for N connections.
server() {
	local addr=$1 n=$2
	shift 2
	timeout 60 openssl s_server -accept "$addr" -cert "$work/cert.pem" -key "$work/key.pem" \
		-www -naccept "$n" "$@" >"$work/server.log" 2>&1 &
	srv=$!
	pids+=("$srv")
	for _ in $(seq 100); do
		[ -n "$(ss -Hltn "sport = :${addr##*:}")" ] && return
		sleep 0.1
	done
	echo "record.sh: s_server on $addr did not start" >&2
	exit 1
}

# client ADDR ARGS...: s_client does a handshake and quits.
client() {
	local addr=$1
	shift
	echo Q | openssl s_client -connect "$addr" -servername localhost "$@" >/dev/null 2>&1 || true
}

fetch() {
	curl -sk --max-time 5 -o /dev/null "$@" || true
}

# TLS 1.2 on 127.0.0.1, Ethernet link type (lo), microseconds.
capture tls12-lo.pcap tcpdump -Z root -i lo -U --immediate-mode 'tcp port 44301'
server 127.0.0.1:44301 2 -tls1_2
client 127.0.0.1:44301 -tls1_2
fetch --tlsv1.2 --tls-max 1.2 https://127.0.0.1:44301/
wait "$srv" || true
stop

# TLS 1.3 on ::1, nanoseconds, with the key log of both clients.
rm -f "$out/tls13-lo6-nano.keylog"
capture tls13-lo6-nano.pcap tcpdump -Z root -i lo -U --immediate-mode --time-stamp-precision=nano 'tcp port 44302'
server '[::1]:44302' 2 -tls1_3
client '[::1]:44302' -tls1_3 -keylogfile "$out/tls13-lo6-nano.keylog"
SSLKEYLOGFILE=$out/tls13-lo6-nano.keylog fetch --tlsv1.3 'https://[::1]:44302/'
wait "$srv" || true
stop

# Linux cooked v2 (-i any): TLS 1.3 on 127.0.0.1, then a refused
# connection (RST).
capture sll2-any.pcap tcpdump -Z root -i any --immediate-mode -y LINUX_SLL2 -U 'tcp port 44303 or tcp port 44309'
server 127.0.0.1:44303 1
client 127.0.0.1:44303
fetch https://127.0.0.1:44309/
wait "$srv" || true
stop

# Linux cooked v1 on ::1.
capture sll-any6.pcap tcpdump -Z root -i any --immediate-mode -y LINUX_SLL -U 'tcp port 44304'
server '[::1]:44304' 1
fetch 'https://[::1]:44304/'
wait "$srv" || true
stop

# A server that speaks only TLS 1.2 and clients that insist on TLS 1.3 or
# at most TLS 1.1: protocol_version alerts.
capture alert-lo.pcap tcpdump -Z root -i lo -U --immediate-mode 'tcp port 44305'
server 127.0.0.1:44305 2 -tls1_2
client 127.0.0.1:44305 -tls1_3
fetch --tls-max 1.1 https://127.0.0.1:44305/
sleep 0.5
kill "$srv" 2>/dev/null || true
stop

# Snapshot length 96: every packet cut after its first 96 bytes.
capture snaplen96-lo.pcap tcpdump -Z root -i lo -U --immediate-mode -s 96 'tcp port 44306'
server 127.0.0.1:44306 2
client 127.0.0.1:44306
fetch https://127.0.0.1:44306/
wait "$srv" || true
stop

# Many connections at once: their TCP handshakes interleave while the
# server serves them one after the other.
capture many-lo.pcap tcpdump -Z root -i lo -U --immediate-mode 'tcp port 44307'
server 127.0.0.1:44307 10
clients=()
for _ in $(seq 10); do
	fetch https://127.0.0.1:44307/ &
	clients+=($!)
done
wait "${clients[@]}" "$srv" || true
stop

if command -v dumpcap >/dev/null; then
	# pcapng as dumpcap writes it (SHB, IDB, EPB, ISB), both address
	# families.
	capture dumpcap-lo.pcapng dumpcap -i lo -q -f 'tcp port 44308'
	server 127.0.0.1:44308 1
	client 127.0.0.1:44308
	wait "$srv" || true
	server '[::1]:44308' 1
	fetch 'https://[::1]:44308/'
	wait "$srv" || true
	stop

	# Two interfaces of different link types in one file: every packet
	# appears twice, once per interface.
	capture dumpcap-2if.pcapng dumpcap -q -i lo -f 'tcp port 44310' -i any -f 'tcp port 44310'
	server 127.0.0.1:44310 1
	client 127.0.0.1:44310
	wait "$srv" || true
	stop
fi

if command -v editcap >/dev/null; then
	# The TLS 1.3 capture as pcapng with its key log in a Decryption
	# Secrets Block.
	editcap --inject-secrets "tls,$out/tls13-lo6-nano.keylog" \
		"$out/tls13-lo6-nano.pcap" "$out/tls13-lo6-nano-dsb.pcapng"
fi

if command -v tshark >/dev/null; then
	# One line per connection and file, as Wireshark sees it: file, stream,
	# client, server, payload bytes client->server and server->client,
	# FINs and RSTs by side.
	{
		printf 'file\tstream\tclient\tserver\tc2s\ts2c\tfin_c\tfin_s\trst_c\trst_s\n'
		for f in *.pcap *.pcapng; do
			tshark -r "$f" -T fields -E separator=/t -e tcp.stream -e ip.src -e ipv6.src \
				-e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport -e tcp.len \
				-e tcp.flags.syn -e tcp.flags.ack -e tcp.flags.fin -e tcp.flags.reset \
				-e tcp.analysis.retransmission -e frame.interface_id 2>/dev/null |
				awk -F'\t' -v file="$f" '
				$14 != "" && $14 != "0" { next }   # second interface: a copy
				$13 != "" { next }                 # a retransmission
				{
					s = $1; src = ($2 != "" ? $2 : "[" $3 "]") ":" $4
					dst = ($5 != "" ? $5 : "[" $6 "]") ":" $7
					if (!(s in client)) {
						order[n++] = s
						if ($9 == "1" && $10 == "1") { client[s] = dst; server[s] = src }
						else { client[s] = src; server[s] = dst }
					}
					c = (src == client[s])
					bytes[s, c] += $8
					if ($11 == "1") fin[s, c]++
					if ($12 == "1") rst[s, c]++
				}
				END {
					for (i = 0; i < n; i++) {
						s = order[i]
						printf "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", file, s, client[s], server[s],
							bytes[s, 1], bytes[s, 0], (fin[s, 1] > 0), (fin[s, 0] > 0), (rst[s, 1] > 0), (rst[s, 0] > 0)
					}
				}'
		done
	} >"$out/captures.tsv"
	# One line per file: packets, and the first and last timestamps.
	{
		printf 'file\tpackets\tfirst\tlast\n'
		for f in *.pcap *.pcapng; do
			tshark -r "$f" -T fields -e frame.time_epoch 2>/dev/null |
				awk -v file="$f" 'NR == 1 { first = $1 } { last = $1 } END { printf "%s\t%d\t%s\t%s\n", file, NR, first, last }'
		done
	} >"$out/packets.tsv"
fi
chmod 644 "$out"/*.pcap* "$out"/*.keylog
ls -l "$out"
