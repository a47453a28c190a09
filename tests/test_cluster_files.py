"""The cluster deployment files: the launcher YAML against Ray's own JSON schema, and the
KubeRay manifests' required shape."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import ray
import yaml

from tests.conftest import ROOT

CLUSTER = ROOT / "cluster"


def test_launcher_yaml_matches_the_schema_shipped_with_ray() -> None:
    schema_path = Path(ray.__file__).parent / "autoscaler" / "ray-schema.json"
    schema = json.loads(schema_path.read_text())
    config = yaml.safe_load((CLUSTER / "bot4-cluster.yaml").read_text())
    jsonschema.validate(config, schema)
    assert config["head_node_type"] in config["available_node_types"]
    assert any("bot4_symbols" in t["resources"] for t in config["available_node_types"].values())
    # the nodes compile the Rust core: a toolchain before the install, the build tree not copied
    setup = config["setup_commands"]
    rustup = next(i for i, c in enumerate(setup) if "rustup.rs" in c)
    assert any("pip install -q -e ." in c for c in setup[rustup + 1 :])
    assert config["rsync_filter"] == [".gitignore"]
    bad = {**config, "max_workers": "many"}
    try:
        jsonschema.validate(bad, schema)
    except jsonschema.ValidationError:
        pass
    else:  # pragma: no cover - the schema must catch it
        raise AssertionError("the schema accepted a bad config")


def test_kuberay_manifests() -> None:
    cluster = yaml.safe_load((CLUSTER / "kuberay" / "raycluster.yaml").read_text())
    job = yaml.safe_load((CLUSTER / "kuberay" / "rayjob.yaml").read_text())
    assert (cluster["apiVersion"], cluster["kind"]) == ("ray.io/v1", "RayCluster")
    assert (job["apiVersion"], job["kind"]) == ("ray.io/v1", "RayJob")
    assert cluster["spec"]["rayVersion"].startswith("2.60")
    assert cluster["spec"]["workerGroupSpecs"][0]["maxReplicas"] >= 2
    assert job["spec"]["entrypoint"].startswith("python -m bot4 run")
    for spec in (cluster["spec"], job["spec"]["rayClusterSpec"]):
        for group in [spec["headGroupSpec"], *spec["workerGroupSpecs"]]:
            containers = group["template"]["spec"]["containers"]
            assert containers and all(c["image"] == "bot4:latest" for c in containers)
