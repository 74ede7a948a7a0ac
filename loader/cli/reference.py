"""docs/cli.md, generated from every command's --help: ``python -m loader.cli.reference > docs/cli.md``."""

from __future__ import annotations

import click

from . import main


def reference_markdown() -> str:
    """docs/cli.md: every command's --help, exactly as printed at 100 columns."""
    out = ["# CLI reference", "",
           "Generated from the code by `python -m loader.cli.reference > docs/cli.md`; a test fails when "
           "it differs from `--help`.", ""]
    with click.Context(main) as listing:
        commands = [("callgraph", main)] + [(f"callgraph {name}", main.get_command(listing, name))
                                            for name in main.list_commands(listing)]
    for title, command in commands:
        with click.Context(command, info_name=title, terminal_width=100, max_content_width=100,
                           help_option_names=["-h", "--help"]) as ctx:
            out += [f"## {title}", "", "```", command.get_help(ctx), "```", ""]
    return "\n".join(out)



if __name__ == "__main__":
    print(reference_markdown(), end="")
