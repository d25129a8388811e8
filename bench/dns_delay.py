#!/usr/bin/env python3
"""bench/dns_delay.py — a DNS server on a loopback UDP port that answers
every query after a fixed delay, as a server across a real network would.

Answers an A query for any name under --zone with --address, any other
query type under the zone with an empty NOERROR answer (NODATA), and names
outside the zone with NXDOMAIN; each answer is sent --delay-ms after its
query arrived (the queries overlap: a burst of 1,000 is answered about
--delay-ms later, not 1,000 × --delay-ms). Standard library only.

Prints "port N" on stdout once bound (N is the port, useful with --port 0),
then serves until SIGTERM/SIGINT, and prints "answered N" at the end.
Usage: dns_delay.py [--port 0] [--delay-ms 20] [--zone bench.test] [--address 10.9.0.1]
"""
import argparse
import asyncio
import signal
import socket
import struct
import sys


def parse_question(msg):
    """(qname labels lowercased, qtype, end offset of the question) or None."""
    if len(msg) < 12:
        return None
    qdcount = struct.unpack_from("!H", msg, 4)[0]
    if qdcount != 1:
        return None
    i, labels = 12, []
    while True:
        if i >= len(msg):
            return None
        n = msg[i]
        i += 1
        if n == 0:
            break
        if n & 0xC0 or i + n > len(msg):
            return None  # no compression in a question we ask for
        labels.append(msg[i:i + n].decode("ascii", "replace").lower())
        i += n
    if i + 4 > len(msg):
        return None
    qtype = struct.unpack_from("!H", msg, i)[0]
    return labels, qtype, i + 4


def answer(msg, zone, addr):
    """The response to query msg (bytes), or None for a malformed one."""
    q = parse_question(msg)
    if q is None:
        return None
    labels, qtype, end = q
    qid, flags = struct.unpack_from("!HH", msg, 0)
    rd = flags & 0x0100
    in_zone = labels[-len(zone):] == zone if len(labels) >= len(zone) else False
    rcode = 0 if in_zone else 3  # NXDOMAIN outside the zone
    ancount = 1 if in_zone and qtype == 1 else 0
    hdr = struct.pack("!HHHHHH", qid, 0x8000 | 0x0400 | rd | 0x0080 | rcode, 1, ancount, 0, 0)  # QR AA RD RA
    out = hdr + msg[12:end]
    if ancount:
        out += struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + addr  # name → the question, A IN, TTL 60
    return out


class Server(asyncio.DatagramProtocol):
    def __init__(self, loop, delay, zone, addr):
        self.loop, self.delay, self.zone, self.addr = loop, delay, zone, addr
        self.answered = 0

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, peer):
        reply = answer(data, self.zone, self.addr)
        if reply is not None:
            self.loop.call_later(self.delay, self.send, reply, peer)

    def send(self, reply, peer):
        self.transport.sendto(reply, peer)
        self.answered += 1


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay-ms", type=float, default=20.0)
    ap.add_argument("--zone", default="bench.test")
    ap.add_argument("--address", default="10.9.0.1")
    a = ap.parse_args()
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)  # a burst of queries must not be dropped
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    sock.bind(("127.0.0.1", a.port))
    zone = [l for l in a.zone.lower().split(".") if l]
    transport, proto = await loop.create_datagram_endpoint(
        lambda: Server(loop, a.delay_ms / 1000.0, zone, socket.inet_aton(a.address)), sock=sock)
    stop = loop.create_future()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, lambda: stop.done() or stop.set_result(None))
    print(f"port {sock.getsockname()[1]}", flush=True)
    await stop
    transport.close()
    print(f"answered {proto.answered}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
