#!/usr/bin/env bash
# Measures tlsgate pcap against tshark on large captures, in one run:
#   - builds captures of about 200 MB and 400 MB (SIZES) by replicating the captures recorded
#     from real peers in tlsdiag/capture/testdata/scenarios with bench/pcapgen (each copy gets
#     its own client address; copies are interleaved eight at a time), tens of thousands of
#     handshakes each;
#   - times, RUNS times each (the median is reported), tlsgate pcap --format json FILE and
#     tshark -r FILE -Y "tls.handshake or tls.alert_message" -T fields ... extracting the
#     same facts (who, when, each handshake message, each alert, SNI, version, suite), both
#     writing to /dev/null;
#   - reports MB/s and peak RSS (/usr/bin/time -v) of both at both sizes: tlsgate's memory
#     must stay flat as the file grows.
#
# Usage: bash bench/pcap.sh [RUNS]        (default 3)
# Needs: go, tshark and /usr/bin/time (Debian: tshark, time); it installs the missing ones
# with apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
sizes=${SIZES:-"200 400"}

need=()
command -v tshark >/dev/null || need+=(tshark)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
	echo "bench: installing ${need[*]}" >&2
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "bench: building tlsgate and pcapgen" >&2
go build -o "$work/tlsgate" ./cmd/tlsgate
go build -o "$work/pcapgen" ./bench/pcapgen
sources=()
for f in tlsdiag/capture/testdata/scenarios/*.pcap; do
	case $f in *snaplen*) continue ;; esac # cut packets are not replicated
	sources+=("$f")
done

# measure CMD...: runs CMD $runs times, prints the median wall time (s) and the peak RSS
# (KB) of that run.
measure() {
	local results=()
	for _ in $(seq "$runs"); do
		/usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || true
		results+=("$(tail -1 "$work/time")")
	done
	printf '%s\n' "${results[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p"
}

echo "tools: $("$work/tlsgate" version 2>/dev/null | head -1), $(tshark --version 2>/dev/null | head -1)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "runs: $runs each, median reported"
echo
for size in $sizes; do
	file="$work/bench-$size.pcap"
	"$work/pcapgen" -size "$size" -o "$file" "${sources[@]}" >/dev/null
	mb=$(($(stat -c %s "$file") / 1048576))
	tls=$({ "$work/tlsgate" pcap --format json "$file" 2>/dev/null || true; } | tail -1 | grep -o '"tls":[0-9]*' | cut -d: -f2)
	read -r tg_wall tg_rss < <(measure "$work/tlsgate" pcap --format json "$file")
	read -r ts_wall ts_rss < <(measure tshark -r "$file" -Y "tls.handshake or tls.alert_message" -T fields \
		-e frame.time_relative -e ip.src -e tcp.srcport -e ip.dst -e tcp.dstport \
		-e tls.handshake.type -e tls.alert_message.level -e tls.alert_message.desc \
		-e tls.handshake.extensions_server_name -e tls.handshake.version -e tls.handshake.ciphersuite \
		-e tls.handshake.certificate_length)
	tg_mbs=$(awk -v m="$mb" -v t="$tg_wall" 'BEGIN { printf "%.1f", m / t }')
	ts_mbs=$(awk -v m="$mb" -v t="$ts_wall" 'BEGIN { printf "%.1f", m / t }')
	ratio=$(awk -v a="$ts_wall" -v b="$tg_wall" 'BEGIN { printf "%.1f", a / b }')
	echo "${mb} MB, ${tls} TLS connections:"
	echo "  tlsgate pcap --format json: ${tg_wall} s, ${tg_mbs} MB/s, peak RSS $((tg_rss / 1024)) MB"
	echo "  tshark -T fields:           ${ts_wall} s, ${ts_mbs} MB/s, peak RSS $((ts_rss / 1024)) MB"
	echo "  tlsgate is ${ratio}x tshark's throughput"
	rm -f "$file"
done
