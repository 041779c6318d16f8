"""ACL policies and their evaluation: which capabilities a token holds in a namespace.

Rules are HCL (or JSON) with `namespace "<glob>" { policy, capabilities, variables { path ... } }`
plus the coarse `node`, `agent`, `operator`, `quota`, `plugin` and `host_volume` blocks. The
closest matching namespace glob wins, as in Nomad.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from typing import Any

import hcl2
import lark
from hcl2 import SerializationOptions

POLICY_NAME = re.compile(r"^[a-zA-Z0-9-]{1,128}$")
READ = [
    "list-jobs",
    "parse-job",
    "read-job",
    "csi-list-volume",
    "csi-read-volume",
    "read-job-scaling",
    "list-scaling-policies",
    "read-scaling-policy",
    "host-volume-read",
]
WRITE = [
    *READ,
    "scale-job",
    "submit-job",
    "dispatch-job",
    "read-logs",
    "read-fs",
    "alloc-exec",
    "alloc-lifecycle",
    "csi-mount-volume",
    "csi-write-volume",
    "submit-recommendation",
    "host-volume-create",
]
SCALE = [
    "list-scaling-policies",
    "read-scaling-policy",
    "read-job-scaling",
    "scale-job",
    "read-job",
    "submit-recommendation",
]
NAMESPACE_CAPABILITIES = {
    *WRITE,
    "deny", "alloc-node-exec", "sentinel-override", "csi-register-plugin", "host-volume-register",
    "host-volume-write", "host-volume-delete", "register-job", "revert-job", "deregister-job",
    "purge-job", "evaluate-job", "plan-job", "tag-job-version", "stable-job", "fail-deployment",
    "pause-deployment", "promote-deployment", "unblock-deployment", "cancel-deployment",
    "set-alloc-health-deployment", "gc-allocation", "pause-allocation", "force-periodic-job",
    "delete-service-registration",
}  # fmt: skip
VARIABLE_CAPABILITIES = {"read", "write", "list", "destroy", "deny"}
COARSE = {"node", "agent", "operator", "quota", "plugin"}
OPTIONS = SerializationOptions(with_comments=False, strip_string_quotes=True)


class PolicyError(ValueError):
    """Rules Nomad would refuse; the message follows `failed to parse rules: `."""


@dataclass
class NamespaceRule:
    glob: str
    capabilities: set[str]
    variables: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class Policy:
    namespaces: list[NamespaceRule] = field(default_factory=list)
    coarse: dict[str, str] = field(default_factory=dict)


def parse_rules(rules: str) -> Policy:
    """Parse policy rules (HCL or JSON); PolicyError with Nomad's wording when invalid."""
    try:
        raw = (
            json.loads(rules)
            if rules.lstrip().startswith("{")
            else hcl2.loads(rules, serialization_options=OPTIONS)
        )
    except (json.JSONDecodeError, lark.exceptions.LarkError, ValueError) as exc:
        raise PolicyError(f"Failed to parse ACL Policy: {exc}") from exc
    policy = Policy()
    for key, value in raw.items():
        if key == "namespace":
            for block in _blocks(value):
                policy.namespaces.append(_namespace(block))
        elif key in COARSE:
            for block in _blocks(value):
                policy.coarse[key] = str(block.get("policy", ""))
        elif key in {"host_volume", "node_pool"}:
            continue
        elif not key.startswith("__"):
            raise PolicyError(f"Invalid or duplicate policy keys: {key}")
    if not policy.namespaces and not policy.coarse:
        raise PolicyError(f"Invalid policy: {rules}")
    return policy


def _blocks(value: Any) -> list[dict[str, Any]]:
    """Flatten python-hcl2's blocks (and JSON objects) to bodies, a label under `__label`."""
    items = value if isinstance(value, list) else [value]
    out: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if "__is_block__" in item:
            out.append(item)
            continue
        for label, inner in item.items():
            for body in inner if isinstance(inner, list) else [inner]:
                if isinstance(body, dict):
                    out.append({**body, "__label": label})
    return out


def _namespace(block: dict[str, Any]) -> NamespaceRule:
    name = str(block.get("__label", ""))
    if not re.fullmatch(r"[a-zA-Z0-9\-*]{1,128}", name):
        raise PolicyError(f"Invalid namespace name: {name!r}")
    policy = str(block.get("policy", ""))
    expanded = {"deny": ["deny"], "read": READ, "write": WRITE, "scale": SCALE, "": []}
    if policy not in expanded:
        raise PolicyError(f"Invalid namespace policy: {policy!r}")
    capabilities = set(expanded[policy])
    for capability in block.get("capabilities") or []:
        if capability not in NAMESPACE_CAPABILITIES:
            raise PolicyError(f"Invalid namespace capability '{capability}': {name!r}")
        capabilities.add(capability)
    rule = NamespaceRule(glob=name, capabilities=capabilities)
    for variables in _blocks(block.get("variables")) if block.get("variables") else []:
        paths = _blocks(variables.get("path")) if variables.get("path") else []
        if not paths:
            raise PolicyError(f"Invalid variable policy: no variable paths in namespace {name}")
        for path in paths:
            spec = str(path.get("__label", ""))
            if not spec:
                raise PolicyError(f"Invalid missing variable path in namespace {name}")
            if spec.startswith("/"):
                raise PolicyError(
                    f"Invalid variable path {spec!r} in namespace {name}: cannot start with a "
                    "leading '/'`"
                )
            caps = set(path.get("capabilities") or [])
            for capability in caps:
                if capability not in VARIABLE_CAPABILITIES:
                    raise PolicyError(
                        f"Invalid variable capability '{capability}' in namespace {name}"
                    )
            if "deny" in caps:
                caps = {"deny"}
            elif "read" in caps:
                caps.add("list")
            rule.variables[spec] = caps
    return rule


def _closest(globs: list[str], name: str) -> str | None:
    """Nomad's closest matching glob: an exact name, else the least wildcarded match."""
    if name in globs:
        return name
    matching = [glob for glob in globs if "*" in glob and fnmatch.fnmatchcase(name, glob)]
    if not matching:
        return None
    return min(matching, key=lambda glob: (len(name) - len(glob.replace("*", "")), glob))


@dataclass(frozen=True)
class Claim:
    """The allocation a workload identity speaks for: its namespace, job, group and task.

    `job` is the parent's ID for a periodic or dispatched child, as Nomad signs it.
    """

    namespace: str
    job: str
    group: str
    task: str

    def reads(self, namespace: str, path: str) -> bool:
        """Whether Nomad's implicit workload policy lets this identity read and list `path`."""
        own = {
            "nomad/jobs",
            f"nomad/jobs/{self.job}",
            f"nomad/jobs/{self.job}/{self.group}",
            f"nomad/jobs/{self.job}/{self.group}/{self.task}",
        }
        return namespace == self.namespace and path in own


@dataclass
class Acl:
    """The merged capabilities of a token's policies, and a workload identity's claim."""

    management: bool
    policies: list[Policy]
    claim: Claim | None = None

    def capabilities(self, namespace: str) -> set[str]:
        found: set[str] = set()
        for policy in self.policies:
            rules = {rule.glob: rule for rule in policy.namespaces}
            glob = _closest(list(rules), namespace)
            if glob is not None:
                found |= rules[glob].capabilities
        if "deny" in found:
            return set()
        return found

    def allows(self, namespace: str, *capabilities: str) -> bool:
        """Whether any of `capabilities` is held in `namespace` (`*` means any namespace)."""
        if self.management:
            return True
        if namespace == "*":
            return any(self.allows_somewhere(capability) for capability in capabilities)
        held = self.capabilities(namespace)
        return any(capability in held for capability in capabilities)

    def allows_somewhere(self, capability: str) -> bool:
        return any(
            capability in rule.capabilities
            for policy in self.policies
            for rule in policy.namespaces
        )

    def allows_variable(self, namespace: str, path: str, capability: str) -> bool:
        """A policy naming the path exactly wins, then the workload's claim, then globs."""
        if self.management:
            return True
        found: set[str] = set()
        exact = False
        for policy in self.policies:
            rules = {rule.glob: rule for rule in policy.namespaces}
            glob = _closest(list(rules), namespace)
            if glob is None:
                continue
            paths = rules[glob].variables
            spec = _closest(list(paths), path)
            if spec is not None:
                found |= paths[spec]
                exact = exact or spec == path
        if not exact and self.claim is not None and self.claim.reads(namespace, path):
            return capability in {"read", "list"}
        return capability in found and "deny" not in found

    def coarse(self, area: str, level: str) -> bool:
        if self.management:
            return True
        order = {"deny": 0, "read": 1, "list": 1, "write": 2}
        held = max((order.get(p.coarse.get(area, ""), -1) for p in self.policies), default=-1)
        return held >= order[level] and held > 0
