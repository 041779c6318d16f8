"""Look up the state of previews on Nomad: read-only, from the namespace meta."""

from __future__ import annotations

DOCUMENTATION = r"""
name: preview_state
short_description: Read the state of previews from Nomad
description:
  - Returns, for each preview ID given, what the project keeps about it in its Nomad namespace
    (repository, PR, head SHA, state, created and last activity, idle time, jobs), or an empty
    dict when no such preview exists.
  - Reads only; two API calls whatever the number of terms.
version_added: 0.1.0
author:
  - nomad-previews maintainers
extends_documentation_fragment:
  - nomad_previews.previews.nomad
options:
  _terms:
    description: Preview IDs, such as V(shop-pr-42).
    required: true
    type: list
    elements: str
  prefix:
    description: Namespaces whose name starts with this prefix are previews.
    type: str
    default: preview-
"""

EXAMPLES = r"""
- name: Show how long a preview has been idle
  ansible.builtin.debug:
    msg: "{{ lookup('nomad_previews.previews.preview_state', 'shop-pr-42').idle_seconds }}"
"""

RETURN = r"""
_raw:
  description: One dict per term, as C(preview_info) returns a preview; empty when none exists.
  type: list
  elements: dict
"""

from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.nomad_previews.previews.plugins.module_utils.lifecycle import (
    list_previews,
)
from ansible_collections.nomad_previews.previews.plugins.module_utils.nomad import (
    CONNECTION_ARGSPEC,
    NomadError,
    nomad_client,
)


class LookupModule(LookupBase):  # type: ignore[misc]  # LookupBase is untyped
    """Read the state of previews by ID."""

    def run(
        self, terms: list[str], variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[dict[str, Any]]:
        self.set_options(var_options=variables, direct=kwargs)
        params = {name: self.get_option(name) for name in CONNECTION_ARGSPEC}

        try:
            previews = list_previews(nomad_client(params), self.get_option("prefix"))
        except NomadError as exc:
            raise AnsibleLookupError(str(exc)) from exc

        by_id = {preview["preview_id"]: preview for preview in previews}
        return [by_id.get(term, {}) for term in terms]
