"""Running ``cccd-read`` as a user does: a separate process, this tree's code, a private working folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("COLUMNS", "200")
    env.pop("LANG", None)
    env.pop("LANGUAGE", None)
    env.pop("LC_ALL", None)
    env.pop("LC_MESSAGES", None)
    env.update(extra)
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "cccd_reader.cli", *args]


def cccd_read(*args: str, cwd: Path, input: str | bytes | None = None, timeout: float = 120,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``cccd-read ARGS`` in ``cwd``; stdout and stderr as text (UTF-8)."""
    data = input.encode("utf-8") if isinstance(input, str) else input
    proc = subprocess.run(command(*args), cwd=cwd, input=data, capture_output=True, timeout=timeout,
                          env=env or cli_env())
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode("utf-8"),
                                       proc.stderr.decode("utf-8"))
