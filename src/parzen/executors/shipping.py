"""Ship the driver's parzen to the executors, once per Spark session.

An objective that mentions parzen (``return {"loss": l, "status": parzen.STATUS_OK}``,
``from parzen.pyll import scope``, ``parzen.trial_resources()``) is pickled with a
reference to the module, so an executor without parzen would fail every trial with
``No module named 'parzen'``. parzen is pure Python: a zip of the package goes out with
Spark's own mechanism (``addPyFile`` on classic Spark, ``addArtifacts(pyfile=True)`` on
Spark Connect) and Spark puts it on the executors' ``sys.path`` ahead of site-packages,
so the driver's copy wins over one installed on the executors: both sides run the same
version. ``import parzen`` imports only the standard library; what a name needs (numpy
for most, scipy only for the algorithms) is imported when it is used.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

_MARK = "_parzen_shipped"  # attribute set on a SparkContext / Connect session once shipped
_built: Path | None = None


def package_zip() -> Path:
    """A zip of the parzen package this driver runs, built once per process.

    The name carries a hash of the contents, so two versions never collide on a
    long-lived cluster and the same contents are never uploaded under two names.
    """
    global _built
    if _built is not None and _built.exists():
        return _built
    root = Path(__file__).resolve().parents[1]  # .../parzen
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".typed") and "__pycache__" not in path.parts:
                info = zipfile.ZipInfo(str(Path("parzen") / path.relative_to(root)), date_time=(2020, 1, 1, 0, 0, 0))
                archive.writestr(info, path.read_bytes())
    data = buffer.getvalue()
    folder = Path(tempfile.mkdtemp(prefix="parzen-ship-"))  # kept: Spark serves the file from here
    _built = folder / f"parzen-{hashlib.sha1(data).hexdigest()[:12]}.zip"
    _built.write_bytes(data)
    return _built


def ship_to_classic(sc: Any) -> None:
    """``sc.addPyFile`` the package, unless this SparkContext already has it."""
    if getattr(sc, _MARK, None) is not None:
        return
    path = package_zip()
    sc.addPyFile(str(path))
    setattr(sc, _MARK, path.name)


def ship_to_connect(session: Any) -> None:
    """``session.addArtifacts(..., pyfile=True)`` the package, unless this session already has it."""
    if getattr(session, _MARK, None) is not None:
        return
    path = package_zip()
    session.addArtifacts(str(path), pyfile=True)
    setattr(session, _MARK, path.name)
