"""A tiny HTTP proxy in front of moto_server that plays AWS throttling (moto never throttles).

Answers 400 ThrottlingException to the first N requests, then forwards; while the file FLAG exists it answers every
request with 503 / 400 ThrottlingException alternately. Usage: throttle_proxy.py LISTEN_PORT UPSTREAM_URL N FLAG
Prints "ready" when listening. Counts are written to FLAG.count.
"""
import http.server
import os
import sys
import threading
import urllib.request

PORT, UPSTREAM, FIRST, FLAG = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
lock = threading.Lock()
state = {"n": 0, "throttled": 0}
BODY = b'<Response><Errors><Error><Code>ThrottlingException</Code><Message>Rate exceeded</Message></Error>' \
       b'</Errors></Response>'


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            state["n"] += 1
            throttle = state["n"] <= FIRST or os.path.exists(FLAG)
            if throttle:
                state["throttled"] += 1
            with open(FLAG + ".count", "w") as f:
                f.write(f'{state["n"]} {state["throttled"]}\n')
        if throttle:
            self.send_response(503 if state["throttled"] % 2 == 0 else 400)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)
            return
        req = urllib.request.Request(UPSTREAM + self.path, data=body, method="POST")
        for k, v in self.headers.items():
            if k.lower() not in ("host", "content-length", "connection"):
                req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, headers, data = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, headers, data = e.code, e.headers, e.read()
        self.send_response(status)
        self.send_header("Content-Type", headers.get("Content-Type", "text/xml"))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print("ready", flush=True)
server.serve_forever()
