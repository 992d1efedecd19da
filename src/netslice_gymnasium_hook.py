r"""Start-up hook that registers ``netslice/Slicing-v0`` with Gymnasium whenever Gymnasium is imported.

Gymnasium 1.x loads no plugins, so without this hook ``gymnasium.make("netslice/Slicing-v0")`` works only
after an ``import netslice.intelligence.envs``. The netslice wheel (and the editable install) ships
``netslice-gymnasium.pth`` into ``site-packages`` (see setup.py); Python's :mod:`site` runs its import
line at every interpreter start-up (also in ``multiprocessing`` spawn children and Ray workers). That line
imports this module and calls :func:`install`, and stays silent if the module is gone::

    import sys; exec("try: import netslice_gymnasium_hook as h\nexcept ImportError: h = None\nh and h.install()")

:func:`install` only puts a small finder at the head of :data:`sys.meta_path` (it imports nothing: no
netslice, Gymnasium, NumPy or torch). When, and only when, the process first imports ``gymnasium``, the
finder lets the normal import run and then calls
:func:`netslice.intelligence.envs.registration.register_envs`, which imports only netslice's light
registration module. The finder then removes itself. setuptools' ``distutils-precedence.pth`` works the
same way (a ``.pth`` line arming a meta-path finder); coverage.py and pytest-cov also ship ``.pth`` hooks.

The hook must never break Python: an error while registering becomes a :class:`RuntimeWarning`, and the
environment variable ``NETSLICE_NO_GYMNASIUM_HOOK=1`` turns it off.
"""

import sys

# This module is imported at every start-up, so it imports only sys (already loaded): no typing, no
# __future__ (the annotations below are quoted instead).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

#: Environment variable that turns the hook off (any non-empty value).
DISABLE_ENV = "NETSLICE_NO_GYMNASIUM_HOOK"
_TRIGGER = "gymnasium"


def register() -> None:
    """Register netslice's environments with Gymnasium, turning any error into a warning."""
    try:
        from netslice.intelligence.envs.registration import register_envs

        register_envs()
    except Exception as exc:  # a broken netslice must not break `import gymnasium`
        import warnings

        warnings.warn(
            f"netslice could not register netslice/Slicing-v0 with Gymnasium ({exc!r}); "
            f"import netslice.intelligence.envs to see the error, or set {DISABLE_ENV}=1",
            RuntimeWarning,
            stacklevel=2,
        )


class GymnasiumFinder:
    """Meta-path finder that runs :func:`register` right after ``gymnasium`` has been imported.

    It finds nothing itself: for ``gymnasium`` it asks the finders after it for the real spec and wraps
    that spec's loader so that registration follows the module's execution. Every other name is passed on.
    """

    @classmethod
    def find_spec(
        cls, fullname: str, path: "Sequence[str] | None" = None, target: "ModuleType | None" = None
    ) -> "ModuleSpec | None":
        """The real spec of ``gymnasium`` with registration added to its loader; ``None`` for other names."""
        if fullname != _TRIGGER:
            return None
        uninstall()  # one shot; also keeps the lookup below from reaching this finder again
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            spec: ModuleSpec | None = find_spec(fullname, path, target) if find_spec is not None else None
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or isinstance(loader, type) or not hasattr(loader, "exec_module"):
            return spec  # no loader to extend, or a class-level one shared by other modules: leave it be
        exec_module = loader.exec_module

        def exec_then_register(module: "ModuleType") -> None:
            exec_module(module)
            register()

        # The loader instance is this module's own (one per spec): shadowing its method keeps its identity,
        # so gymnasium.__loader__, importlib.resources and the like see the usual loader.
        loader.exec_module = exec_then_register  # type: ignore[method-assign]
        return spec


def install() -> None:
    """Arm the hook (what the ``.pth`` line calls at start-up); register at once if Gymnasium is loaded."""
    try:
        import os

        if os.environ.get(DISABLE_ENV):
            return
        if _TRIGGER in sys.modules:
            register()
        elif GymnasiumFinder not in sys.meta_path:
            sys.meta_path.insert(0, GymnasiumFinder)
    except Exception:  # never break interpreter start-up
        pass


def uninstall() -> None:
    """Disarm the hook (nothing happens if it is not armed)."""
    while GymnasiumFinder in sys.meta_path:
        sys.meta_path.remove(GymnasiumFinder)
