"""Run the collection's Nomad modules inside the controller's process.

The Nomad modules talk to an HTTP API, not to the host they run on. On a local connection,
shipping each one as a separate Python process costs far more than its API calls, so their
action plugins run the module's own ``run`` function here instead, with the same argument
spec, check mode and diff mode. On any other connection the module is shipped as usual, so
``delegate_to`` a host that can reach Nomad keeps working.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, NoReturn

from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase


class ModuleExit(Exception):
    """Raised by the stand-in's exit_json and fail_json to end the module's run."""

    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__(result.get("msg", ""))
        self.result = result


class InProcessModule:
    """The part of AnsibleModule the collection's Nomad modules use."""

    def __init__(self, params: dict[str, Any], check_mode: bool, diff: bool) -> None:
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        self.warnings: list[str] = []

    def warn(self, warning: str) -> None:
        """Collect a warning for the task result."""
        self.warnings.append(warning)

    def exit_json(self, **result: Any) -> NoReturn:
        """End the run with a result."""
        raise ModuleExit(result)

    def fail_json(self, msg: str, **result: Any) -> NoReturn:
        """End the run with a failure."""
        raise ModuleExit({**result, "failed": True, "msg": msg})


class InProcessAction(ActionBase):  # type: ignore[misc]  # ActionBase is untyped
    """Action plugin that runs ``MODULE.run`` in process on a local connection."""

    MODULE: ModuleType

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        if self._connection.transport != "local":
            result.update(self._execute_module(task_vars=task_vars))
            return result

        validation, params = self.validate_argument_spec(
            argument_spec=self.MODULE.ARGUMENT_SPEC, **self.MODULE.ARGUMENT_RULES
        )
        module = InProcessModule(params, self._task.check_mode, self._task.diff)
        try:
            self.MODULE.run(module)
        except ModuleExit as done:
            outcome = done.result
        else:
            outcome = {"failed": True, "msg": f"{self._task.action} ended without a result"}

        for warning in module.warnings:
            self._display.warning(warning)
        # As AnsibleModule does: no value of a no_log option appears in what is returned.
        result.update(remove_values(outcome, validation._no_log_values))
        return result
