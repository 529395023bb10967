"""Shared helpers for the huggingface_hub drivers (drive.py, restart.py).

Runs under any huggingface_hub 1.x (httpx) or 2.x (httpx2): the client's own HTTP session is used
for every request, raw ones included, so a response hook sees all of them.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
import time
import traceback
import warnings

# Keep the client away from any token or cache on this machine before it is imported.
for _var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH"):
    os.environ.pop(_var, None)
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
if "HF_HOME" not in os.environ:
    import tempfile

    os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="hf-home-")

warnings.filterwarnings("ignore")

import huggingface_hub  # noqa: E402
from huggingface_hub import HfApi  # noqa: E402
from huggingface_hub.errors import (  # noqa: E402
    BadRequestError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import _http  # noqa: E402

VERSION = huggingface_hub.__version__
MAJOR = int(VERSION.split(".")[0])

# Every response the client received: (method, url, status, headers, response object).
RESPONSES: list = []
_LOCK = threading.Lock()


def _record(response) -> None:
    with _LOCK:
        RESPONSES.append(response)


def install_session(timeout: float = 60.0) -> None:
    """Make the client's shared session record every response and time out instead of hanging."""

    def factory():
        client = _http.default_client_factory()
        hooks = dict(client.event_hooks)
        hooks["response"] = list(hooks.get("response", [])) + [_record]
        client.event_hooks = hooks
        client.timeout = timeout
        return client

    _http.set_client_factory(factory)
    _http.close_session()


def session():
    return _http.get_session()


def auth(token: str | None) -> dict:
    return {"authorization": f"Bearer {token}"} if token else {}


def body_of(response, limit: int = 400) -> str:
    try:
        text = response.text
    except Exception:  # a stream that was never read
        return "<stream body not read>"
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[:limit] + "..."


def describe_response(response) -> str:
    req = response.request
    try:
        sent = req.content.decode("utf-8", "replace")
    except Exception:
        sent = ""
    sent = f" body={sent[:300]}" if sent else ""
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() in ("x-error-code", "x-error-message", "x-request-id", "link", "content-type")
    }
    return f"{req.method} {req.url}{sent} -> {response.status_code} {headers} {body_of(response)}"


class Failure(Exception):
    """A check's expectation that did not hold."""


def expect(cond: bool, message: str) -> None:
    if not cond:
        raise Failure(message)


def expect_eq(got, want, what: str) -> None:
    if got != want:
        raise Failure(f"{what}: got {got!r}, expected {want!r}")


def expect_error(fn, status: int | tuple, cls=HfHubHTTPError, what: str = ""):
    """Run fn; it must raise `cls` with one of the HTTP `status`es. Returns the exception."""
    statuses = status if isinstance(status, tuple) else (status,)
    try:
        result = fn()
    except HfHubHTTPError as err:
        got = err.response.status_code if err.response is not None else None
        if not isinstance(err, cls) or got not in statuses:
            raise Failure(
                f"{what}expected {cls.__name__} with HTTP {'/'.join(map(str, statuses))}, "
                f"got {type(err).__name__} HTTP {got}: {str(err).splitlines()[0][:300]}"
            )
        return err
    except Failure:
        raise
    except Exception as err:
        raise Failure(
            f"{what}expected {cls.__name__} with HTTP {'/'.join(map(str, statuses))}, "
            f"got {type(err).__name__}: {str(err)[:300]}"
        )
    raise Failure(
        f"{what}expected {cls.__name__} with HTTP {'/'.join(map(str, statuses))}, "
        f"got success: {str(result)[:300]}"
    )


def with_deadline(fn, seconds: float, what: str):
    """Run fn in a thread; a call that is still blocked after `seconds` fails the check."""
    out: queue.Queue = queue.Queue()

    def run():
        try:
            out.put(("ok", fn()))
        except BaseException as err:  # noqa: BLE001 - handed to the caller
            out.put(("err", err))

    threading.Thread(target=run, daemon=True).start()
    try:
        kind, value = out.get(timeout=seconds)
    except queue.Empty:
        raise Failure(f"{what} still blocked after {seconds:.0f} s")
    if kind == "err":
        raise value
    return value


class Checks:
    """Counts checks; a failed one prints the call, what happened and what was expected."""

    def __init__(self, label: str, verbose: bool = False):
        self.label = label
        self.verbose = verbose
        self.passed: list[str] = []
        self.failed: list[str] = []

    def run(self, name: str, fn) -> bool:
        start = len(RESPONSES)
        t0 = time.monotonic()
        try:
            fn()
        except Failure as err:
            self._fail(name, str(err), start)
            return False
        except HfHubHTTPError as err:
            self._fail(name, f"unexpected {type(err).__name__}: {str(err).splitlines()[0][:400]}", start)
            return False
        except Exception as err:  # noqa: BLE001 - any crash is a failed check
            tb = traceback.format_exception_only(type(err), err)[-1].strip()
            self._fail(name, f"unexpected exception: {tb[:600]}", start)
            return False
        self.passed.append(name)
        if self.verbose:
            print(f"  ok   {name} ({time.monotonic() - t0:.1f} s)", flush=True)
        return True

    def _fail(self, name: str, why: str, start: int) -> None:
        self.failed.append(name)
        lines = [f"  FAIL [{self.label}] {name}", f"       {why}"]
        exchanges = RESPONSES[start:]
        for response in exchanges[-3:]:
            lines.append(f"       http: {describe_response(response)}")
        if len(exchanges) > 3:
            lines.append(f"       ({len(exchanges) - 3} earlier requests in this check not shown)")
        print("\n".join(lines), flush=True)

    def summary(self) -> str:
        total = len(self.passed) + len(self.failed)
        return f"{self.label}: {len(self.passed)}/{total} calls behave"


def runtime_raw(api: HfApi, repo_id: str, token=None) -> dict:
    return api.get_space_runtime(repo_id, token=token).raw


def dump(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
