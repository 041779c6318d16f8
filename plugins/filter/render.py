"""Filters that check an app profile and build a preview's render model."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.nomad_previews.previews.plugins.module_utils.hcl_format import format_hcl
from ansible_collections.nomad_previews.previews.plugins.module_utils.model import (
    build_preview,
    submitted_summary,
    summary,
)
from ansible_collections.nomad_previews.previews.plugins.module_utils.profile import (
    ProfileError,
    check_profile,
)


def preview_profile(app: Mapping[str, Any], opt_in: Sequence[str] | None = None) -> dict[str, Any]:
    """Check ``preview_app`` against the preview rules and fill in its defaults."""
    try:
        return check_profile(app, opt_in or ())
    except ProfileError as err:
        raise AnsibleFilterError(str(err)) from err


def preview_model(
    identity: Mapping[str, Any], profile: Mapping[str, Any], settings: Mapping[str, Any]
) -> dict[str, Any]:
    """Build the render model from an identity, a checked profile and site settings."""
    return build_preview(identity, profile, settings)


def preview_summary(model: Mapping[str, Any]) -> dict[str, Any]:
    """The ``summary.json`` document of a preview."""
    return summary(model)


def preview_submitted(
    rendered: Mapping[str, Any], running: Mapping[str, Any], registered: Sequence[str] = ()
) -> dict[str, Any]:
    """The summary of a submitted preview: job status, addresses and what this run registered."""
    return submitted_summary(rendered, running, list(registered))


class FilterModule:
    """Profile, model and layout filters for nomad_previews."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "preview_profile": preview_profile,
            "preview_model": preview_model,
            "preview_summary": preview_summary,
            "preview_submitted": preview_submitted,
            "hcl_fmt": format_hcl,
        }
