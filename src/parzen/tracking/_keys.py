"""Hyperparameter labels as MLflow keys: every label becomes a key MLflow accepts.

MLflow accepts a param, metric or tag key only if it is made of letters, digits, ``_``,
``-``, ``.``, spaces, ``:`` and ``/``, does not change under path normalisation (no
``a//b``, ``./a``, ``..``, leading ``/``) and has at most 250 characters. A space's labels
are free text (``hp.loguniform("C(log)", ...)``), and one refused key makes the server
refuse the whole batch that carries it, the trial's loss included. So each label is
mapped once per run, the same way every time for the same space:

- a label MLflow accepts is its own key (``lr``, ``model/depth``);
- otherwise each refused character becomes ``_`` (``C(log)`` -> ``C_log_``, ``w+b`` ->
  ``w_b``, ``kernel?`` -> ``kernel_``), ``/`` too when the path rule refuses it
  (``../up`` -> ``.._up``, then a leading ``.`` gets a ``_`` before it: ``_.._up``),
  and a key longer than 244 characters is cut (``<key>.index`` must fit too);
- a converted key that equals another label's key gets ``_2``, ``_3``, ... (labels MLflow
  accepts keep their own names; converted labels are numbered in sorted order).

Each run holds ``parzen.label.<key>`` tags with the original labels of converted keys,
and the mapping is logged once per run.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

MAX_KEY = 250
INDEX_SUFFIX = ".index"  # a choice's option index is logged beside its value as <key>.index
LABEL_TAG = "parzen.label."  # + key: the original label of a converted key
_ALLOWED = re.compile(r"[/\w.\- :]")
_VALID = re.compile(r"^[/\w.\- :]*$")


def is_valid_key(key: str) -> bool:
    """Whether MLflow accepts `key` as a param, metric or tag key (its own rules, see the module docstring)."""
    return bool(key) and len(key) <= MAX_KEY and bool(_VALID.match(key)) and not _path_changes(key)


def _path_changes(key: str) -> bool:
    norm = posixpath.normpath(key)
    return norm != key or norm == "." or norm.startswith("..") or norm.startswith("/")


def _converted(label: str) -> str:
    key = "".join(c if _ALLOWED.match(c) else "_" for c in label)
    if _path_changes(key):
        key = key.replace("/", "_")
    if not key or key.startswith("."):
        key = "_" + key
    return key[: MAX_KEY - len(INDEX_SUFFIX)]


def mlflow_keys(labels: Iterable[str]) -> dict[str, str]:
    """label -> key for every label; a label MLflow accepts (with room for ``.index``) maps to itself."""
    labels = list(dict.fromkeys(labels))
    out: dict[str, str] = {}
    for label in labels:
        if is_valid_key(label) and len(label) + len(INDEX_SUFFIX) <= MAX_KEY:
            out[label] = label
    taken = set(out.values())
    for label in sorted(label for label in labels if label not in out):
        base = key = _converted(label)
        n = 1
        while key in taken or not is_valid_key(key + INDEX_SUFFIX):
            n += 1
            key = f"{base[: MAX_KEY - len(INDEX_SUFFIX) - len(str(n)) - 1]}_{n}"
        out[label] = key
        taken.add(key)
    return out


def converted(keys: dict[str, str]) -> dict[str, str]:
    """Only the labels whose key differs: key -> label (what the ``parzen.label.<key>`` tags hold)."""
    return {key: label for label, key in keys.items() if key != label}
