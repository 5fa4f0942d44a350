#!/bin/sh
# Starts this example's backend and stays in the foreground until Ctrl-C (or
# SIGTERM), which stops it:
#
#   127.0.0.1:18347  greets each connection with one line and keeps it open
set -eu
echo "backend: 127.0.0.1:18347"
echo "Ctrl-C stops the server"
exec python3 -c '
import socket
listener = socket.create_server(("127.0.0.1", 18347))
open_connections = []  # kept open until the client (or snigate) closes them
while True:
    conn, _ = listener.accept()
    conn.sendall(b"hello from the backend\n")
    open_connections.append(conn)'
