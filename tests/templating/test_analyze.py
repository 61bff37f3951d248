"""What analysing a template reports, and what it refuses before anything is stored."""

from __future__ import annotations

import pytest

from registry.errors import InvalidTemplate
from registry.templating import analyze


def test_variables_and_includes() -> None:
    info = analyze(
        '{% set greeting = "Hi" %}{{ greeting }} {{ who|upper }}'
        '{% for item in items %}{{ item }}{% endfor %}{% include "shared/tone" %}'
    )
    assert info.variables == {"who", "items"}
    assert info.includes == ("shared/tone",)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ x|nosuchfilter }}", "No filter named 'nosuchfilter'"),
        ("{{ x is nosuchtest }}", "No test named 'nosuchtest'"),
        ("{% for a in b %}", "Unexpected end of template"),
        ("{% extends 'base' %}", "is not supported"),
        ("{{ x._secret }}", "private attribute"),
    ],
)
def test_what_would_not_compile_is_refused_with_its_line(template: str, message: str) -> None:
    with pytest.raises(InvalidTemplate) as raised:
        analyze("line one\n" + template)
    assert message in raised.value.detail
    assert raised.value.errors[0].line == 2
