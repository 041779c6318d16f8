"""Action plugin: run the module in the controller's process on a local connection."""

from __future__ import annotations

from ansible_collections.nomad_previews.previews.plugins.modules import preview_nomad_variable
from ansible_collections.nomad_previews.previews.plugins.plugin_utils.in_process import (
    InProcessAction,
)


class ActionModule(InProcessAction):
    """Action plugin of preview_nomad_variable."""

    MODULE = preview_nomad_variable
