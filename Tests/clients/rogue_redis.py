#!/usr/bin/env python3
"""A rogue pair for the Sentinel tests: a "sentinel" that names a "master", and that master, which
records every byte it receives (it answers +OK to anything, as a trap would).

usage: rogue_redis.py SENTINEL_PORT MASTER_PORT RECORD_DIR
Writes RECORD_DIR/rogue-sentinel.bytes and RECORD_DIR/rogue-master.bytes as data arrives.
"""
import os
import socket
import sys
import threading


def resp_array(items):
    out = b"*%d\r\n" % len(items)
    for item in items:
        out += b"$%d\r\n%s\r\n" % (len(item), item)
    return out


def serve(port, record_path, answer):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(16)
    open(record_path, "wb").close()
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn, record_path, answer), daemon=True).start()


def handle(conn, record_path, answer):
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            with open(record_path, "ab") as f:
                f.write(data)
            # One answer per command: count the RESP arrays in this read (good enough for a trap).
            for _ in range(max(1, data.count(b"*"))):
                conn.sendall(answer(data))


def main():
    sentinel_port, master_port, record_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rogue_master = resp_array([b"127.0.0.1", str(master_port).encode()])

    def sentinel_answer(data):
        return rogue_master if b"get-master-addr-by-name" in data else b"+OK\r\n"

    threading.Thread(target=serve, args=(sentinel_port, os.path.join(record_dir, "rogue-sentinel.bytes"), sentinel_answer),
                     daemon=True).start()
    serve(master_port, os.path.join(record_dir, "rogue-master.bytes"), lambda data: b"+OK\r\n")


if __name__ == "__main__":
    main()
