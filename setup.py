"""Packaging hooks that pyproject.toml cannot express: ship ``netslice-gymnasium.pth`` at the root of site-packages.

The ``.pth`` file arms :mod:`netslice_gymnasium_hook` at interpreter start-up, so that
``gymnasium.make("netslice/Slicing-v0")`` works without importing netslice first (Gymnasium 1.x loads no
plugins). setuptools puts package files only inside packages, so two commands are extended:

* ``build_py`` writes the file at the root of the build directory: regular wheels (``pip install .``,
  ``pip wheel .``) install it into site-packages, as pytest-cov and coverage.py do with theirs;
* ``editable_wheel`` (PEP 660, ``pip install -e .``) builds its wheel from a ``.pth`` of its own and ignores
  the build directory, so the file is added to that wheel afterwards, with its RECORD line. Only the public
  result of the command is used (the wheel in ``--dist-dir``), none of setuptools' private methods.

Everything else lives in pyproject.toml.
"""

from __future__ import annotations

import base64
import hashlib
import os
import zipfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

PTH_NAME = "netslice-gymnasium.pth"
# site.py runs a .pth line that starts with "import"; the exec keeps a missing hook module (a half-removed
# install) from printing an error at every start-up. Lines starting with "#" are comments.
PTH_TEXT = (
    "# netslice: register netslice/Slicing-v0 when gymnasium is imported (see netslice_gymnasium_hook)\n"
    'import sys; exec("try: import netslice_gymnasium_hook as h\\nexcept ImportError: h = None\\nh and h.install()")\n'
)


class BuildPyWithPth(build_py):
    """``build_py`` that also writes the start-up ``.pth`` file at the root of the build directory."""

    def run(self) -> None:
        """Build the packages, then the ``.pth`` file."""
        super().run()
        if not self.editable_mode:
            target = Path(self.build_lib, PTH_NAME)
            target.write_text(PTH_TEXT, encoding="utf-8")
            self.announce(f"writing {target}", level=2)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        """The built files, the ``.pth`` file included (so that ``install --record`` lists it)."""
        outputs = super().get_outputs(include_bytecode)
        return outputs if self.editable_mode else [*outputs, os.path.join(self.build_lib, PTH_NAME)]


class EditableWheelWithPth(editable_wheel):
    """PEP 660 ``editable_wheel`` that adds the start-up ``.pth`` file to the wheel it builds."""

    def run(self) -> None:
        """Build the editable wheel, then add the ``.pth`` file and its RECORD line to it."""
        super().run()
        wheels = sorted(Path(self.dist_dir).glob("*.editable-*.whl"), key=lambda p: p.stat().st_mtime)
        if not wheels:
            raise FileNotFoundError(f"editable_wheel left no wheel in {self.dist_dir}")
        add_to_wheel(wheels[-1], PTH_NAME, PTH_TEXT.encode("utf-8"))


def add_to_wheel(wheel: Path, name: str, data: bytes) -> None:
    """Rewrite ``wheel`` with the file ``name`` added at its root and listed in its RECORD (PEP 376 hash)."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    tmp = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                content += f"{name},sha256={digest},{len(data)}\n".encode()
            dst.writestr(info, content)
        dst.writestr(name, data)
    tmp.replace(wheel)


setup(cmdclass={"build_py": BuildPyWithPth, "editable_wheel": EditableWheelWithPth})
