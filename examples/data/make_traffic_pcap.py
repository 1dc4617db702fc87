#!/usr/bin/env python3
"""Writes examples/data/traffic.pcap, the main job's capture: 16 Ethernet frames (IPv4 TCP, UDP and
ICMP from three sources, one IPv6 and one ARP frame), built byte by byte with correct IPv4 header
checksums and fixed timestamps, so the file is the same on every run.

    python3 examples/data/make_traffic_pcap.py [OUT]   (default: traffic.pcap beside this script)
"""
import os
import struct
import sys

DST_MAC = bytes.fromhex("020000000001")
SRC_MAC = bytes.fromhex("020000000002")


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ident):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64, proto, 0,
                      bytes(src), bytes(dst))
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return DST_MAC + SRC_MAC + struct.pack("!H", 0x0800) + hdr + payload


def tcp(sport, dport, flags, data=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 65535, 0, 0) + data


def udp(sport, dport, data):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def icmp_echo(seq):
    body = struct.pack("!BBHHH", 8, 0, 0, 0x1234, seq) + b"ping" * 8
    return body[:2] + struct.pack("!H", checksum(body)) + body[4:]


A, B, C, SERVER = (10, 0, 0, 1), (10, 0, 0, 2), (192, 168, 1, 7), (10, 0, 0, 100)

frames = [
    ipv4(A, SERVER, 6, tcp(40000, 80, 0x02), 1),                       # SYN
    ipv4(A, SERVER, 6, tcp(40000, 80, 0x10), 2),                       # ACK
    ipv4(A, SERVER, 6, tcp(40000, 80, 0x18, b"GET / HTTP/1.0\r\n\r\n"), 3),
    ipv4(B, SERVER, 17, udp(5353, 53, b"\x12\x34" + b"\0" * 10 + b"\x07example\x03com\0"), 4),
    ipv4(B, SERVER, 17, udp(5353, 53, b"\x12\x35" + b"\0" * 10 + b"\x07example\x03org\0"), 5),
    ipv4(C, SERVER, 1, icmp_echo(1), 6),
    ipv4(C, SERVER, 1, icmp_echo(2), 7),
    ipv4(A, SERVER, 6, tcp(40000, 80, 0x11), 8),                       # FIN
    ipv4(B, SERVER, 6, tcp(40001, 443, 0x02), 9),
    ipv4(C, SERVER, 17, udp(123, 123, b"\x23" + b"\0" * 47), 10),      # NTP
    ipv4(A, SERVER, 17, udp(40002, 514, b"<13>bpfbox: hello"), 11),    # syslog
    ipv4(C, SERVER, 1, icmp_echo(3), 12),
    # IPv6 (passes uncounted): a minimal header with no payload
    DST_MAC + SRC_MAC + struct.pack("!H", 0x86DD) +
    struct.pack("!IHBB", 6 << 28, 0, 59, 64) + bytes(15) + b"\1" + bytes(15) + b"\2",
    # ARP request (passes uncounted)
    b"\xff" * 6 + SRC_MAC + struct.pack("!H", 0x0806) +
    struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + SRC_MAC + bytes(A) + bytes(6) + bytes(SERVER),
    ipv4(B, SERVER, 6, tcp(40001, 443, 0x10), 13),
    ipv4(A, SERVER, 6, tcp(40000, 80, 0x10), 14),
]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "traffic.pcap")
    with open(out, "wb") as f:
        # pcap global header: magic, v2.4, GMT offset 0, accuracy 0, snaplen, LINKTYPE_ETHERNET
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", 1767225600 + i, 1000 * i, len(frame), len(frame)))
            f.write(frame)


if __name__ == "__main__":
    main()
