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

Most objectives never mention parzen (they return ``{"loss": ..., "status": "ok"}``):
then nothing is shipped at all, and a run pays neither the upload nor the executors'
longer ``sys.path``. `refers_to_parzen` decides from the pickled bytes themselves.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import marshal
import tempfile
import zipfile
from pathlib import Path
from typing import Any

_MARK = "_parzen_shipped"  # attribute set on a SparkContext / Connect session once shipped
_built: Path | None = None
_EPOCH = (2020, 1, 1, 0, 0, 0)  # fixed times: the same contents give the same zip, hence the same name
_UNCHECKED_HASH = (0b01).to_bytes(4, "little")  # PEP 552 flags: hash-based, source not checked


def package_zip() -> Path:
    """A zip of the parzen package this driver runs, built once per process.

    Each module is there as source and as bytecode compiled by the driver's Python (an
    unchecked hash-based ``.pyc``, which ``zipimport`` loads without comparing times):
    a new Python worker then imports parzen without compiling it, which on a cluster
    that starts dozens of workers at once is most of their first trial's overhead.
    Workers on another Python version ignore the bytecode and compile the source.
    The name carries a hash of the contents, so two versions never collide on a
    long-lived cluster and the same contents are never uploaded under two names.
    """
    global _built
    if _built is not None and _built.exists():
        return _built
    root = package_root()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".typed") and "__pycache__" not in path.parts:
                name = str(Path("parzen") / path.relative_to(root))
                source = path.read_bytes()
                archive.writestr(zipfile.ZipInfo(name, date_time=_EPOCH), source)
                if path.suffix == ".py":
                    archive.writestr(zipfile.ZipInfo(name + "c", date_time=_EPOCH), _bytecode(source, name))
    data = buffer.getvalue()
    folder = Path(tempfile.mkdtemp(prefix="parzen-ship-"))  # kept: Spark serves the file from here
    _built = folder / f"parzen-{hashlib.sha1(data).hexdigest()[:12]}.zip"
    _built.write_bytes(data)
    return _built


def _bytecode(source: bytes, name: str) -> bytes:
    """`source` compiled to a ``.pyc`` (PEP 552 unchecked hash: valid whatever the file times)."""
    code = compile(source, name, "exec", dont_inherit=True)
    return (
        bytes(importlib.util.MAGIC_NUMBER) + _UNCHECKED_HASH + importlib.util.source_hash(source) + marshal.dumps(code)
    )


def refers_to_parzen(pickled: bytes) -> bool:
    """Whether unpickling `pickled` may import parzen (a module, class or function of it).

    A pickle names every module it imports as a string, so bytes without ``parzen``
    cannot need it. The test is conservative: a string that merely contains the word
    ships the package for nothing, which is harmless.
    """
    return b"parzen" in pickled


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


def package_root() -> Path:
    """The directory of the parzen package this module belongs to (what the zip ships).

    Found by name rather than by a fixed depth, so moving this module never ships a
    sub-package alone (executors would then import an empty parzen)."""
    for parent in Path(__file__).resolve().parents:
        if parent.name == "parzen" and (parent / "__init__.py").is_file():
            return parent
    raise RuntimeError(f"{__file__} is not inside a parzen package")
