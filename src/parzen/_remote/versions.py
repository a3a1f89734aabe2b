"""Package versions: a trial that fails where the driver and its executor differ says so.

Standard library only: this runs on Spark executors, shipped by value (see `parzen._remote`).
"""

from __future__ import annotations

import contextlib
import sys


def missing_module_hint(exc: BaseException) -> str:
    """What to do about an import that failed where the trial ran."""
    name = getattr(exc, "name", None) or str(exc)
    top = name.split(".")[0]
    if top != name and _installed_version(top):  # the package is here, one of its modules is not: another version
        return (
            f"\n{top} {_installed_version(top)} is installed here but has no module {name!r}: the objective "
            f"or its data was pickled by another version of {top} (see the versions below)."
        )
    return (
        f"\nmodule {name!r} cannot be imported by the Python running this trial ({sys.executable}). "
        "Install it where trials run (cluster libraries), or point PYSPARK_PYTHON at an "
        "interpreter that has it."
    )


VERSIONED_PACKAGES = ("pyspark", "numpy", "cloudpickle", "pandas", "pyarrow", "scipy", "scikit-learn")


def _installed_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except Exception:
        return None


def package_versions() -> dict[str, str]:
    """Python's version and those of the packages that decide whether pickles load."""
    from importlib import metadata

    versions = {"python": ".".join(map(str, sys.version_info[:3]))}
    for name in VERSIONED_PACKAGES:
        with contextlib.suppress(Exception):
            versions[name] = metadata.version(name)
    return versions
