"""The bare id ``netslice/Slicing-v0`` works with no netslice import (issue 10 item 1).

Gymnasium 1.x loads no plugins; ``netslice-gymnasium.pth`` (written into site-packages by setup.py, for
wheels and editable installs alike) arms :mod:`netslice_gymnasium_hook` at start-up, which registers the
id when Gymnasium is imported. Every check runs in a fresh interpreter of this environment, as a user's
script, a ``multiprocessing`` spawn child or a Ray worker would.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import netslice_gymnasium_hook
from netslice.intelligence.envs import ENV_ID

ROOT = Path(__file__).resolve().parents[2]
# Top-level modules that must stay unloaded at start-up when Gymnasium is not used.
HEAVY = ("gymnasium", "netslice", "numpy", "torch", "scipy", "pettingzoo")


def _python(code: str, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [sys.executable, *args, "-c", code],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout + done.stderr


def _installed_pth() -> Path:
    found = [Path(p, "netslice-gymnasium.pth") for p in sys.path if Path(p, "netslice-gymnasium.pth").is_file()]
    assert found, "netslice-gymnasium.pth is not in site-packages: reinstall netslice (bash scripts/setup.sh)"
    return found[0]


def test_the_start_up_hook_is_installed_in_this_environment() -> None:
    # Without it every test below would fail for a reason unrelated to the hook itself.
    assert "import netslice_gymnasium_hook" in _installed_pth().read_text()


def test_bare_id_makes_the_env_with_no_netslice_import() -> None:
    out = _python(
        "import sys\n"
        "assert not any(m == 'netslice' or m.startswith('netslice.') for m in sys.modules)\n"
        "import gymnasium\n"
        "env = gymnasium.make('netslice/Slicing-v0')\n"
        "obs, info = env.reset(seed=0)\n"
        "assert 'torch' not in sys.modules, 'registration imported torch'\n"
        "print(env.spec.id, env.spec.max_episode_steps, obs.shape)\n"
    )
    assert out.split() == [ENV_ID, "24", "(44,)"]


@pytest.mark.parametrize(("mode", "kind"), [("vector_entry_point", "SliceVectorEnv"), ("sync", "SyncVectorEnv")])
def test_bare_id_makes_vector_envs(mode: str, kind: str) -> None:
    out = _python(
        "import gymnasium\n"
        f"envs = gymnasium.make_vec('netslice/Slicing-v0', num_envs=3, vectorization_mode='{mode}')\n"
        "obs, info = envs.reset(seed=0)\n"
        "print(type(envs.unwrapped).__name__, envs.metadata['autoreset_mode'], obs.shape)\n"
    )
    assert out.split() == [kind, "AutoresetMode.NEXT_STEP", "(3,", "44)"]


def test_bare_id_works_in_multiprocessing_spawn_children(tmp_path: Path) -> None:
    # A spawn child is a fresh interpreter: it registers the id through its own start-up hook.
    script = tmp_path / "spawn_children.py"
    script.write_text(
        "import multiprocessing as mp\n"
        "import sys\n\n\n"
        "def child(seed):\n"
        "    import gymnasium\n"
        "    assert 'netslice.intelligence.envs.single' not in sys.modules  # registration only, so far\n"
        "    env = gymnasium.make('netslice/Slicing-v0')\n"
        "    obs, _ = env.reset(seed=seed)\n"
        "    return env.spec.id, obs.shape\n\n\n"
        "if __name__ == '__main__':\n"
        "    with mp.get_context('spawn').Pool(2) as pool:\n"
        "        print(pool.map(child, [0, 1]))\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == f"[('{ENV_ID}', (44,)), ('{ENV_ID}', (44,))]"


def test_start_up_imports_only_the_tiny_hook() -> None:
    # `python -X importtime`: the hook module is armed, but nothing heavy is imported until gymnasium is.
    log = _python("pass", "-X", "importtime")
    imported = {line.split("|")[-1].strip() for line in log.splitlines() if line.startswith("import time:")}
    assert "netslice_gymnasium_hook" in imported
    assert not {name for name in imported if name.split(".")[0] in HEAVY}
    out = _python(f"import sys; print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))")
    assert out.strip() == "[]"


def test_the_hook_imports_only_the_registration_module_with_gymnasium() -> None:
    out = _python(
        "import sys, gymnasium\n"
        "print(sorted(m for m in sys.modules if m.startswith('netslice')))\n"
        "print('netslice/Slicing-v0' in gymnasium.registry, 'torch' in sys.modules)\n"
    )
    modules, registered = out.strip().splitlines()
    assert modules == str(
        [
            "netslice",
            "netslice.intelligence",
            "netslice.intelligence.envs",
            "netslice.intelligence.envs.registration",
            "netslice_gymnasium_hook",
        ]
    )
    assert registered == "True False"


def test_gymnasium_keeps_its_usual_loader() -> None:
    out = _python("import gymnasium\nprint(type(gymnasium.__loader__).__name__, gymnasium.__spec__.name)")
    assert out.split() == ["SourceFileLoader", "gymnasium"]


def test_registering_by_import_as_well_gives_no_override_warning() -> None:
    # `import netslice.intelligence.envs` first (the former workaround) imports gymnasium, which fires the hook
    # inside register_envs(): the id must still be registered exactly once, silently.
    out = _python(
        "import warnings\n"
        "warnings.simplefilter('error')\n"
        "import netslice.intelligence.envs\n"
        "import gymnasium\n"
        "gymnasium.make('netslice/Slicing-v0')\n"
        "print('ok')\n"
    )
    assert out.strip() == "ok"


def test_the_environment_variable_turns_the_hook_off() -> None:
    out = _python(
        "import sys, gymnasium\n"
        "print('netslice_gymnasium_hook' in sys.modules, 'netslice/Slicing-v0' in gymnasium.registry)\n"
        "try:\n"
        "    gymnasium.make('netslice/Slicing-v0')\n"
        "except gymnasium.error.NamespaceNotFound as exc:\n"
        "    print(type(exc).__name__)\n",
        env={netslice_gymnasium_hook.DISABLE_ENV: "1"},
    )
    assert out.split() == ["True", "False", "NamespaceNotFound"]


def test_a_broken_netslice_warns_and_never_breaks_gymnasium() -> None:
    # A None entry in sys.modules makes `import netslice.intelligence.envs.registration` raise ImportError.
    out = _python(
        "import sys, warnings\n"
        "sys.modules['netslice.intelligence.envs.registration'] = None\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    import gymnasium\n"
        "gymnasium.make('CartPole-v1')\n"
        "(w,) = [w for w in caught if 'netslice' in str(w.message)]\n"
        "print(w.category.__name__, 'netslice/Slicing-v0' in gymnasium.registry)\n"
        "print(w.message)\n"
    )
    first, message = out.splitlines()[:2]
    assert first.split() == ["RuntimeWarning", "False"]
    assert message.startswith("netslice could not register netslice/Slicing-v0 with Gymnasium (ModuleNotFoundError(")


def test_a_missing_hook_module_is_silent_at_start_up() -> None:
    # The .pth line of a half-removed install (hook module gone) must not print an error at every start-up.
    (line,) = [line for line in _installed_pth().read_text().splitlines() if line.startswith("import")]
    broken = line.replace("netslice_gymnasium_hook", "no_such_module")
    done = subprocess.run(
        [sys.executable, "-c", f"exec({broken!r}); print('ok')"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "ok", "")


def test_find_spec_passes_every_other_name_on() -> None:
    assert netslice_gymnasium_hook.GymnasiumFinder.find_spec("numpy") is None
    assert netslice_gymnasium_hook.GymnasiumFinder.find_spec("gymnasium.envs") is None


# ------------------------------------------------------------------------------------ packaging


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


@pytest.mark.slow
@pytest.mark.parametrize("hook", ["build_wheel", "build_editable"])
def test_wheels_ship_the_pth_file_at_the_root_with_its_record_line(tmp_path: Path, hook: str) -> None:
    # Both PEP 517 hooks pip uses: `pip install .` / `pip wheel .` and `pip install -e .` (PEP 660).
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    _python(f"import setuptools.build_meta as b; b.{hook}('dist')", cwd=project)
    (wheel,) = (project / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        pth = zf.read("netslice-gymnasium.pth")
        (record,) = (n for n in names if n.endswith(".dist-info/RECORD"))
        records = zf.read(record).decode()
    assert re.search(r"^import sys; exec\(.*netslice_gymnasium_hook.*\)$", pth.decode(), flags=re.M)
    assert f"netslice-gymnasium.pth,{_record_hash(pth)},{len(pth)}" in records.splitlines()
    if hook == "build_wheel":
        assert "netslice_gymnasium_hook.py" in names
    else:  # the editable wheel points at src/, where the hook module lives
        assert any(n.startswith("__editable__") and n.endswith(".pth") for n in names)
