"""A stand-in for SSM in front of the local emulator: moto 5.2.5 has no
DescribeInstanceInformation and cannot register managed instances, so this answers
that call with every asked instance Online and passes every other request on to the
emulator as it is. scripts/test points the AWS backend's SSM at it
(AWS_ENDPOINT_URL_SSM) for the end-to-end replay, whose promotion first checks that
the candidate's SSM agent is Online.

    python scripts/ssm-agents-online.py EMULATOR_URL PORT_FILE

It listens on a free port of 127.0.0.1 and writes that port to PORT_FILE.
"""
import http.server
import json
import sys
import urllib.error
import urllib.request

EMULATOR, PORT_FILE = sys.argv[1].rstrip("/"), sys.argv[2]


class StandIn(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.headers.get("x-amz-target", "").endswith("DescribeInstanceInformation"):
            asked = json.loads(body or b"{}").get("Filters", [{}])[0].get("Values", [])
            answer = json.dumps({"InstanceInformationList": [
                {"InstanceId": i, "PingStatus": "Online"} for i in asked]}).encode()
            self.reply(200, {"content-type": "application/x-amz-json-1.1"}, answer)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        request = urllib.request.Request(EMULATOR + self.path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                self.reply(r.status, dict(r.headers), r.read())
        except urllib.error.HTTPError as e:
            self.reply(e.code, dict(e.headers), e.read())

    def reply(self, status, headers, body):
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
with open(PORT_FILE, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
