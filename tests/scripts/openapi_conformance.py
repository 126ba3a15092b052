#!/usr/bin/env python3
"""OpenAPI conformance of the running service.

usage: openapi_conformance.py TLFLOW_BINARY api/openapi.yaml

1. The route table the binary serves (`tlflow --list-routes`) equals the set
   of (method, path) operations in the spec: nothing undocumented answers,
   nothing documented is missing.
2. Starts tlflow (ephemeral, loopback, with an API token) and calls every
   documented operation with valid and invalid input; every answer's status
   must be documented for that operation, its body must validate against the
   documented schema and its documented headers must be present.
3. Every other method on every documented path answers 405 with the error
   object and an Allow header naming exactly the documented methods, plus
   HEAD where GET is documented and OPTIONS (the server answers both).
4. A second instance with --auth-reads: reads without the token are 401,
   with a JWT lacking tlflow:read 403. Scopes (403) are checked in 2 with
   HS256 JWTs made here with the standard library.
Exits 77 (skipped) when python3-yaml or python3-jsonschema is missing.
"""
import base64
import copy
import hashlib
import hmac
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

try:
    import jsonschema
    import yaml
except ImportError as e:  # pragma: no cover
    print(f"SKIPPED: {e} (install python3-yaml and python3-jsonschema)")
    sys.exit(77)

METHODS = ["get", "put", "post", "delete", "patch", "head", "options"]
TOKEN = "conformance-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JWT_SECRET = "conformance-hs256-secret-0123456789abcdef"


def hs256_jwt(scope):
    """An HS256 JWT (standard library only) granting `scope`, valid 5 min."""
    def part(raw):
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    header = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = part(json.dumps({"scope": scope, "exp": int(time.time()) + 300}).encode())
    mac = hmac.new(JWT_SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{part(mac)}"


def jwt_auth(scope):
    return {"Authorization": f"Bearer {hs256_jwt(scope)}"}

failures = []


def fail(msg):
    failures.append(msg)
    print(f"FAIL: {msg}")


def load_spec(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def resolve(spec, node):
    """Inlines $ref and turns OpenAPI 3.0 `nullable` into JSON Schema."""
    if isinstance(node, list):
        return [resolve(spec, n) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return resolve(spec, target)
    out = {k: resolve(spec, v) for k, v in node.items() if k not in ("nullable", "example")}
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Service:
    def __init__(self, binary, extra_args=(), env=None, ephemeral=True):
        self.dir = tempfile.TemporaryDirectory(prefix="tlflow_openapi_")
        self.port = free_port()
        environment = {k: v for k, v in os.environ.items()
                       if not k.startswith("TLFLOW_") and k != "PORT"}
        environment.update(env or {})
        self.log = open(os.path.join(self.dir.name, "stderr.log"), "w+")
        self.proc = subprocess.Popen(
            [binary, "--host", "127.0.0.1", "--port", str(self.port),
             *(["--ephemeral"] if ephemeral else []), "--data-dir", os.path.join(self.dir.name, "data"), "--http-threads", "2",
             *extra_args],
            env=environment, stdout=self.log, stderr=self.log)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if self.call("GET", "/status")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.log.seek(0)
        log = self.log.read()
        self.stop()  # the process and the temp dir go, also on this failure
        raise RuntimeError("tlflow did not start: " + log)

    def call(self, method, path, body=None, headers=None, content_type="application/json"):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = dict(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode("utf-8")
            if content_type:
                h["Content-Type"] = content_type
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        payload = r.read()
        result = (r.status, {k.lower(): v for k, v in r.getheaders()}, payload)
        conn.close()
        return result

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        self.dir.cleanup()


def q(text):
    return urllib.parse.quote(text, safe="")


class Checker:
    def __init__(self, spec, service):
        self.spec = spec
        self.svc = service
        self.seen = {}  # (method, template) -> set of statuses

    def check(self, method, template, path, body=None, headers=None, expect=None,
              content_type="application/json"):
        status, hdrs, payload = self.svc.call(method, path, body, headers, content_type)
        key = (method, template)
        self.seen.setdefault(key, set()).add(status)
        where = f"{method} {path} -> {status}"
        if expect is not None and status != expect:
            fail(f"{where}: expected {expect}; body {payload[:200]!r}")
        op = self.spec["paths"][template][method.lower()]
        documented = op["responses"]
        if str(status) not in documented:
            fail(f"{where}: status not documented for {method} {template}")
            return status, hdrs, payload
        resp = resolve(self.spec, documented[str(status)])
        for name in resp.get("headers", {}):
            if name.lower() not in hdrs:
                fail(f"{where}: documented header {name} missing")
        content = resp.get("content", {})
        ctype = hdrs.get("content-type", "")
        if "application/json" in content:
            if not ctype.startswith("application/json"):
                fail(f"{where}: content-type {ctype}")
            try:
                doc = json.loads(payload)
            except ValueError:
                fail(f"{where}: body is not JSON: {payload[:200]!r}")
                return status, hdrs, payload
            schema = content["application/json"]["schema"]
            errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=str)
            for e in errors[:3]:
                fail(f"{where}: schema: {e.message} at {list(e.absolute_path)}")
            return status, hdrs, doc
        if "text/plain" in content and not any(ctype.startswith(t) for t in content):
            fail(f"{where}: content-type {ctype}")
        return status, hdrs, payload


def check_stream(c, template, path, headers=None, expect=None, upgrade=False):
    """A streamed route (it never ends by itself): the status, the headers,
    the first bytes; an error answer validated as c.check does."""
    sock = socket.create_connection(("127.0.0.1", c.svc.port), timeout=10)
    req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    for k, v in (headers or {}).items():
        req += f"{k}: {v}\r\n"
    if upgrade:
        req += ("Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
    sock.sendall((req + "\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    hdrs = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    key = ("GET", template)
    c.seen.setdefault(key, set()).add(status)
    where = f"GET {path} -> {status}"
    if expect is not None and status != expect:
        fail(f"{where}: expected {expect}")
    op = c.spec["paths"][template]["get"]
    if str(status) not in op["responses"]:
        fail(f"{where}: status not documented for GET {template}")
    elif 200 <= status < 300:
        content = resolve(c.spec, op["responses"][str(status)]).get("content", {})
        ctype = hdrs.get("content-type", "")
        if not any(ctype.startswith(t) for t in content):
            fail(f"{where}: content-type {ctype} not in {sorted(content)}")
    elif status >= 400:
        sock.settimeout(5)
        length = int(hdrs.get("content-length", "0"))
        while len(rest) < length:
            chunk = sock.recv(4096)
            if not chunk:
                break
            rest += chunk
        schema = resolve(c.spec, op["responses"][str(status)])["content"]["application/json"]["schema"]
        for e in jsonschema.Draft7Validator(resolve(c.spec, schema)).iter_errors(json.loads(rest)):
            fail(f"{where}: schema: {e.message}")
    sock.close()
    return status


def spec_routes(spec):
    return {(m.upper(), p) for p, item in spec["paths"].items() for m in item if m in METHODS}


def main():
    binary, spec_path = sys.argv[1], sys.argv[2]
    spec = load_spec(spec_path)
    error_schema = resolve(spec, spec["components"]["schemas"]["Error"])

    # 1. The served route table equals the documented one.
    out = subprocess.run([binary, "--list-routes"], check=True, capture_output=True, text=True).stdout
    served = {tuple(line.split(" ", 1)) for line in out.splitlines() if line.strip()}
    documented = spec_routes(spec)
    for r in sorted(served - documented):
        fail(f"served but not documented: {r[0]} {r[1]}")
    for r in sorted(documented - served):
        fail(f"documented but not served: {r[0]} {r[1]}")

    # 2. Every operation, valid and invalid input.
    svc = Service(binary, env={"TLFLOW_API_TOKEN": TOKEN, "TLFLOW_JWT_SECRET": JWT_SECRET})
    try:
        c = Checker(spec, svc)
        odd = "o a/\u00e9\"..'"
        c.check("PUT", "/vertices/{id}", "/vertices/" + q("oa:a"),
                {"properties": {"location": "Madrid", "n": 1}}, AUTH, 201)
        c.check("PUT", "/vertices/{id}", "/vertices/" + q("oa:a"),
                {"properties": {"n": None, "flag": True}}, AUTH, 200)
        c.check("PUT", "/vertices/{id}", "/vertices/" + q("oa:b"), None, AUTH, 201)
        c.check("PUT", "/vertices/{id}", "/vertices/" + q(odd), None, AUTH, 201)
        c.check("PUT", "/vertices/{id}", "/vertices/" + q("oa:x"), {"properties": [1]}, AUTH, 400)
        c.check("PUT", "/vertices/{id}", "/vertices/" + q("oa:x"), "{", AUTH, 400)
        c.check("PUT", "/vertices/{id}", "/vertices/" + q("oa:x"), None, None, 401)
        c.check("PUT", "/vertices/{id}", "/vertices/" + q("oa:x"), "x" * ((1 << 20) + 1), AUTH, 413)
        c.check("PUT", "/vertices/{id}", "/vertices/" + q("oa:x"), "{}", AUTH, 415,
                content_type="text/plain")
        c.check("PUT", "/vertices/{id}", "/vertices/" + "a" * 257, None, AUTH, 400)

        c.check("POST", "/edges", "/edges", {"from": "oa:a", "to": "oa:b"}, AUTH, 201)
        c.check("POST", "/edges", "/edges", {"from": "oa:a", "to": "oa:b"}, AUTH, 200)
        c.check("POST", "/edges", "/edges",
                {"from": "oa:b", "to": odd, "kind": "mention", "properties": {"w": 2.5}}, AUTH, 201)
        c.check("POST", "/edges", "/edges", {"from": "oa:a"}, AUTH, 400)
        c.check("POST", "/edges", "/edges", {"from": "oa:a", "to": "oa:b"}, None, 401)
        c.check("POST", "/edges", "/edges", "x" * ((1 << 20) + 1), AUTH, 413)
        c.check("POST", "/edges", "/edges", "{}", AUTH, 415, content_type="application/xml")

        c.check("GET", "/status", "/status", expect=200)
        c.check("GET", "/metrics", "/metrics", expect=200)
        # The web view: open, an ETag, 304 when it matches, 404 for no such file.
        _, hdrs, _ = c.check("GET", "/", "/", expect=200)
        c.check("GET", "/", "/", headers={"If-None-Match": hdrs.get("etag", "")}, expect=304)
        c.check("GET", "/ui/{file}", "/ui/app.js", expect=200)
        c.check("GET", "/ui/{file}", "/ui/no-such-file.js", expect=404)
        c.check("GET", "/ui/{dir}/{file}", "/ui/vendor/sigma.min.js", expect=200)
        c.check("GET", "/ui/{dir}/{file}", "/ui/vendor/nothing.js", expect=404)
        # An ephemeral store has nothing to back up; the durable one below does.
        c.check("GET", "/backup", "/backup", None, AUTH, 501)
        _, _, page = c.check("GET", "/vertices", "/vertices?limit=1", expect=200)
        if isinstance(page, dict) and page.get("next_cursor"):
            c.check("GET", "/vertices", "/vertices?limit=1&cursor=" + q(page["next_cursor"]), expect=200)
        c.check("GET", "/vertices", "/vertices?prefix=oa%3A", expect=200)
        c.check("GET", "/vertices", "/vertices?limit=abc", expect=400)
        c.check("GET", "/vertices", "/vertices?cursor=%21%21", expect=400)
        c.check("GET", "/vertices/count", "/vertices/count", expect=200)
        c.check("GET", "/vertices/{id}", "/vertices/" + q("oa:a"), expect=200)
        c.check("GET", "/vertices/{id}", "/vertices/" + q(odd), expect=200)
        c.check("GET", "/vertices/{id}", "/vertices/" + q("oa:none"), expect=404)
        c.check("GET", "/vertices/{id}", "/vertices/%FF", expect=400)
        c.check("GET", "/vertices/{id}/neighbors", "/vertices/" + q("oa:b") + "/neighbors", expect=200)
        c.check("GET", "/vertices/{id}/neighbors",
                "/vertices/" + q("oa:b") + "/neighbors?direction=in&kind=link&limit=5", expect=200)
        c.check("GET", "/vertices/{id}/neighbors", "/vertices/" + q("oa:b") + "/neighbors?direction=up",
                expect=400)
        c.check("GET", "/vertices/{id}/neighbors", "/vertices/" + q("oa:none") + "/neighbors", expect=404)
        _, _, page = c.check("GET", "/edges", "/edges?limit=1", expect=200)
        if isinstance(page, dict) and page.get("next_cursor"):
            c.check("GET", "/edges", "/edges?limit=1&cursor=" + q(page["next_cursor"]), expect=200)
        c.check("GET", "/edges", "/edges?from=" + q("oa:a") + "&to=" + q("oa:b") + "&kind=link", expect=200)
        c.check("GET", "/edges", "/edges?kind=hug", expect=400)
        c.check("GET", "/edges/count", "/edges/count", expect=200)
        c.check("GET", "/paths/{from}/{to}", "/paths/" + q("oa:a") + "/" + q(odd), expect=200)
        c.check("GET", "/paths/{from}/{to}",
                "/paths/" + q(odd) + "/" + q("oa:a") + "?directed=true&max_depth=3", expect=404)
        c.check("GET", "/paths/{from}/{to}", "/paths/" + q("oa:a") + "/" + q("oa:b") + "?max_depth=-1",
                expect=400)
        c.check("GET", "/flows", "/flows?by=location&limit=10", expect=200)
        c.check("GET", "/flows", "/flows?by=weather", expect=400)
        # Analytics (docs/analytics.md): over the little graph made above.
        c.check("GET", "/rankings", "/rankings", expect=200)
        c.check("GET", "/rankings", "/rankings?by=betweenness&limit=5", expect=200)
        c.check("GET", "/rankings", "/rankings?by=in_weight&kind=link,mention&since=2020-01-01", expect=200)
        c.check("GET", "/rankings", "/rankings?by=charisma", expect=400)
        c.check("GET", "/rankings", "/rankings?until=never", expect=400)
        c.check("GET", "/graph", "/graph", expect=200)
        c.check("GET", "/graph", "/graph?by=betweenness&limit=2", expect=200)
        c.check("GET", "/graph", "/graph?by=in_weight&kind=link,mention&since=2020-01-01", expect=200)
        c.check("GET", "/graph", "/graph?by=charisma", expect=400)
        c.check("GET", "/graph", "/graph?limit=10001", expect=400)
        _, _, page = c.check("GET", "/communities", "/communities?limit=1", expect=200)
        if page.get("next_cursor"):
            c.check("GET", "/communities", "/communities?limit=1&cursor=" + q(page["next_cursor"]), expect=200)
        c.check("GET", "/communities", "/communities?algorithm=label_propagation&seed=3", expect=200)
        c.check("GET", "/communities", "/communities?algorithm=magic", expect=400)
        c.check("GET", "/vertices/{id}/community", "/vertices/" + q("oa:a") + "/community", expect=200)
        c.check("GET", "/vertices/{id}/community", "/vertices/" + q("oa:none") + "/community", expect=404)
        c.check("GET", "/vertices/{id}/community", "/vertices/" + q("oa:a") + "/community?seed=x", expect=400)
        c.check("GET", "/vertices/{id}/ego", "/vertices/" + q("oa:a") + "/ego?radius=2", expect=200)
        c.check("GET", "/vertices/{id}/ego", "/vertices/" + q("oa:a") + "/ego?radius=3", expect=400)
        c.check("GET", "/vertices/{id}/ego",
                "/vertices/" + q("oa:a") + "/ego?radius=2&hashtag=x&since=2020-01-01&platform=twitter", expect=200)
        c.check("GET", "/vertices/{id}/ego", "/vertices/" + q("oa:a") + "/ego?until=never", expect=400)
        c.check("GET", "/vertices/{id}/ego", "/vertices/" + q("oa:none") + "/ego", expect=404)
        _, _, page = c.check("GET", "/search", "/search?q=oa&limit=1", expect=200)
        if page.get("next_cursor"):
            c.check("GET", "/search", "/search?q=oa&limit=1&cursor=" + q(page["next_cursor"]), expect=200)
        c.check("GET", "/search", "/search", expect=400)
        c.check("GET", "/summary", "/summary", expect=200)
        c.check("GET", "/summary", "/summary?min_weight=2&platform=twitter", expect=200)
        c.check("GET", "/summary", "/summary?min_weight=-2", expect=400)

        _, hdrs, _ = c.check("DELETE", "/edges/{from}/{to}",
                             "/edges/" + q("oa:a") + "/" + q("oa:b") + "?kind=link", None, AUTH, 200)
        ticket = hdrs.get("x-undo-ticket", "")
        c.check("DELETE", "/edges/{from}/{to}", "/edges/" + q("oa:a") + "/" + q("oa:b"), None, AUTH, 404)
        c.check("DELETE", "/edges/{from}/{to}", "/edges/" + q("oa:a") + "/%00", None, AUTH, 400)
        c.check("DELETE", "/edges/{from}/{to}", "/edges/" + q("oa:a") + "/" + q("oa:b"), None, None, 401)
        c.check("POST", "/undo/{ticket}", "/undo/" + ticket, None, AUTH, 200)
        c.check("POST", "/undo/{ticket}", "/undo/" + ticket, None, AUTH, 404)
        c.check("POST", "/undo/{ticket}", "/undo/" + ticket, None, None, 401)
        _, hdrs, _ = c.check("DELETE", "/vertices/{id}", "/vertices/" + q("oa:b"), None, AUTH, 200)
        c.check("DELETE", "/vertices/{id}", "/vertices/" + q("oa:b"), None, AUTH, 404)
        c.check("DELETE", "/vertices/{id}", "/vertices/%C2%80", None, AUTH, 400)
        c.check("DELETE", "/vertices/{id}", "/vertices/" + q("oa:a"), None, None, 401)
        c.check("POST", "/undo/{ticket}", "/undo/" + hdrs.get("x-undo-ticket", ""), None, AUTH, 200)

        # Legacy routes.
        c.check("POST", "/vertices/add/{v}", "/vertices/add/" + q("lg:a"), None, AUTH, 201)
        c.check("POST", "/vertices/add/{v}", "/vertices/add/" + q("lg:a"), None, AUTH, 200)
        c.check("POST", "/vertices/add/{v}", "/vertices/add/" + "b" * 300, None, AUTH, 400)
        c.check("POST", "/vertices/add/{v}", "/vertices/add/" + q("lg:a"), None, None, 401)
        c.check("POST", "/vertices/add/{v}", "/vertices/add/" + q("lg:a"), "x" * ((1 << 20) + 1), AUTH, 413)
        c.check("POST", "/vertices/add/{v}", "/vertices/add/" + q("lg:a"), "{}", AUTH, 415,
                content_type="text/html")
        c.check("POST", "/aristas/add/{v1},{v2}", "/aristas/add/" + q("lg:a") + "," + q("lg,b"), None, AUTH, 201)
        c.check("POST", "/aristas/add/{v1},{v2}", "/aristas/add/" + q("lg:a") + "," + q("lg,b"), None, AUTH, 200)
        c.check("POST", "/aristas/add/{v1},{v2}", "/aristas/add/%01,b", None, AUTH, 400)
        c.check("POST", "/aristas/add/{v1},{v2}", "/aristas/add/a,b", None, None, 401)
        c.check("GET", "/vertices/find_path/{v1}/{v2}",
                "/vertices/find_path/" + q("lg:a") + "/" + q("lg,b"), expect=200)
        c.check("GET", "/vertices/find_path/{v1}/{v2}",
                "/vertices/find_path/" + q("lg:a") + "/" + q("oa:none"), expect=404)
        c.check("GET", "/vertices/find_path/{v1}/{v2}",
                "/vertices/find_path/" + q("lg:a") + "/x?max_depth=99", expect=400)
        c.check("POST", "/vertices/cuenta_vertices", "/vertices/cuenta_vertices", expect=200)
        c.check("DELETE", "/aristas/remove/{v1}/{v2}",
                "/aristas/remove/" + q("lg:a") + "/" + q("lg,b"), None, AUTH, 200)
        c.check("DELETE", "/aristas/remove/{v1}/{v2}",
                "/aristas/remove/" + q("lg:a") + "/" + q("lg,b"), None, AUTH, 404)
        c.check("DELETE", "/aristas/remove/{v1}/{v2}", "/aristas/remove/%FF/b", None, AUTH, 400)
        c.check("DELETE", "/aristas/remove/{v1}/{v2}", "/aristas/remove/a/b", None, None, 401)
        c.check("DELETE", "/vertices/remove/{v}", "/vertices/remove/" + q("lg:a"), None, AUTH, 200)
        c.check("DELETE", "/vertices/remove/{v}", "/vertices/remove/" + q("lg:a"), None, AUTH, 404)
        c.check("DELETE", "/vertices/remove/{v}", "/vertices/remove/%0A", None, AUTH, 400)
        c.check("DELETE", "/vertices/remove/{v}", "/vertices/remove/x", None, None, 401)

        # Tracking.
        c.check("GET", "/tracking", "/tracking", expect=200)
        c.check("PUT", "/tracking", "/tracking", {"hashtags": ["#Rust", "cpp"], "keywords": ["graph db"]},
                AUTH, 200)
        c.check("PUT", "/tracking", "/tracking", {"hashtags": "rust"}, AUTH, 400)
        c.check("PUT", "/tracking", "/tracking", {"hashtags": ["no spaces"]}, AUTH, 400)
        c.check("PUT", "/tracking", "/tracking", {}, None, 401)
        c.check("PUT", "/tracking", "/tracking", "x" * ((1 << 20) + 1), AUTH, 413)
        c.check("PUT", "/tracking", "/tracking", "{}", AUTH, 415, content_type="text/plain")
        c.check("POST", "/tracking/hashtags", "/tracking/hashtags", {"hashtag": "#Graphs"}, AUTH, 201)
        c.check("POST", "/tracking/hashtags", "/tracking/hashtags", {"hashtag": "graphs"}, AUTH, 200)
        c.check("POST", "/tracking/hashtags", "/tracking/hashtags", {"hashtag": ""}, AUTH, 400)
        c.check("POST", "/tracking/hashtags", "/tracking/hashtags", {"hashtag": "x"}, None, 401)
        c.check("POST", "/tracking/hashtags", "/tracking/hashtags", "x" * ((1 << 20) + 1), AUTH, 413)
        c.check("POST", "/tracking/hashtags", "/tracking/hashtags", "{}", AUTH, 415,
                content_type="text/plain")
        # The hashtag limit: a full set answers 409 limit_reached, a PUT over it 400.
        full = ["t%d" % (10000 + i) for i in range(1000)]
        c.check("PUT", "/tracking", "/tracking", {"hashtags": full}, AUTH, 200)
        c.check("POST", "/tracking/hashtags", "/tracking/hashtags", {"hashtag": "onemore"}, AUTH, 409)
        c.check("PUT", "/tracking", "/tracking", {"hashtags": full + ["onemore"]}, AUTH, 400)
        c.check("PUT", "/tracking", "/tracking", {"hashtags": ["graphs"]}, AUTH, 200)
        c.check("DELETE", "/tracking/hashtags/{tag}", "/tracking/hashtags/graphs", None, AUTH, 200)
        c.check("DELETE", "/tracking/hashtags/{tag}", "/tracking/hashtags/graphs", None, AUTH, 404)
        c.check("DELETE", "/tracking/hashtags/{tag}", "/tracking/hashtags/x", None, None, 401)

        # Exports: only the JSON format has a body schema to validate here
        # (the others are checked by tests/scripts/export_check.py).
        c.check("GET", "/export", "/export?format=json", expect=200)
        c.check("GET", "/export", "/export?format=json&kind=link,mention&min_weight=1", expect=200)
        c.check("GET", "/export", "/export?format=xml", expect=400)
        c.check("GET", "/export", "/export?format=json&include=pagerank,community", expect=200)
        c.check("GET", "/export", "/export?format=json&include=colour", expect=400)
        _, _, job = c.check("POST", "/exports", "/exports",
                            {"format": "json", "kind": ["link"], "include": "pagerank"}, AUTH, 202)
        job_id = job.get("id", "") if isinstance(job, dict) else ""
        for _ in range(200):
            status, _, payload = svc.call("GET", "/exports/" + job_id)
            if status != 200 or json.loads(payload).get("state") not in ("queued", "running"):
                break
            time.sleep(0.05)
        c.check("GET", "/exports/{id}", "/exports/" + job_id, expect=200)
        c.check("GET", "/exports/{id}/file", "/exports/" + job_id + "/file", expect=200)
        c.check("GET", "/exports/{id}", "/exports/" + "0" * 32, expect=404)
        c.check("GET", "/exports/{id}/file", "/exports/" + "0" * 32 + "/file", expect=404)
        c.check("POST", "/exports", "/exports", {"format": "xml"}, AUTH, 400)
        c.check("POST", "/exports", "/exports", {"format": "json"}, None, 401)
        c.check("POST", "/exports", "/exports", "x" * ((1 << 20) + 1), AUTH, 413)
        c.check("POST", "/exports", "/exports", "{}", AUTH, 415, content_type="text/plain")
        c.check("DELETE", "/exports/{id}", "/exports/" + job_id, None, AUTH, 204)
        c.check("DELETE", "/exports/{id}", "/exports/" + job_id, None, AUTH, 404)
        c.check("DELETE", "/exports/{id}", "/exports/" + job_id, None, None, 401)
        # The changefeed and Gephi streams.
        check_stream(c, "/changes", "/changes?kind=mention&around=" + q("oa:a") + "&radius=2", expect=200)
        check_stream(c, "/changes", "/changes", headers={"Last-Event-ID": "1.0"}, expect=200)
        check_stream(c, "/changes", "/changes?after=x", expect=400)
        check_stream(c, "/changes/ws", "/changes/ws?kind=reply", expect=101, upgrade=True)
        check_stream(c, "/changes/ws", "/changes/ws?radius=5", expect=400, upgrade=True)
        check_stream(c, "/gephi", "/gephi?kind=mention", expect=200)
        check_stream(c, "/gephi", "/gephi?platform=myspace", expect=400)

        # Scopes: a valid JWT lacking what the route needs is 403.
        reader, writer = jwt_auth("tlflow:read"), jwt_auth("tlflow:write")
        for method, template, path, body in (
                ("PUT", "/vertices/{id}", "/vertices/x", None),
                ("DELETE", "/vertices/{id}", "/vertices/x", None),
                ("POST", "/edges", "/edges", {"from": "a", "to": "b"}),
                ("DELETE", "/edges/{from}/{to}", "/edges/a/b", None),
                ("POST", "/undo/{ticket}", "/undo/abc", None),
                ("POST", "/vertices/add/{v}", "/vertices/add/x", None),
                ("POST", "/aristas/add/{v1},{v2}", "/aristas/add/a,b", None),
                ("DELETE", "/vertices/remove/{v}", "/vertices/remove/x", None),
                ("DELETE", "/aristas/remove/{v1}/{v2}", "/aristas/remove/a/b", None),
                ("POST", "/exports", "/exports", {"format": "json"}),
                ("DELETE", "/exports/{id}", "/exports/" + "0" * 32, None)):
            c.check(method, template, path, body, reader, 403)
        c.check("PUT", "/vertices/{id}", "/vertices/" + q("oa:jwt"), None, writer, 201)
        for method, template, path, body in (
                ("PUT", "/tracking", "/tracking", {"hashtags": ["x"]}),
                ("POST", "/tracking/hashtags", "/tracking/hashtags", {"hashtag": "x"}),
                ("DELETE", "/tracking/hashtags/{tag}", "/tracking/hashtags/x", None)):
            c.check(method, template, path, body, writer, 403)
        c.check("POST", "/tracking/hashtags", "/tracking/hashtags", {"hashtag": "jwt"},
                jwt_auth("tlflow:admin"), 201)
        c.check("PUT", "/vertices/{id}", "/vertices/x", None,
                {"Authorization": "Bearer " + hs256_jwt("tlflow:write")[:-2]}, 401)

        # GET /backup needs a durable store: a second service, same checker.
        durable = Service(binary, env={"TLFLOW_API_TOKEN": TOKEN, "TLFLOW_JWT_SECRET": JWT_SECRET},
                          ephemeral=False)
        try:
            c.svc = durable
            status, hdrs, payload = c.check("GET", "/backup", "/backup", None, AUTH, 200)
            if status == 200 and not (hdrs.get("content-type", "").startswith("application/octet-stream")
                                      and payload[:8] == b"TLFBKUP1"):
                fail(f"GET /backup: not a TLFBKUP1 octet stream: {hdrs.get('content-type')} {payload[:8]!r}")
            c.check("GET", "/backup", "/backup", None, None, 401)
            c.check("GET", "/backup", "/backup", None, writer, 403)
        finally:
            c.svc = svc
            durable.stop()

        # Coverage: every operation answered 2xx at least once, and every
        # operation that documents a 4xx other than 401/403/409 answered one.
        for key in sorted(documented):
            statuses = c.seen.get(key, set())
            if not any(200 <= s < 300 or s == 101 for s in statuses):
                fail(f"{key[0]} {key[1]}: no successful call exercised")
            op = spec["paths"][key[1]][key[0].lower()]
            wanted_4xx = {int(s) for s in op["responses"] if s.startswith("4")} - {401, 403, 409}
            if wanted_4xx and not (statuses & wanted_4xx):
                fail(f"{key[0]} {key[1]}: no documented 4xx exercised")

        # 3. Undocumented methods on documented paths are 405 with Allow.
        samples = {
            "/vertices/{id}": "/vertices/x", "/vertices/{id}/neighbors": "/vertices/x/neighbors",
            "/edges/{from}/{to}": "/edges/a/b", "/paths/{from}/{to}": "/paths/a/b",
            "/undo/{ticket}": "/undo/abc", "/vertices/add/{v}": "/vertices/add/x",
            "/aristas/add/{v1},{v2}": "/aristas/add/a,b", "/vertices/remove/{v}": "/vertices/remove/x",
            "/aristas/remove/{v1}/{v2}": "/aristas/remove/a/b",
            "/vertices/find_path/{v1}/{v2}": "/vertices/find_path/a/b",
            "/tracking/hashtags/{tag}": "/tracking/hashtags/x",
            "/exports/{id}": "/exports/x", "/exports/{id}/file": "/exports/x/file",
            "/ui/{file}": "/ui/app.js", "/ui/{dir}/{file}": "/ui/vendor/sigma.min.js",
        }
        for template, item in spec["paths"].items():
            path = samples.get(template, template)
            allowed = {m.upper() for m in item if m in METHODS}
            for m in ("GET", "PUT", "POST", "DELETE", "PATCH"):
                if m in allowed:
                    continue
                status, hdrs, payload = svc.call(m, path, None, AUTH)
                if status != 405:
                    fail(f"{m} {path}: expected 405, got {status}")
                    continue
                allow = {a.strip() for a in hdrs.get("allow", "").split(",") if a.strip()}
                implied = {"OPTIONS"} | ({"HEAD"} if "GET" in allowed else set())
                if allow != allowed | implied:
                    fail(f"{m} {path}: Allow {sorted(allow)} != documented {sorted(allowed)}")
                for e in jsonschema.Draft7Validator(error_schema).iter_errors(json.loads(payload)):
                    fail(f"{m} {path}: 405 body: {e.message}")
        for path in ("/nope", "/vertices/a/b/c/d", "/tracking-not", "/status/x"):
            status, _, payload = svc.call("GET", path)
            if status != 404:
                fail(f"GET {path}: expected 404, got {status}")
            for e in jsonschema.Draft7Validator(error_schema).iter_errors(json.loads(payload)):
                fail(f"GET {path}: 404 body: {e.message}")
    finally:
        svc.stop()

    # 4. --auth-reads: documented 401 on reads.
    svc = Service(binary, ["--auth-reads"], env={"TLFLOW_API_TOKEN": TOKEN, "TLFLOW_JWT_SECRET": JWT_SECRET})
    try:
        c = Checker(spec, svc)
        for template in ("/vertices", "/vertices/count", "/edges", "/edges/count", "/flows", "/metrics",
                         "/tracking"):
            c.check("GET", template, template, expect=401)
            c.check("GET", template, template, headers=jwt_auth("profile"), expect=403)
            c.check("GET", template, template, headers=jwt_auth("tlflow:read"), expect=200)
        for template in ("/changes", "/gephi"):
            check_stream(c, template, template, expect=401)
            check_stream(c, template, template, headers=jwt_auth("profile"), expect=403)
            check_stream(c, template, template, headers=jwt_auth("tlflow:read"), expect=200)
        check_stream(c, "/changes/ws", "/changes/ws", expect=401, upgrade=True)
        c.check("GET", "/status", "/status", expect=200)
        c.check("GET", "/vertices/count", "/vertices/count", headers=AUTH, expect=200)
    finally:
        svc.stop()

    if failures:
        print(f"{len(failures)} conformance failure(s)")
        return 1
    print(f"OpenAPI conformance: {len(documented)} operations, all documented and conforming")
    return 0


if __name__ == "__main__":
    sys.exit(main())
