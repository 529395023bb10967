"""Push-to-serve latency (issue 12), run by scripts/push-latency.sh: for a static Space and a Python
Space on the local runtime, N pushes with the git command line and N `upload_folder` calls, each
changing the page; the time from `git push` (or `upload_folder`) returning to the first 200 of the
new content through the server's visit route `GET /spaces/{owner}/{name}/`.

    python upload_bench.py --endpoint http://127.0.0.1:PORT --alice TOKEN --work DIR [--pushes 20]

Prints one line per series: median, p90 (nearest rank), min, max, in milliseconds, and the mean
time the push or upload call itself took. Exit status 1 when a revision is not served in time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

# huggingface_hub 1.x/2.x upload large files through Xet (hf_xet is one of its dependencies): the
# server speaks Xet (spaces-server/src/xet) as well as LFS, so no HF_HUB_DISABLE_XET is set.

from common import VERSION, HfApi, auth, install_session, session

APP_PY = """\
import http.server
import os

with open("message.txt", "rb") as f:
    BODY = f.read()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, fmt, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, b""
    except OSError:
        return 0, b""


def until_served(url: str, marker: bytes, timeout: float) -> float | None:
    """Polls `url` until a 200 whose body holds `marker`; returns the time of that answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = get(url)
        if status == 200 and marker in body:
            return time.monotonic()
        time.sleep(0.002)
    return None


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 1)) - 1))  # nearest rank
    return s[k]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--alice", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--pushes", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds for one revision to be served")
    args = ap.parse_args()
    install_session(timeout=120.0)
    E = args.endpoint.rstrip("/")
    host = E.split("://", 1)[1]
    api = HfApi(endpoint=E, token=args.alice)
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null",
               HOME=args.work, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com")

    def git(cwd: str, *argv: str) -> None:
        out = subprocess.run(["git", "-c", "credential.helper=", *argv], cwd=cwd, env=env,
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise SystemExit(f"git {' '.join(argv)}: {out.stderr.strip()}")

    def wait_running(rid: str, sha: str | None = None, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        rt = {}
        while time.monotonic() < deadline:
            rt = api.get_space_runtime(rid).raw
            if rt.get("stage") == "RUNNING" and (sha is None or rt.get("sha") == sha):
                return
            time.sleep(0.05)
        raise SystemExit(f"{rid} not RUNNING{' on ' + sha if sha else ''} after {timeout:.0f} s: {rt}")

    kinds = {
        "static": ("alice/lat-static", "static", "index.html", []),
        "python": ("alice/lat-python", "gradio", "message.txt",
                   [{"path": "app.py", "content": APP_PY}, {"path": "message.txt", "content": "start\n"}]),
    }
    for rid, sdk, _, files in kinds.values():
        api.delete_repo(rid, repo_type="space", missing_ok=True)
        body = {"name": rid.split("/")[1], "type": "space", "sdk": sdk}
        if files:
            body["files"] = files
        # (the create body's `files`: no client call writes a Space's first files)
        resp = session().post(f"{E}/api/repos/create", headers=auth(args.alice), json=body)
        if resp.status_code != 200:
            raise SystemExit(f"create {rid}: HTTP {resp.status_code} {resp.text[:300]}")
        wait_running(rid)

    results: list[tuple[str, list[float], list[float], int]] = []
    failed = 0
    for kind, (rid, _, page, _) in kinds.items():
        url = f"{E}/spaces/{rid}/"
        tree = os.path.join(args.work, kind)
        git(args.work, "clone", "-q", f"http://user:{args.alice}@{host}/spaces/{rid}", tree)
        lat: list[float] = []
        took: list[float] = []
        misses = 0
        for i in range(args.pushes):
            marker = f"git {kind} push {i} {os.urandom(4).hex()}"
            with open(os.path.join(tree, page), "w") as f:
                f.write(f"<p>{marker}</p>\n" if kind == "static" else marker + "\n")
            git(tree, "commit", "-q", "-am", marker)
            t_start = time.monotonic()
            git(tree, "push", "-q", "origin", "HEAD:main")
            t0 = time.monotonic()
            t1 = until_served(url, marker.encode(), args.timeout)
            took.append(t0 - t_start)
            if t1 is None:
                misses += 1
                print(f"  {kind} git push {i}: not served within {args.timeout:.0f} s", flush=True)
            else:
                lat.append(t1 - t0)
            sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tree, capture_output=True, text=True).stdout.strip()
            wait_running(rid, sha)
        results.append((f"{kind} git push", lat, took, misses))
        failed += misses

        folder = os.path.join(args.work, f"{kind}-upload")
        os.makedirs(folder, exist_ok=True)
        lat, took, misses = [], [], 0
        for i in range(args.pushes):
            marker = f"upload {kind} {i} {os.urandom(4).hex()}"
            with open(os.path.join(folder, page), "w") as f:
                f.write(f"<p>{marker}</p>\n" if kind == "static" else marker + "\n")
            t_start = time.monotonic()
            info = api.upload_folder(folder_path=folder, repo_id=rid, repo_type="space", commit_message=marker)
            t0 = time.monotonic()
            t1 = until_served(url, marker.encode(), args.timeout)
            took.append(t0 - t_start)
            if t1 is None:
                misses += 1
                print(f"  {kind} upload_folder {i}: not served within {args.timeout:.0f} s", flush=True)
            else:
                lat.append(t1 - t0)
            wait_running(rid, info.oid)
        results.append((f"{kind} upload_folder", lat, took, misses))
        failed += misses

    print(f"\npush-to-serve latency, {args.pushes} per series (huggingface_hub {VERSION}), milliseconds:")
    print(f"  {'series':<24} {'median':>8} {'p90':>8} {'min':>8} {'max':>8}   call itself (mean)")
    for name, lat, took, misses in results:
        if lat:
            ms = [x * 1000 for x in lat]
            print(f"  {name:<24} {statistics.median(ms):8.1f} {pct(ms, 0.9):8.1f} {min(ms):8.1f} {max(ms):8.1f}"
                  f"   {statistics.mean(took) * 1000:8.1f}" + (f"   ({misses} not served)" if misses else ""))
        else:
            print(f"  {name:<24} no revision served")
    for rid, *_ in kinds.values():
        api.delete_repo(rid, repo_type="space", missing_ok=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
