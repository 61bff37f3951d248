"""The template engine the server and the SDK share: sandboxed Jinja2 with includes.

This package imports neither the database nor the web framework, so a client renders
locally with exactly the code the server runs.
"""

from registry.templating.engine import (
    IncludeRef,
    TemplateInfo,
    analyze,
    parse_ref,
    render_template,
    template_renderer,
)

__all__ = [
    "IncludeRef",
    "TemplateInfo",
    "analyze",
    "parse_ref",
    "render_template",
    "template_renderer",
]
