#!/usr/bin/env python3
"""Schemathesis against the real service, generated from its own OpenAPI document.

Starts an ephemeral devstack (Postgres, Redis, the SQS emulator on free ports, no service),
runs `service migrate` and `service serve` from BINARIES (e.g. target/debug), then
`schemathesis run` with every check on every operation (settings in schemathesis.toml beside
this file): no 5xx except a documented 503, responses that match the document, bad input
refused, good input accepted. Exits with schemathesis's status.

    python3 service/tests/schemathesis/run.py target/debug [--max-examples N]
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
DEPENDENCY_ENV = ["DATABASE_URL", "REDIS_URL", "SQS_QUEUE_URL", "SQS_DLQ_URL", "AWS_ENDPOINT_URL",
                  "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_of(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except Exception:  # noqa: BLE001 - any failure means "not up yet"
        return None


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    binaries = sys.argv[1]
    max_examples = "60"
    if "--max-examples" in sys.argv:
        max_examples = sys.argv[sys.argv.index("--max-examples") + 1]
    root = tempfile.mkdtemp(prefix="slipway-schemathesis-")
    os.chmod(root, 0o755)
    processes = []
    try:
        up = subprocess.Popen(
            [os.path.join(binaries, "devstack"), "--root", root, "up", "--no-service", "--ephemeral",
             "--postgres-port", "0", "--redis-port", "0", "--sqs-port", "0",
             "--otlp-port", "0", "--otlp-grpc-port", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(up)
        state_file = os.path.join(root, ".devstack", "state.json")
        deadline = time.time() + 90
        while not os.path.exists(state_file):
            if time.time() > deadline or up.poll() is not None:
                raise SystemExit("devstack did not start")
            time.sleep(0.1)
        time.sleep(0.2)
        stack = json.load(open(state_file))["env"]
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AWS_", "SQS_", "DATABASE_", "REDIS_"))}
        for name in DEPENDENCY_ENV:
            if name in stack:
                env[name] = stack[name]
        port = free_port()
        env["HTTP_ADDR"] = f"127.0.0.1:{port}"
        # Generated requests come fast and share a few customer ids: keep the per-customer
        # rate limit out of the way (it has its own test).
        env["RATE_LIMIT_PER_MINUTE"] = "1000000"
        service = os.path.join(binaries, "service")
        subprocess.run([service, "migrate"], env=env, check=True, capture_output=True)
        log = open(os.path.join(root, "service.log"), "w")
        served = subprocess.Popen([service, "serve"], env=env, stdout=log, stderr=log)
        processes.append(served)
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 30
        while status_of(base + "/health") != 200:
            if time.time() > deadline or served.poll() is not None:
                raise SystemExit("the service did not become ready")
            time.sleep(0.2)
        st = os.path.join(os.path.dirname(sys.executable), "schemathesis")
        result = subprocess.run(
            [st, "--config-file", os.path.join(HERE, "schemathesis.toml"), "run",
             f"{base}/openapi.json", "--url", base, "--max-examples", max_examples],
            env={**os.environ, "NO_COLOR": "1"})
        if served.poll() is not None:
            print("the service exited during the run; its log:")
            print(open(os.path.join(root, "service.log")).read()[-4000:])
            return 1
        return result.returncode
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
