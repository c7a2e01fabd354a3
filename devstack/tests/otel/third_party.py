#!/usr/bin/env python3
"""Third-party OpenTelemetry clients against devstack's trace collector.

Starts `devstack up --no-service --ephemeral` (the binary given as the first argument) in a
temporary root, then sends traces with the OpenTelemetry Python SDK from PyPI:

- over OTLP/HTTP protobuf, configured only by the settings devstack hands out
  (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL` from `.devstack/env`);
- over OTLP/gRPC, to the collector's gRPC port.

Each trace (a parent with an `order.id` and a child) must come back from
`devstack trace --trace-id … --json` and `--order-id …` with its service name, its parent link
and its attributes. Exits non-zero with the reason otherwise.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_env(path):
    settings = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                settings[key] = value.strip("'\"")
    return settings


def send_trace(exporter, service, order_id):
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("slipway-third-party")
    with tracer.start_as_current_span("checkout", attributes={"order.id": order_id}) as parent:
        with tracer.start_as_current_span("charge card", attributes={"amount_cents": 1250}):
            pass
    provider.shutdown()
    return format(parent.get_span_context().trace_id, "032x"), format(
        parent.get_span_context().span_id, "016x"
    )


def trace(binary, root, *args):
    out = subprocess.run(
        [binary, "--root", root, "trace", *args, "--json"],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)


def check(binary, root, trace_id, parent_id, service, order_id):
    spans = trace(binary, root, "--trace-id", trace_id)
    names = sorted(s["name"] for s in spans)
    assert names == ["charge card", "checkout"], f"{service}: spans {spans}"
    by_name = {s["name"]: s for s in spans}
    assert all(s["service"] == service for s in spans), spans
    assert by_name["checkout"]["parent_span_id"] is None, spans
    assert by_name["charge card"]["parent_span_id"] == parent_id, spans
    assert by_name["checkout"]["attributes"]["order.id"] == order_id, spans
    assert by_name["charge card"]["attributes"]["amount_cents"] == 1250, spans
    assert by_name["checkout"]["end_unix_nano"] >= by_name["checkout"]["start_unix_nano"] > 0
    assert len(trace(binary, root, "--order-id", order_id)) == 2
    print(f"ok: {service}: trace {trace_id} came back with its 2 spans")


def main():
    binary = os.path.abspath(sys.argv[1])
    root = tempfile.mkdtemp(prefix="slipway-otel-")
    grpc_port = free_port()
    up = subprocess.Popen(
        [binary, "--root", root, "up", "--no-service", "--ephemeral",
         "--postgres-port", "0", "--redis-port", "0", "--sqs-port", "0",
         "--otlp-port", "0", "--otlp-grpc-port", str(grpc_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        state = os.path.join(root, ".devstack", "state.json")
        deadline = time.time() + 60
        while not os.path.exists(state):
            if up.poll() is not None or time.time() > deadline:
                sys.exit("devstack up did not start")
            time.sleep(0.1)
        settings = read_env(os.path.join(root, ".devstack", "env"))
        # The HTTP exporter reads only the settings devstack handed out.
        for key in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL"):
            os.environ[key] = settings[key]
        trace_id, parent = send_trace(HttpExporter(), "py-http", "py-order-http")
        check(binary, root, trace_id, parent, "py-http", "py-order-http")
        grpc = GrpcExporter(endpoint=f"127.0.0.1:{grpc_port}", insecure=True)
        trace_id, parent = send_trace(grpc, "py-grpc", "py-order-grpc")
        check(binary, root, trace_id, parent, "py-grpc", "py-order-grpc")
    finally:
        up.terminate()
        up.wait(timeout=30)


if __name__ == "__main__":
    main()
