"""Print docs/cli.md: ``python -m loader.cli_reference > docs/cli.md``."""

from .cli import reference_markdown

print(reference_markdown(), end="")
