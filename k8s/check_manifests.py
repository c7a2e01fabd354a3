#!/usr/bin/env python3
"""Offline checks of the deployment manifests, run by .ci/run.

1. Render: `kubectl kustomize` renders overlays/kind, overlays/aws, overlays/aws with every
   component (KEDA, monitoring, ingress), and the loadtest Job.
2. Validate: `kubernetes-validate --strict` checks every rendered resource against the
   Kubernetes API schemas of KUBERNETES_VERSION; the custom resources (KEDA's ScaledObject
   and TriggerAuthentication, the Prometheus Operator's ServiceMonitor and PrometheusRule),
   which have no schema there, are checked against their CRDs' schemas by
   k8s/crd-validate (node; schemas from npm packages pinned by its package-lock.json).
3. Agree with the binary: the container port is the port of HTTP_ADDR and of the Dockerfile;
   the API and worker Deployments run `--role api` and `--role worker` and leave the
   replica count to their autoscalers; every env name in the ConfigMaps, Secrets and
   compose.yaml is one the service reads (from `service --help`) or a standard AWS SDK
   variable; the pods run non-root with a read-only root fs; a default-deny NetworkPolicy is
   there; every metric an alert uses is one the service exports (METRICS.md); and the probe
   paths answer 200 on the real service in both roles, started with the kind overlay's env
   (dependency URLs pointed at a devstack on free ports, since cluster DNS names do not
   resolve here), as does `service healthcheck`, compose's healthcheck.
4. Compose: compose.yaml validates against the Compose Specification's JSON schema (the one
   check-jsonschema ships, `vendor.compose-spec`, with its licence); published ports bind
   127.0.0.1; the service has a `develop.watch` section.

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
    check(
        result.returncode == 0 and not errors,
        f"{label}: {len(passed)} resources valid against Kubernetes {KUBERNETES_VERSION}",
    )
    if skipped:
        crds = subprocess.run(
            ["node", os.path.join(ROOT, "k8s", "crd-validate", "validate.mjs"), path],
            capture_output=True, text=True,
        )
        output = (crds.stdout + crds.stderr).strip().splitlines()
        for line in output[:-1]:
            if line.startswith("FAIL"):
                print("     " + line)
        summary = output[-1] if output else "no output"
        check(
            crds.returncode == 0 and len(skipped) == int(summary.split()[0] if summary[0].isdigit() else -1),
            f"{label}: custom resources against their CRD schemas: {summary}",
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


def metric_names():
    """The metric names of the contract, from METRICS.md's table."""
    text = open(os.path.join(ROOT, "METRICS.md")).read()
    return set(re.findall(r"^\| `([a-z_]+)` \|", text, re.MULTILINE))


def alert_checks(resources):
    rule = find(resources, "PrometheusRule", "slipway")
    known = metric_names()
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"]]
    check(len(alerts) >= 4, f"the PrometheusRule has {len(alerts)} alerts")
    for alert in alerts:
        used = {m for m in re.findall(r"\b([a-z_]+)(?:\{|\[)", alert["expr"])}
        used = {re.sub(r"_(bucket|sum|count)$", "", m) for m in used}
        unknown = sorted(used - known)
        check(not unknown, f"alert {alert['alert']} uses only exported metrics {unknown or ''}")
    monitor = find(resources, "ServiceMonitor", "slipway")
    selected = monitor["spec"]["selector"]["matchLabels"]
    services = [r for r in resources if r["kind"] == "Service"
                and all(r["metadata"].get("labels", {}).get(k) == v for k, v in selected.items())]
    check(len(services) == 2, f"the ServiceMonitor selects the API's and the workers' Services ({len(services)})")


def role_checks(resources, label):
    containers = {}
    for name, role in (("slipway-api", "api"), ("slipway-worker", "worker")):
        deployment = find(resources, "Deployment", name)
        check("replicas" not in deployment["spec"], f"{label}: {name} leaves its replica count to its autoscaler")
        pod = deployment["spec"]["template"]["spec"]
        container = next(c for c in pod["containers"] if c["name"] == "service")
        check(container["args"] == ["serve", "--role", role], f"{label}: {name} runs `serve --role {role}`")
        scalers = [r for r in resources
                   if r["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")
                   and r["spec"]["scaleTargetRef"]["name"] == name]
        check(len(scalers) == 1, f"{label}: {name} has one autoscaler ({[s['kind'] for s in scalers]})")
        containers[role] = (pod, container)
    policies = [r for r in resources if r["kind"] == "NetworkPolicy"]
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    check(len(deny) == 1, f"{label}: a default-deny NetworkPolicy, then {len(policies) - 1} that allow")
    return containers


def static_checks(kind, aws, compose, known_env):
    containers = role_checks(kind, "kind")
    role_checks(aws, "aws")
    pod, container = containers["api"]
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
    for role, (pod, container) in containers.items():
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            get = container[probe]["httpGet"]
            check(get["port"] in ports, f"{role}: {probe} uses the container's {get['port']} port")
        check(container["readinessProbe"]["httpGet"]["path"] == "/health", f"{role}: readiness is /health")
        check(container["livenessProbe"]["httpGet"]["path"] == "/livez", f"{role}: liveness is /livez")
        security = container["securityContext"]
        check(pod["securityContext"].get("runAsNonRoot") is True, f"{role}: the pod runs as non-root")
        check(security.get("readOnlyRootFilesystem") is True, f"{role}: the root filesystem is read-only")
        check(security.get("allowPrivilegeEscalation") is False, f"{role}: no privilege escalation")
        check(security.get("capabilities", {}).get("drop") == ["ALL"], f"{role}: all capabilities dropped")
        check("requests" in container["resources"] and "limits" in container["resources"], f"{role}: requests and limits set")
    for name in ("slipway-api", "slipway-worker"):
        hpa = find(kind, "HorizontalPodAutoscaler", name)
        check(hpa["apiVersion"] == "autoscaling/v2", f"{name}: the HPA is autoscaling/v2")

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
    return containers, config, find(kind, "Secret", "slipway-secrets")["stringData"]


def live_checks(binaries, containers, config, secret):
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
        subprocess.run([service, "migrate"], env=env, check=True, capture_output=True)
        for role, (_, container) in containers.items():
            probe_role(service, env, role, container, processes)
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        shutil.rmtree(root, ignore_errors=True)


def probe_role(service, env, role, container, processes):
    """Runs the container's command with the manifest's env and asks its probes."""
    env = dict(env)
    port = free_port()
    env["HTTP_ADDR"] = f"127.0.0.1:{port}"
    served = subprocess.Popen([service] + container["args"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
        check(status == 200, f"{role}: {probe} {path} answers {status} on the service run with the manifest's env")
    orders = http_status(base + "/v1/orders?customer_id=c-1")
    expected = 200 if role == "api" else 404
    check(orders == expected, f"{role}: the orders API answers {orders} (expected {expected})")
    metrics = http_status(base + "/metrics")
    check(metrics == 200, f"{role}: /metrics answers {metrics}")
    healthcheck = subprocess.run([service, "healthcheck", "--path", "/health"], env=env, capture_output=True)
    check(healthcheck.returncode == 0, f"{role}: `service healthcheck` (compose's healthcheck) passes")
    served.send_signal(signal.SIGTERM)
    served.wait(timeout=30)
    stopped = subprocess.run([service, "healthcheck", "--path", "/livez"], env=env, capture_output=True)
    check(stopped.returncode != 0, f"{role}: `service healthcheck` fails once the service is gone")


def compose_checks(compose_file):
    validator = os.path.join(os.path.dirname(sys.executable), "check-jsonschema")
    result = subprocess.run(
        [validator, "--builtin-schema", "vendor.compose-spec", compose_file], capture_output=True, text=True
    )
    check(result.returncode == 0, "compose.yaml is valid against the Compose Specification's schema "
          + (result.stdout + result.stderr).strip().replace("\n", " | "))
    compose = yaml.safe_load(open(compose_file))
    check(
        compose["services"]["service"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully",
        "compose: the service waits for the migration",
    )
    check(all("healthcheck" in compose["services"][s] for s in ("postgres", "redis", "elasticmq", "service")),
          "compose: every long-running service has a healthcheck")
    published = [p for svc in compose["services"].values() for p in svc.get("ports", [])]
    check(published and all(str(p).startswith("127.0.0.1:") for p in published),
          f"compose: every published port binds 127.0.0.1 ({len(published)})")
    watch = compose["services"]["service"].get("develop", {}).get("watch", [])
    check(any(w["action"] == "rebuild" and w["path"] == "./service" for w in watch),
          "compose: `develop.watch` rebuilds the service when its code changes")
    return compose


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    binaries = os.path.abspath(sys.argv[1])
    workdir = tempfile.mkdtemp(prefix="slipway-render-")
    keda = tempfile.mkdtemp(prefix=".validate-", dir=os.path.join(ROOT, "k8s"))
    try:
        with open(os.path.join(keda, "kustomization.yaml"), "w") as f:
            f.write("resources: [../overlays/aws]\n"
                    "components: [../components/keda, ../components/monitoring, ../components/ingress]\n")
        rendered = {}
        for label, target in (
            ("kind", "k8s/overlays/kind"),
            ("aws", "k8s/overlays/aws"),
            ("aws+components", os.path.relpath(keda, ROOT)),
            ("loadtest-job", "k8s/loadtest"),
        ):
            text, resources = render(target)
            rendered[label] = resources
            check(bool(resources), f"{label}: kubectl kustomize rendered {len(resources)} resources")
            validate(label, text, workdir)
    finally:
        shutil.rmtree(keda, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)

    compose = compose_checks(os.path.join(ROOT, "compose.yaml"))
    alert_checks(rendered["aws+components"])
    check(
        not any(r["kind"] == "HorizontalPodAutoscaler" and r["metadata"]["name"] == "slipway-worker"
                for r in rendered["aws+components"]),
        "with KEDA, the worker's HPA is KEDA's (the base's is removed)",
    )

    known_env = service_env_names(os.path.join(binaries, "service"))
    check(len(known_env) > 10, f"`service --help` lists {len(known_env)} env names")
    containers, config, secret = static_checks(rendered["kind"], rendered["aws"], compose, known_env)
    live_checks(binaries, containers, config, secret)
    print(f"\n{'all manifest checks passed' if failures == 0 else f'{failures} manifest checks FAILED'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
