"""How a worker process is started: as an unprivileged user, or inside bubblewrap.

Modes, strongest first:
- "bwrap": bubblewrap is installed and works here. The worker sees the file system
  read-only except its own temporary directory, has no network, its own PID
  namespace, and dies with the grader.
- "user": the grader runs as root. The worker starts as root (the interpreter may live
  where only root can reach it, as under /root/.pyenv), loads everything it needs,
  then switches for good to the unprivileged user `nobody` (or $HANDGRAD_SANDBOX_USER)
  before it imports the submission: it cannot write the project's files or the report
  path, nor signal the grader, and it runs in its own session.
- "plain": neither is possible. The worker runs as the grader's own user in its own
  session and temporary directory. Isolation then rests on the limits and the static
  scan; the README says so.
In every mode the worker caps its own address space (hard limit, so the submission
cannot raise it), file sizes and core dumps before it imports the submission.
"""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sandbox:
    mode: str
    uid: int | None = None
    gid: int | None = None

    def command(self, worker_args: list[str], workdir: Path) -> list[str]:
        python = [sys.executable, "-I", "-m", "handgrad.grading.worker", *worker_args]
        if self.mode == "user":
            python += ["--drop-to", f"{self.uid}:{self.gid}"]
        if self.mode != "bwrap":
            return python
        return [
            "bwrap",
            "--ro-bind", "/", "/",
            "--dev", "/dev",
            "--proc", "/proc",
            "--bind", str(workdir), str(workdir),
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--chdir", str(workdir),
            *python,
        ]  # fmt: skip

    def popen_options(self) -> dict[str, object]:
        return {"start_new_session": True}

    def prepare(self, workdir: Path) -> None:
        """Give the worker's user its directory (and nothing else)."""
        if self.mode == "user" and self.uid is not None and self.gid is not None:
            for root, dirs, files in os.walk(workdir):
                for name in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
                    os.chown(name, self.uid, self.gid)


def _bwrap_works() -> bool:
    if shutil.which("bwrap") is None:
        return False
    try:
        probe = subprocess.run(
            ["bwrap", "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


@functools.lru_cache(maxsize=1)
def detect() -> Sandbox:
    """The strongest mode available here; HANDGRAD_SANDBOX=bwrap|user|plain forces one."""
    forced = os.environ.get("HANDGRAD_SANDBOX", "")
    if forced not in ("", "bwrap", "user", "plain"):
        raise ValueError(f"HANDGRAD_SANDBOX must be bwrap, user or plain, not {forced!r}")
    if forced in ("", "bwrap") and _bwrap_works():
        return Sandbox("bwrap")
    if forced == "bwrap":
        raise RuntimeError("HANDGRAD_SANDBOX=bwrap, but bubblewrap is not installed or does not work here")
    if forced in ("", "user") and os.geteuid() == 0:
        name = os.environ.get("HANDGRAD_SANDBOX_USER", "nobody")
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise RuntimeError(f"sandbox user {name!r} does not exist") from None
        return Sandbox("user", entry.pw_uid, entry.pw_gid)
    if forced == "user":
        raise RuntimeError("HANDGRAD_SANDBOX=user needs the grader to run as root")
    return Sandbox("plain")
