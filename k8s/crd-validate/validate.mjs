// Validates the custom resources in rendered manifests against the JSON schemas of their
// CRDs, offline. The schemas come from the kubernetes-models packages (MIT), generated from
// KEDA's and the Prometheus Operator's own CRDs and pinned by package-lock.json.
//
//   node k8s/crd-validate/validate.mjs RENDERED.yaml...
//
// Prints one line per custom resource; exits 1 if one is invalid or of a kind it does not
// know (a new kind must be added here, not skipped).
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";

const MODELS = new Map(
  [ScaledObject, TriggerAuthentication, ServiceMonitor, PrometheusRule].map((m) => [
    `${m.apiVersion}/${m.kind}`,
    m,
  ]),
);
// Kinds whose schema kubernetes-validate already checks.
const CORE_GROUPS = /^(v1|apps\/v1|batch\/v1|policy\/v1|autoscaling\/v2|networking\.k8s\.io\/v1|rbac\.authorization\.k8s\.io\/v1)$/;

let failures = 0;
let checked = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    const resource = doc.toJS();
    if (!resource || CORE_GROUPS.test(resource.apiVersion)) continue;
    const key = `${resource.apiVersion}/${resource.kind}`;
    const name = `${key} ${resource.metadata?.name}`;
    const Model = MODELS.get(key);
    if (!Model) {
      console.log(`FAIL ${name}: no schema known for this kind (add its model to validate.mjs)`);
      failures++;
      continue;
    }
    try {
      new Model(resource).validate();
      checked++;
      console.log(`ok   ${name}`);
    } catch (error) {
      failures++;
      console.log(`FAIL ${name}: ${error.message}`);
    }
  }
}
console.log(`${checked} custom resources valid, ${failures} invalid`);
process.exit(failures ? 1 : 0);
