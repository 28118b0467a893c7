"""``.. django-command:: stripe_sync``: a management command's help and options, read
from its own argument parser, so the reference cannot fall behind the code."""

from __future__ import annotations

import argparse

from django.core.management import load_command_class
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

# Options every Django command has (--verbosity, --settings, ...): documented by Django.
DJANGO_OPTIONS = {"--version", "-v", "--settings", "--pythonpath", "--traceback",
                  "--no-color", "--force-color", "--skip-checks", "-h"}


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("`", "\\`").replace("|", "\\|").replace("_", "\\_")


class DjangoCommand(SphinxDirective):
    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        command = load_command_class("stripe_django", name)
        parser = command.create_parser("manage.py", name)
        formatter = parser._get_formatter()
        lines = [f".. program:: manage.py {name}", "", _escape(command.help or ""), ""]
        for action in parser._actions:
            if any(flag in DJANGO_OPTIONS for flag in action.option_strings):
                continue
            if action.option_strings:
                metavar = ""
                if action.nargs != 0:
                    metavar = " " + str(action.metavar or action.dest.upper())
                spec = ", ".join(flag + metavar for flag in action.option_strings)
            else:
                spec = action.metavar or action.dest
            if action.help == argparse.SUPPRESS:
                continue
            help_text = formatter._expand_help(action) if action.help else ""
            lines += [f".. option:: {spec}", "", "   " + _escape(help_text or "(no help)"), ""]
        container = nodes.section()
        self.state.nested_parse(StringList(lines, source=f"<command {name}>"), 0, container)
        return container.children


def setup(app):  # type: ignore[no-untyped-def]
    app.add_directive("django-command", DjangoCommand)
    return {"parallel_read_safe": True}
