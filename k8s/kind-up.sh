#!/usr/bin/env bash
# Slipway on a local kind cluster, from nothing:
#   1. create the cluster (k8s/kind-config.yaml) unless it exists
#   2. build the service image with a unique tag and `kind load` it (no registry, no :latest)
#   3. install metrics-server (the HPA needs it; kind has none)
#   4. apply the kind overlay (in-cluster Postgres, Redis, ElasticMQ) with that tag
#   5. wait for the dependencies, the migration Job and the rollout; print how to reach it
#
#   k8s/kind-up.sh            needs docker, kind and kubectl
#   KIND_CLUSTER=name k8s/kind-up.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CLUSTER="${KIND_CLUSTER:-slipway}"
NAMESPACE=slipway
METRICS_SERVER="https://github.com/kubernetes-sigs/metrics-server/releases/download/v0.7.2/components.yaml"

for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null || { echo "kind-up: $tool is required" >&2; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "kind-up: the Docker engine is not running" >&2; exit 1; }

if ! kind get clusters | grep -qx "$CLUSTER"; then
  kind create cluster --name "$CLUSTER" --config k8s/kind-config.yaml --wait 120s
fi
kubectl config use-context "kind-$CLUSTER" >/dev/null

TAG="dev-$(git rev-parse --short HEAD 2>/dev/null || echo local)-$(date +%s)"
docker build -t "slipway-service:$TAG" .
kind load docker-image --name "$CLUSTER" "slipway-service:$TAG"

# metrics-server on kind: its kubelets serve self-signed certificates.
kubectl apply -f "$METRICS_SERVER"
kubectl -n kube-system patch deployment metrics-server --type=json \
  -p='[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]' \
  2>/dev/null || true

# A Job's template is immutable: the previous migration Job goes before the new one.
kubectl -n "$NAMESPACE" delete job slipway-migrate --ignore-not-found
kubectl kustomize k8s/overlays/kind \
  | sed "s|image: slipway-service:dev|image: slipway-service:$TAG|" \
  | kubectl apply -f -

kubectl -n "$NAMESPACE" rollout status deployment/postgres --timeout=180s
kubectl -n "$NAMESPACE" rollout status deployment/redis --timeout=120s
kubectl -n "$NAMESPACE" rollout status deployment/elasticmq --timeout=120s
kubectl -n "$NAMESPACE" wait --for=condition=complete job/slipway-migrate --timeout=180s
kubectl -n "$NAMESPACE" rollout status deployment/slipway-api --timeout=180s
kubectl -n "$NAMESPACE" rollout status deployment/slipway-worker --timeout=180s

cat <<INFO

Slipway is up on kind (cluster $CLUSTER, namespace $NAMESPACE, image slipway-service:$TAG).

  API and metrics:  http://localhost:18080   (NodePort 30080)
  SQS (ElasticMQ):  http://localhost:19324   (NodePort 30324)

Or port-forward instead of the NodePorts:
  kubectl -n $NAMESPACE port-forward svc/slipway 8080:8080
  kubectl -n $NAMESPACE port-forward svc/elasticmq 9324:9324

Dashboard:
  cargo run -p tui -- --metrics-url http://localhost:18080/metrics --sqs-endpoint http://localhost:19324 \\
    --queue-url http://localhost:19324/000000000000/orders --dlq-url http://localhost:19324/000000000000/orders-dlq
Load test (from the host; the targets are loopback, so writes are allowed):
  cargo run -p loadtest -- --host http://localhost:18080 --sqs-endpoint http://localhost:19324 \\
    --queue-url http://localhost:19324/000000000000/orders --dlq-url http://localhost:19324/000000000000/orders-dlq
Autoscaling:  kubectl -n $NAMESPACE get hpa slipway --watch
Tear down:    kind delete cluster --name $CLUSTER
INFO
