#!/usr/bin/env python3
"""TLS scan of the real edgefed-server (issue 9): starts the binary on
127.0.0.1:0 with a fresh certificate fleet, runs `sslscan --xml=-` against it
and asserts on the XML: only TLS 1.3 is enabled (SSLv2/3, TLS 1.0/1.1/1.2
refused), every accepted cipher is a TLS 1.3 AEAD suite of >= 128 bits, no
weak or anonymous cipher, no TLS compression or insecure renegotiation, and
the certificate shown is the configured one (subject, issuer, key). Prints a
one-line verdict. Every wait is bounded; the server is killed by its pid.

usage: sslscan_test.py SERVER_BIN SOURCE_DIR
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET


def fail(msg, log=""):
    print("FAIL: " + msg)
    if log:
        print("--- server log ---\n" + log[-4000:])
    sys.exit(1)


def main():
    server_bin, source_dir = sys.argv[1], sys.argv[2]
    sslscan = shutil.which("sslscan")
    if not sslscan:
        fail("sslscan is not installed (deploy/install-deps.sh installs it)")
    tmp = tempfile.mkdtemp(prefix="edgefed-sslscan-")
    proc = None
    try:
        pki = os.path.join(tmp, "pki")
        subprocess.run([os.path.join(source_dir, "deploy/certs/edgefed-certs"), "init", "--out", pki,
                        "--server-san", "127.0.0.1,localhost", "--agents", "1"],
                       check=True, stdout=subprocess.DEVNULL, timeout=60)
        port_file = os.path.join(tmp, "port")
        log_path = os.path.join(tmp, "server.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([server_bin, "--listen", "127.0.0.1:0", "--port-file", port_file,
                                     "--tls-cert", os.path.join(pki, "server.pem"),
                                     "--tls-key", os.path.join(pki, "server.key"),
                                     "--client-ca", os.path.join(pki, "ca.pem"),
                                     "--crl", os.path.join(pki, "crl.pem"),
                                     "--state-dir", os.path.join(tmp, "state"), "--model-init", "mlp:4-2",
                                     "--threads", "2", "--workers", "1", "--fsync-full=false"],
                                    stdout=log, stderr=log)
        port = 0
        deadline = time.time() + 20
        while time.time() < deadline and not port:
            if proc.poll() is not None:
                fail("server exited during start-up", open(log_path).read())
            try:
                port = int(open(port_file).read().strip() or 0)
            except (OSError, ValueError):
                time.sleep(0.05)
        if not port:
            fail("server did not write its port file in 20 s", open(log_path).read())

        scan = subprocess.run([sslscan, "--xml=-", "--no-colour", "--show-certificate",
                               "127.0.0.1:%d" % port], capture_output=True, timeout=180)
        root = ET.fromstring(scan.stdout[scan.stdout.find(b"<?xml"):])
        test = root.find("ssltest")
        if test is None:
            fail("no <ssltest> in sslscan output:\n" + scan.stdout.decode(errors="replace"))

        problems = []
        protocols = {(p.get("type"), p.get("version")): p.get("enabled") for p in test.findall("protocol")}
        if protocols.get(("tls", "1.3")) != "1":
            problems.append("TLS 1.3 not enabled")
        enabled_old = [f"{t}{v}" for (t, v), e in protocols.items() if e == "1" and (t, v) != ("tls", "1.3")]
        if enabled_old:
            problems.append("older protocols enabled: " + ", ".join(enabled_old))
        if len(protocols) < 5:
            problems.append("sslscan checked only %d protocols" % len(protocols))

        ciphers = [c for c in test.findall("cipher") if c.get("status") in ("accepted", "preferred")]
        if not ciphers:
            problems.append("no accepted cipher")
        weak_words = ("NULL", "RC4", "DES", "EXP", "anon", "MD5", "CBC", "ADH", "AECDH")
        for c in ciphers:
            name = c.get("cipher", "")
            if c.get("sslversion") != "TLSv1.3":
                problems.append("cipher %s on %s" % (name, c.get("sslversion")))
            if int(c.get("bits", "0")) < 128:
                problems.append("cipher %s has %s bits" % (name, c.get("bits")))
            if c.get("strength") in ("null", "anonymous", "weak", "medium") or any(w in name for w in weak_words):
                problems.append("weak cipher %s (%s)" % (name, c.get("strength")))
        compression = test.find("compression")
        if compression is not None and compression.get("supported") == "1":
            problems.append("TLS compression supported")
        reneg = test.find("renegotiation")
        if reneg is not None and reneg.get("supported") == "1" and reneg.get("secure") != "1":
            problems.append("insecure renegotiation")

        # The certificate chain as configured: compare with server.pem.
        def x509(field):
            out = subprocess.run(["openssl", "x509", "-noout", "-" + field, "-nameopt", "RFC2253",
                                  "-in", os.path.join(pki, "server.pem")], capture_output=True, text=True)
            return out.stdout.split("=", 1)[1].strip()
        cert = test.find("certificates/certificate")
        if cert is None:
            cert = test.find(".//certificate")
        if cert is None:
            problems.append("no certificate in the scan")
        else:
            subject = (cert.findtext("subject") or "").strip()
            issuer = (cert.findtext("issuer") or "").strip()
            want_subject, want_issuer = x509("subject"), x509("issuer")
            norm = lambda s: sorted(p.strip() for p in s.replace("/", ",").split(",") if p.strip())
            if norm(subject) != norm(want_subject):
                problems.append("certificate subject %r, configured %r" % (subject, want_subject))
            if norm(issuer) != norm(want_issuer):
                problems.append("certificate issuer %r, configured %r" % (issuer, want_issuer))
            if cert.findtext("self-signed", "").strip() == "true":
                problems.append("the server presents a self-signed certificate")
            if cert.findtext("expired", "").strip() == "true":
                problems.append("the server certificate has expired")
            pk = cert.find("pk")
            if pk is not None and pk.get("type") == "EC" and int(pk.get("curve_bits", pk.get("bits", "256"))) < 256:
                problems.append("weak EC key")

        names = ", ".join(sorted({c.get("cipher") for c in ciphers}))
        if problems:
            fail("; ".join(problems) + "\n" + scan.stdout.decode(errors="replace"))
        print("sslscan verdict: PASS: only TLSv1.3 enabled (SSLv2, SSLv3, TLS 1.0, 1.1, 1.2 refused); "
              "accepted ciphers: %s; no weak ciphers, no compression; certificate subject %s issued by %s" %
              (names, subject, issuer))
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
