// Package pcapfile reads pcap and pcapng captures as a stream of packets.
//
// [NewReader] recognises the format from the first bytes of its input:
//
//   - pcap, as tcpdump -w writes it: either byte order, microsecond or
//     nanosecond timestamps (magic 0xa1b2c3d4 or 0xa1b23c4d), and the
//     "modified" (Kuznetzov) variant with its longer record headers;
//   - pcapng, as dumpcap and editcap write it: several sections, each in
//     either byte order; several interfaces per section, each with its own
//     link type, snapshot length, timestamp resolution (if_tsresol) and
//     offset (if_tsoffset); Enhanced, Simple and obsolete Packet Blocks. Name resolution, interface statistics, custom and
//     unknown blocks are skipped. Decryption Secrets Blocks (editcap
//     --inject-secrets) are kept and returned by [Secrets];
//   - either of them compressed with gzip, as Wireshark writes .pcap.gz.
//
// Reading streams: memory does not grow with the file, and
// [Packet.Data] points into the reader's buffer until the next call to
// Next. Every length read from the file is checked against the file's own
// structure and against [MaxPacketLen] and [MaxBlockLen] before anything is
// allocated or read, so a corrupted file yields an error, never a panic or
// an allocation the size of a garbage number.
//
// Errors wrap [ErrNotCapture] (the input is not a capture at all),
// [ErrTruncated] (the file ends inside a record: typically tcpdump was
// killed, or the file was cut when copied) or [ErrMalformed] (a record
// contradicts the format). Packets read before such an error are good;
// callers can keep the partial result and report the error beside it.
//
// Formats: pcap is draft-ietf-opsawg-pcap, pcapng draft-ietf-opsawg-pcapng,
// link types the tcpdump.org LINKTYPE_ registry.
package pcapfile
