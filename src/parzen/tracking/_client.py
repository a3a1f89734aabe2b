"""The MLflow observer's own connection to the tracking server: every call bounded, errors sorted.

MLflow's client retries a request that fails to connect, times out or gets a 429/5xx
seven times with exponential back-off (``MLFLOW_HTTP_REQUEST_MAX_RETRIES``, default 7),
and waits up to 120 s for an answer (``MLFLOW_HTTP_REQUEST_TIMEOUT``): a few minutes
per request when the server is down. That suits a script that must log one thing; it
does not suit an observer that must notice an outage at once and keep tuning at full
speed. So the observer's calls make ONE attempt with a short timeout
(`REQUEST_TIMEOUT`), without touching the user's settings (the objective's own
``mlflow.log_*`` calls keep MLflow's retries), and the observer does its own retrying,
spaced by its own back-off, once per pass rather than once per request.

Errors are sorted: a 4xx answer (the request itself is refused: an invalid key, an
experiment that was deleted, no permission) is *permanent* and is never retried; a
failure to connect, a timeout, a 429 or a 5xx is *transient*.

A tracking URI that is not an HTTP server (a folder, a SQLite file) is used through
MLflow's own store for it: no network, nothing to bound.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from mlflow.entities import Metric, Param, Run, RunStatus, RunTag, ViewType
from mlflow.exceptions import MlflowException
from mlflow.store.tracking.rest_store import RestStore
from mlflow.tracking import MlflowClient
from mlflow.utils.proto_json_utils import parse_dict
from mlflow.utils.rest_utils import http_request, verify_rest_response

REQUEST_TIMEOUT = 5.0  # seconds one call may take (connect and read) before the server counts as failing
PERMANENT_EXCEPT = (408, 429)  # 4xx answers that mean "try later"


def http_status(exc: BaseException) -> int | None:
    """The HTTP status an MLflow error stands for (None for errors that are not MLflow's)."""
    if not isinstance(exc, MlflowException):
        return None
    try:
        return int(exc.get_http_status_code())
    except Exception:
        return None


def is_permanent(exc: BaseException) -> bool:
    """A refusal the same request would get again (4xx but 408/429): not worth retrying."""
    status = http_status(exc)
    return status is not None and 400 <= status < 500 and status not in PERMANENT_EXCEPT


def describe(exc: BaseException) -> str:
    """One line for a log: the error code and MLflow's message, without a traceback."""
    code = getattr(exc, "error_code", None)
    text = " ".join(str(getattr(exc, "message", None) or exc).split())
    text = text if len(text) <= 300 else text[:297] + "..."
    return f"{code}: {text}" if code and code not in text else text


class TrackingServer:
    """The calls the observer makes, each bounded to one attempt of `timeout` seconds over HTTP."""

    def __init__(self, uri: str, timeout: float = REQUEST_TIMEOUT):
        self.uri = uri
        client = MlflowClient(uri)
        store = client._tracking_client.store
        self.store = _bounded(store, timeout)
        self.bounded = self.store is not store

    def create_run(self, experiment_id: str, tags: dict[str, str]) -> tuple[str, str | None, str]:
        """(run id, artifact URI, experiment id) of a new RUNNING run."""
        created = self.store.create_run(
            experiment_id=experiment_id,
            user_id=tags.get("mlflow.user", "unknown"),
            start_time=int(time.time() * 1000),
            tags=[RunTag(k, v) for k, v in tags.items()],
            run_name=None,
        )
        return created.info.run_id, created.info.artifact_uri, created.info.experiment_id

    def log_batch(self, run_id: str, metrics: list[Metric], params: list[Param], tags: list[RunTag]) -> None:
        self.store.log_batch(run_id, metrics=metrics, params=params, tags=tags)

    def set_status(self, run_id: str, status: str, end_ms: int | None) -> None:
        """The run's status (and end time): ``set_terminated`` without its extra ``get_run`` and prints."""
        self.store.update_run_info(run_id, RunStatus.from_string(status), end_ms, None)

    def get_run(self, run_id: str) -> Run:
        return self.store.get_run(run_id)

    def delete_run(self, run_id: str) -> None:
        self.store.delete_run(run_id)

    def default_experiment(self) -> str:
        """The experiment ``mlflow.start_run()`` would use, found with bounded calls.

        MLflow's own lookup (``MLFLOW_EXPERIMENT_NAME`` / ``_ID``) asks the server with
        the client's retries, and reports a server that is down as "the experiment does
        not exist": here the same order of sources, each call one bounded attempt, and an
        outage stays an outage. ``mlflow.set_experiment``'s choice needs no call.
        """
        from mlflow.tracking import fluent

        active = getattr(fluent, "_active_experiment_id", None)
        if active:
            return str(active)
        name, given = os.environ.get("MLFLOW_EXPERIMENT_NAME"), os.environ.get("MLFLOW_EXPERIMENT_ID")
        if name:
            found = self.store.get_experiment_by_name(name)
            return str(found.experiment_id) if found is not None else str(self.store.create_experiment(name))
        if given:
            return given  # a missing experiment is refused (a 4xx) when the first run is made
        try:
            from mlflow.tracking.default_experiment import registry

            return str(registry.get_experiment_id() or "0")
        except ImportError:
            return "0"

    def children(self, experiment_id: str, parent_id: str) -> list[Run]:
        """Every run (active or deleted) whose parent is `parent_id`."""
        found: list[Run] = []
        token = None
        while True:
            page = self.store.search_runs(
                [experiment_id],
                filter_string=f"tags.`mlflow.parentRunId` = '{parent_id}'",
                run_view_type=ViewType.ALL,
                max_results=1000,
                order_by=None,
                page_token=token,
            )
            found += list(page)
            token = page.token
            if not token:
                return found


def _bounded(store: Any, timeout: float) -> Any:
    """`store` itself, or for MLflow's REST store a copy whose requests are one bounded attempt."""
    if not _plain_rest_store(store):
        return store
    bounded = _BoundedRestStore(store.get_host_creds)
    bounded.timeout = timeout
    return bounded


def _plain_rest_store(store: Any) -> bool:
    """MLflow's REST store, or a subclass (Databricks' stores) whose run APIs are RestStore's own."""
    return isinstance(store, RestStore) and all(
        getattr(type(store), name) is getattr(RestStore, name)
        for name in ("create_run", "log_batch", "update_run_info", "get_run", "delete_run", "_call_endpoint")
    )


class _BoundedRestStore(RestStore):
    """MLflow's REST store with the observer's own request policy: one attempt, `timeout` seconds."""

    timeout = REQUEST_TIMEOUT

    def _call_endpoint(self, api: Any, json_body: Any = None, endpoint: Any = None, *args: Any, **kwargs: Any) -> Any:
        path, method = self._METHOD_TO_INFO[api]
        response_proto = kwargs.get("response_proto") or api.Response()
        body = json.loads(json_body) if json_body is not None else None
        request: dict[str, Any] = {"params" if method == "GET" else "json": body}
        if _takes_retry_timeout():
            request["retry_timeout_seconds"] = self.timeout  # bounds the Databricks SDK's own retries
        response = http_request(
            self.get_host_creds(), endpoint or path, method, max_retries=0, backoff_factor=0, timeout=self.timeout,
            **request,
        )  # fmt: skip
        response = verify_rest_response(response, endpoint or path)
        text = response.text
        parse_dict(js_dict=json.loads(text) if text.strip() else {}, message=response_proto)
        return response_proto


@functools.cache
def _takes_retry_timeout() -> bool:
    return "retry_timeout_seconds" in inspect.signature(http_request).parameters


def in_parallel(fn: Callable[[Any], Any], items: Iterable[Any], workers: int) -> list[tuple[Any, Exception | None]]:
    """(result, error) of `fn` on each item, at most `workers` at a time, in the items' order.

    Daemon threads, not a ``ThreadPoolExecutor``: the interpreter joins an executor's
    threads at exit, so a write stuck on a dead server would hold the process's exit.
    Each call is bounded anyway (one attempt, `REQUEST_TIMEOUT`).
    """
    todo = list(enumerate(items))
    results: list[tuple[Any, Exception | None]] = [(None, None)] * len(todo)
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not todo:
                    return
                index, item = todo.pop(0)
            try:
                results[index] = (fn(item), None)
            except Exception as exc:
                results[index] = (None, exc)

    if len(todo) <= 1 or workers <= 1:
        work()
        return results
    threads = [
        threading.Thread(target=work, daemon=True, name="parzen-mlflow-write") for _ in range(min(workers, len(todo)))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
