"""Heredoc bodies for Nomad templates, and the layout pass over rendered HCL."""

from __future__ import annotations

import pytest

from ansible_collections.nomad_previews.previews.plugins.module_utils.hcl import hcl_text
from ansible_collections.nomad_previews.previews.plugins.module_utils.hcl_format import format_hcl
from tests.render.hclread import read_hcl

HEREDOC_VALUES = [
    pytest.param(
        '{{ range nomadService "q" -}}\nURL=redis://{{ .Address }}\n{{ end -}}\n', id="go-template"
    ),
    pytest.param('A="quoted" \\ back\\slash\n  indented line\n', id="quotes-and-backslashes"),
    pytest.param("costs ${HOME} and %{ if x }\nsecond\n", id="interpolation-sequences"),
]


@pytest.mark.parametrize("value", HEREDOC_VALUES)
def test_a_multi_line_body_becomes_a_heredoc_that_parses_back_exactly(value: str) -> None:
    text = hcl_text(value, 4)

    assert text.startswith("<<-EOT\n")
    assert read_hcl(f"t {{\n  data = {text}\n}}\n")["t"][0]["data"] == value


QUOTED_VALUES = [
    pytest.param("one line", id="one-line"),
    pytest.param("no trailing newline\nsecond", id="no-final-newline"),
    pytest.param("first\n\nthird\n", id="empty-line"),
    pytest.param("first\nEOT\n", id="marker-line"),
    pytest.param("  all\n  indented\n", id="shared-indentation"),
    pytest.param("trailing \nblank\n", id="trailing-blank"),
    pytest.param("tab\there\nx\n", id="tab"),
]


@pytest.mark.parametrize("value", QUOTED_VALUES)
def test_a_body_a_heredoc_cannot_carry_exactly_stays_a_quoted_string(value: str) -> None:
    text = hcl_text(value, 4)

    assert text.startswith('"')
    assert read_hcl(f"t {{\n  data = {text}\n}}\n")["t"][0]["data"] == value


ARGUMENTS = ", ".join(f'"argument-{n}"' for n in range(12))


def test_the_layout_pass_aligns_attributes_per_block_and_wraps_long_lists() -> None:
    rendered = (
        'job "x" {\n\n'
        '  type = "service"\n'
        '  datacenters = ["*"]   \n\n\n'
        '  group "g" {\n'
        "    count = 1\n\n"
        f"    args = [{ARGUMENTS}]\n"
        "  }\n"
        "}\n"
    )

    formatted = format_hcl(rendered)

    assert formatted == (
        'job "x" {\n'
        '  type        = "service"\n'
        '  datacenters = ["*"]\n\n'
        '  group "g" {\n'
        "    count = 1\n\n"
        "    args = [\n"
        '      "argument-0", "argument-1", "argument-2", "argument-3", "argument-4",'
        ' "argument-5",\n'
        '      "argument-6", "argument-7", "argument-8", "argument-9", "argument-10",'
        ' "argument-11",\n'
        "    ]\n"
        "  }\n"
        "}\n"
    )
    assert read_hcl(formatted) == read_hcl(rendered)


def test_the_layout_pass_leaves_heredoc_bodies_alone() -> None:
    rendered = "t {\n  data = <<-EOT\n    a = 1\n    bb = 2\n    EOT\n  x = 1\n}\n"

    assert format_hcl(rendered) == rendered
