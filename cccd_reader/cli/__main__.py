"""``python -m cccd_reader.cli``: the ``cccd-read`` command without its installed script."""

from cccd_reader.cli import main

main(prog_name="cccd-read")
