#!/usr/bin/env python3
"""Offline checks of the deployment manifests, run by .ci/run.

1. Render: `kubectl kustomize` renders overlays/kind, overlays/aws, overlays/aws with the KEDA
   component, and the loadtest Job.
2. Validate: `kubernetes-validate --strict` checks every rendered resource against the
   Kubernetes API schemas of KUBERNETES_VERSION (custom resources such as KEDA's have no
   schema there and are reported as skipped).
3. Agree with the binary: the container port is the port of HTTP_ADDR and of the Dockerfile;
   every env name in the ConfigMaps, Secrets and compose.yaml is one the service reads
   (from `service --help`) or a standard AWS SDK variable; the pod runs non-root with a
   read-only root fs; and the probe paths answer 200 on the real service, started with the
   kind overlay's env (dependency URLs pointed at a devstack on free ports, since cluster DNS
   names do not resolve here), as does `service healthcheck`, compose's healthcheck.
4. Compose: `docker-compose config` (Compose 1.29, Debian's package: a real Compose parser
   that needs no Docker engine) parses compose.yaml with every profile.

Usage: k8s/check_manifests.py TARGET_DIR   (the directory holding the `service` and
`devstack` binaries, e.g. target/debug). Exits non-zero on the first failed check.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

KUBERNETES_VERSION = "1.31.0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Variables the AWS SDK reads by itself, which the service therefore honours without a flag.
AWS_SDK_ENV = {
    "AWS_ENDPOINT_URL_SQS",
    "AWS_PROFILE",
    "AWS_DEFAULT_REGION",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_SESSION_TOKEN",
}
# Env names of the service that point at its dependencies; rewritten for the live check.
DEPENDENCY_ENV = ["DATABASE_URL", "REDIS_URL", "AWS_ENDPOINT_URL", "SQS_QUEUE_URL", "SQS_DLQ_URL"]

failures = 0


def check(condition, what):
    global failures
    print(f"{'ok  ' if condition else 'FAIL'} {what}")
    if not condition:
        failures += 1


def render(target):
    """Renders a kustomization directory (relative to the repository)."""
    out = subprocess.run(
        ["kubectl", "kustomize", target], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    return out, [doc for doc in yaml.safe_load_all(out) if doc]


def find(resources, kind, name):
    for resource in resources:
        if resource["kind"] == kind and resource["metadata"]["name"] == name:
            return resource
    raise SystemExit(f"no {kind}/{name} in the rendered manifests")


def validate(label, text, workdir):
    path = os.path.join(workdir, f"{label}.yaml")
    with open(path, "w") as f:
        f.write(text)
    validator = os.path.join(os.path.dirname(sys.executable), "kubernetes-validate")
    result = subprocess.run(
        [validator, "--strict", "-k", KUBERNETES_VERSION, path], capture_output=True, text=True
    )
    lines = (result.stdout + result.stderr).splitlines()
    errors = [line for line in lines if line.startswith("ERROR")]
    skipped = [line for line in lines if "Couldn't find schema" in line]
    passed = [line for line in lines if " passed " in line]
    for line in errors:
        print("     " + line)
    note = f", {len(skipped)} custom resources without a schema" if skipped else ""
    check(
        result.returncode == 0 and not errors,
        f"{label}: {len(passed)} resources valid against Kubernetes {KUBERNETES_VERSION}{note}",
    )


def service_env_names(service):
    help_text = subprocess.run([service, "--help"], check=True, capture_output=True, text=True).stdout
    return set(re.findall(r"\[env: ([A-Z0-9_]+)[=\]]", help_text))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def static_checks(kind, aws, compose, known_env):
    deployment = find(kind, "Deployment", "slipway")
    pod = deployment["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == "service")
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    config = find(kind, "ConfigMap", "slipway-config")["data"]
    http_port = int(config["HTTP_ADDR"].rsplit(":", 1)[1])
    check(ports.get("http") == http_port, f"container port http={ports.get('http')} is HTTP_ADDR's port {http_port}")
    dockerfile = open(os.path.join(ROOT, "Dockerfile")).read()
    check(f"EXPOSE {http_port}" in dockerfile, f"the Dockerfile exposes {http_port}")
    check(f"HTTP_ADDR=0.0.0.0:{http_port}" in dockerfile, "the Dockerfile's HTTP_ADDR agrees")
    service = find(kind, "Service", "slipway")
    check(
        all(p["targetPort"] in ports or p["targetPort"] in ports.values() for p in service["spec"]["ports"]),
        "the Service targets a named container port",
    )
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        check(get["port"] in ports, f"{probe} uses the container's {get['port']} port")
    check(container["readinessProbe"]["httpGet"]["path"] == "/health", "readiness is /health")
    check(container["livenessProbe"]["httpGet"]["path"] == "/livez", "liveness is /livez")
    security = container["securityContext"]
    check(pod["securityContext"].get("runAsNonRoot") is True, "the pod runs as non-root")
    check(security.get("readOnlyRootFilesystem") is True, "the root filesystem is read-only")
    check(security.get("allowPrivilegeEscalation") is False, "no privilege escalation")
    check(security.get("capabilities", {}).get("drop") == ["ALL"], "all capabilities dropped")
    check("requests" in container["resources"] and "limits" in container["resources"], "requests and limits set")
    hpa = find(kind, "HorizontalPodAutoscaler", "slipway")
    check(hpa["apiVersion"] == "autoscaling/v2", "the HPA is autoscaling/v2")

    for label, resources in (("kind", kind), ("aws", aws)):
        names = set()
        for resource in resources:
            if resource["kind"] == "ConfigMap" and resource["metadata"]["name"] == "slipway-config":
                names |= set(resource["data"])
            if resource["kind"] == "Secret" and resource["metadata"]["name"] == "slipway-secrets":
                names |= set(resource.get("stringData", {})) | set(resource.get("data", {}))
        unknown = sorted(names - known_env - AWS_SDK_ENV)
        check(not unknown, f"{label}: every env name ({len(names)}) is one the service reads {unknown or ''}")
    for name in ("service", "migrate"):
        env = compose["services"][name]["environment"]
        unknown = sorted(set(env) - known_env - AWS_SDK_ENV)
        check(not unknown, f"compose {name}: every env name ({len(env)}) is one the service reads {unknown or ''}")
    return container, config, find(kind, "Secret", "slipway-secrets")["stringData"]


def live_checks(binaries, container, config, secret):
    service = os.path.join(binaries, "service")
    devstack = os.path.join(binaries, "devstack")
    root = tempfile.mkdtemp(prefix="slipway-manifests-")
    os.chmod(root, 0o755)
    processes = []
    try:
        up = subprocess.Popen(
            [devstack, "--root", root, "up", "--no-service", "--ephemeral",
             "--postgres-port", "0", "--redis-port", "0", "--sqs-port", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        processes.append(up)
        state_file = os.path.join(root, ".devstack", "state.json")
        deadline = time.time() + 60
        while not os.path.exists(state_file):
            if time.time() > deadline or up.poll() is not None:
                raise SystemExit("devstack did not start")
            time.sleep(0.1)
        time.sleep(0.2)
        stack = json.load(open(state_file))["env"]

        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SQS_", "DATABASE_", "REDIS_"))}
        env.update(config)
        env.update(secret)
        for name in DEPENDENCY_ENV:
            env[name] = stack[name]
        port = free_port()
        env["HTTP_ADDR"] = f"127.0.0.1:{port}"
        subprocess.run([service, "migrate"], env=env, check=True, capture_output=True)
        served = subprocess.Popen([service, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(served)
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 30
        while http_status(base + "/livez") != 200 and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            path = container[probe]["httpGet"]["path"]
            status = None
            deadline = time.time() + 15
            while status != 200 and time.time() < deadline:
                status = http_status(base + path)
                time.sleep(0.2)
            check(status == 200, f"{probe} {path} answers {status} on the service run with the manifest's env")
        healthcheck = subprocess.run([service, "healthcheck", "--path", "/health"], env=env, capture_output=True)
        check(healthcheck.returncode == 0, "`service healthcheck` (compose's healthcheck) passes")
        served.send_signal(signal.SIGTERM)
        served.wait(timeout=30)
        stopped = subprocess.run([service, "healthcheck", "--path", "/livez"], env=env, capture_output=True)
        check(stopped.returncode != 0, "`service healthcheck` fails once the service is gone")
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        shutil.rmtree(root, ignore_errors=True)


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    binaries = os.path.abspath(sys.argv[1])
    workdir = tempfile.mkdtemp(prefix="slipway-render-")
    keda = tempfile.mkdtemp(prefix=".validate-", dir=os.path.join(ROOT, "k8s"))
    try:
        with open(os.path.join(keda, "kustomization.yaml"), "w") as f:
            f.write("resources: [../overlays/aws]\ncomponents: [../components/keda]\n")
        rendered = {}
        for label, target in (
            ("kind", "k8s/overlays/kind"),
            ("aws", "k8s/overlays/aws"),
            ("aws+keda", os.path.relpath(keda, ROOT)),
            ("loadtest-job", "k8s/loadtest"),
        ):
            text, resources = render(target)
            rendered[label] = resources
            check(bool(resources), f"{label}: kubectl kustomize rendered {len(resources)} resources")
            validate(label, text, workdir)
    finally:
        shutil.rmtree(keda, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)

    compose_file = os.path.join(ROOT, "compose.yaml")
    parsed = subprocess.run(
        ["docker-compose", "-f", compose_file, "--profile", "loadtest", "config"],
        cwd=ROOT, capture_output=True, text=True,
    )
    check(parsed.returncode == 0, "compose.yaml parses (docker-compose config) " + parsed.stderr.strip())
    compose = yaml.safe_load(parsed.stdout) if parsed.returncode == 0 else yaml.safe_load(open(compose_file))
    check(
        compose["services"]["service"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully",
        "compose: the service waits for the migration",
    )
    check(all("healthcheck" in compose["services"][s] for s in ("postgres", "redis", "elasticmq", "service")),
          "compose: every long-running service has a healthcheck")

    known_env = service_env_names(os.path.join(binaries, "service"))
    check(len(known_env) > 10, f"`service --help` lists {len(known_env)} env names")
    container, config, secret = static_checks(rendered["kind"], rendered["aws"], compose, known_env)
    live_checks(binaries, container, config, secret)
    print(f"\n{'all manifest checks passed' if failures == 0 else f'{failures} manifest checks FAILED'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
