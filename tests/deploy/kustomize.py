"""Render a kustomization the way ``kustomize build`` does, for the few features
deploy/k8s uses: resources (files and folders), strategic-merge patches of whole objects
by kind and name, a secretGenerator with literals (no name hash), images and labels.

Anything else in a kustomization.yaml is refused, so this renderer never silently
differs from kustomize; where ``kubectl`` is installed a test compares the two.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.deploy.code_facts import load_yaml, load_yaml_all

Obj = dict[str, Any]
SUPPORTED = {
    "apiVersion",
    "kind",
    "resources",
    "patches",
    "secretGenerator",
    "generatorOptions",
    "images",
    "labels",
}


def ident(obj: Obj) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


def render(folder: Path) -> list[Obj]:
    spec = load_yaml(folder / "kustomization.yaml")
    unsupported = set(spec) - SUPPORTED
    if unsupported:
        raise ValueError(f"{folder}: the test renderer does not know {sorted(unsupported)}")
    objects: list[Obj] = []
    for entry in spec.get("resources", []):
        path = folder / entry
        if path.is_dir():
            objects.extend(render(path))
        else:
            # Through JSON: YAML anchors (labels: &labels) share one dict between
            # metadata and selector (deepcopy keeps that), and a label added to one
            # would show in both.
            objects.extend(json.loads(json.dumps(load_yaml_all(path.read_text()))))
    for generator in spec.get("secretGenerator", []):
        if not spec.get("generatorOptions", {}).get("disableNameSuffixHash"):
            raise ValueError("the test renderer needs disableNameSuffixHash: true")
        literals = dict(item.split("=", 1) for item in generator.get("literals", []))
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": generator["name"]},
                "type": "Opaque",
                "stringData": literals,
            }
        )
    by_id = {ident(o): o for o in objects}
    for patch in spec.get("patches", []):
        if set(patch) != {"path"}:
            raise ValueError(f"{folder}: only `patches: - path:` is understood")
        for change in load_yaml_all((folder / patch["path"]).read_text()):
            target = by_id.get(ident(change))
            if target is None:
                raise ValueError(f"{folder}: patch {ident(change)} matches no resource")
            _merge(target, change)
    for image in spec.get("images", []):
        for container in _containers(objects):
            if container.get("image") == image["name"]:
                container["image"] = f"{image.get('newName', image['name'])}:{image['newTag']}"
    for label in spec.get("labels", []):
        if label.get("includeSelectors") or label.get("includeTemplates"):
            raise ValueError("the test renderer only puts labels on metadata")
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(label["pairs"])
    return objects


def _merge(target: Obj, change: Obj) -> None:
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _containers(objects: list[Obj]) -> list[Obj]:
    return [
        c
        for o in objects
        if o["kind"] == "Deployment"
        for c in o["spec"]["template"]["spec"]["containers"]
    ]


def kubectl_render(folder: Path) -> list[Obj]:
    """The folder rendered by the real kustomize (provisioned into .local/bin by
    scripts/system-deps.sh; ``kubectl kustomize`` where kubectl is installed instead)."""
    local = Path(__file__).resolve().parents[2] / ".local" / "bin" / "kustomize"
    tool = str(local) if local.exists() else shutil.which("kustomize")
    if tool is not None:
        command = [tool, "build", str(folder)]
    elif (kubectl := shutil.which("kubectl")) is not None:
        command = [kubectl, "kustomize", str(folder)]
    else:
        raise AssertionError("no kustomize: run `make system-deps` (it builds one with Go)")
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{done.stderr}")
    return load_yaml_all(done.stdout)
