#!/usr/bin/env python3
"""A chain "node" that attacks the client's memory instead of answering.

usage: hostile_node.py MODE PORT RECORD_FILE
  headers  answers every POST with ~100 KB of headers (over the client's 64 KiB cap, under libcurl's own)
  body     answers every POST with a chunked body that never ends; RECORD_FILE gets the bytes sent
           before the client hung up
"""
import socket
import sys
import threading


def serve(mode, port, record):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(16)
    open(record, "w").close()
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn, mode, record), daemon=True).start()


def handle(conn, mode, record):
    sent = 0
    try:
        with conn:
            conn.recv(65536)            # the request (its size does not matter here)
            if mode == "headers":
                head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                head += b"".join(b"X-Filler-%04d: %s\r\n" % (i, b"f" * 80) for i in range(1100))
                conn.sendall(head + b"Content-Length: 2\r\n\r\n[]")
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"[" + b" " * 65534 + b"\n"
            framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
            while True:
                conn.sendall(framed)
                sent += len(chunk)
    except OSError:
        pass
    finally:
        if mode == "body":
            with open(record, "a") as f:
                f.write("%d\n" % sent)


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]), sys.argv[3])
