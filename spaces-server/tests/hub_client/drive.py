"""Drives every Spaces call of issue 11 point 1 with the installed huggingface_hub, against a running
spaces-server, and counts the calls that behave like the Hub.

Usage (hub-clients.sh does this for each client version):
    python drive.py --endpoint http://127.0.0.1:PORT --alice TOKEN --alice-read TOKEN --bob TOKEN

alice (member of org acme) and bob must exist; --alice and --bob are write tokens, --alice-read a
read-only token of alice. Every Space this script makes is named `<prefix>-...` (the prefix defaults
to the client version), so two drivers may share one server. Exit status 1 when any check failed.

Where the API differs between versions the script branches on `huggingface_hub.__version__`:
2.x has no `duplicate_space` (use `duplicate_repo(repo_type="space")`), no `request_space_storage`,
`delete_space_storage` nor `create_repo(space_storage=...)`.
"""

from __future__ import annotations

import argparse
import re
import sys
import time

from common import (
    MAJOR,
    RESPONSES,
    VERSION,
    BadRequestError,
    Checks,
    Failure,
    HfApi,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    auth,
    describe_response,
    expect,
    expect_eq,
    expect_error,
    install_session,
    session,
    with_deadline,
)

BAD_TOKEN = "hf_thisTokenDoesNotExist0000000000"

# A "gradio" app without gradio: the local runtime runs `python3 app.py` with PORT set.
APP_PY = """\
import http.server
import os

print("hello from app V1=%s S1_SET=%s" % (os.environ.get("V1"), "S1" in os.environ), flush=True)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print("request " + (fmt % args), flush=True)


http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""

INTERMEDIATE = {"BUILDING", "RUNNING_BUILDING", "APP_STARTING", "RUNNING_APP_STARTING"}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--alice", required=True, help="alice's write token")
    ap.add_argument("--alice-read", required=True, help="alice's read-only token")
    ap.add_argument("--bob", required=True, help="bob's write token")
    ap.add_argument("--prefix", default=None, help="Space name prefix (default: h<version digits>)")
    ap.add_argument("--wait", type=float, default=90.0, help="wait_for_space timeout, seconds")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    install_session()
    E = args.endpoint.rstrip("/")
    A, AR, B = args.alice, args.alice_read, args.bob
    P = args.prefix or "h" + VERSION.replace(".", "")
    api = HfApi(endpoint=E, token=A)
    c = Checks(f"huggingface_hub {VERSION}", verbose=args.verbose)
    print(f"driving {E} with huggingface_hub {VERSION} (Spaces named {P}-*)", flush=True)

    static = f"alice/{P}-static"  # static, public: runs at once
    gr = f"alice/{P}-gradio"  # gradio, cpu-upgrade, secrets, variables (no app file)
    priv = f"alice/{P}-private"  # gradio, private=True
    vis = f"alice/{P}-vis"  # static, visibility="private"
    stor = f"alice/{P}-stor"  # 1.x: created with space_storage
    org = f"acme/{P}-org"
    app = f"alice/{P}-app"  # gradio with app.py via the create body's `files`
    gpu = f"alice/{P}-gpu"  # app.py on t4-small: RUNTIME_ERROR without a GPU
    dup = f"bob/{P}-dup"
    dup2 = f"bob/{P}-dup2"
    missing = f"alice/{P}-does-not-exist"

    def url_of(repo_id: str) -> str:
        return f"{E}/spaces/{repo_id}"

    def raw_create(repo_id: str, sdk: str, token: str, **extra):
        ns, name = repo_id.split("/")
        body = {"name": name, "organization": ns, "type": "space", "sdk": sdk, **extra}
        return session().post(f"{E}/api/repos/create", headers=auth(token), json=body)

    def wait(repo_id: str, timeout: float | None = None):
        return api.wait_for_space(repo_id, timeout=timeout or args.wait, poll_interval=0.5)

    def duplicate(from_id, to_id=None, *, token, exist_ok=False, variables=None, private=None, hardware=None,
                  sleep_time=None, storage=None):
        if MAJOR >= 2:
            return api.duplicate_repo(
                from_id, to_id, repo_type="space", token=token, exist_ok=exist_ok, space_variables=variables,
                private=private, space_hardware=hardware, space_sleep_time=sleep_time,
            )
        kwargs = {} if to_id is None else {"to_id": to_id}
        return api.duplicate_space(from_id, token=token, exist_ok=exist_ok, variables=variables, private=private,
                                   hardware=hardware, sleep_time=sleep_time, storage=storage, **kwargs)

    # Leftovers from an earlier run on the same data dir.
    for rid in (static, gr, priv, vis, stor, org, app, gpu):
        try:
            api.delete_repo(rid, repo_type="space", missing_ok=True)
        except Exception:
            pass
    for rid in (dup, dup2):
        try:
            api.delete_repo(rid, repo_type="space", missing_ok=True, token=B)
        except Exception:
            pass
    del RESPONSES[:]

    # ---------------------------------------------------------------- whoami
    def whoami_alice():
        me = api.whoami()
        expect_eq(me.get("name"), "alice", "whoami()['name']")
        orgs = [o.get("name") for o in me.get("orgs") or []]
        expect("acme" in orgs, f"whoami()['orgs'] should list acme, got {orgs!r}")

    c.run("whoami (write token)", whoami_alice)
    c.run("whoami (read-only token)", lambda: expect_eq(api.whoami(token=AR).get("name"), "alice", "name"))
    c.run("whoami (second user)", lambda: expect_eq(api.whoami(token=B).get("name"), "bob", "name"))
    c.run("whoami with a bad token -> 401", lambda: expect_error(lambda: api.whoami(token=BAD_TOKEN), 401))

    # ---------------------------------------------------------------- create_repo
    def create_static():
        url = api.create_repo(static, repo_type="space", space_sdk="static")
        expect_eq(url.repo_id, static, "RepoUrl.repo_id")
        expect_eq(url.repo_type, "space", "RepoUrl.repo_type")
        expect_eq(str(url), url_of(static), "RepoUrl")

    c.run("create_repo(space_sdk='static')", create_static)

    def create_gradio():
        url = api.create_repo(
            gr,
            repo_type="space",
            space_sdk="gradio",
            private=False,
            space_hardware="cpu-upgrade",
            space_sleep_time=3600,
            space_secrets=[{"key": "S1", "value": "s3cr3t", "description": "first secret"}],
            space_variables=[{"key": "V1", "value": "x", "description": "first variable"}],
        )
        expect_eq(url.repo_id, gr, "RepoUrl.repo_id")
        rt = api.get_space_runtime(gr)
        expect_eq(rt.requested_hardware, "cpu-upgrade", "runtime hardware.requested")
        expect_eq(rt.sleep_time, 3600, "runtime gcTimeout")

    c.run("create_repo(gradio, space_hardware, space_sleep_time, secrets, variables)", create_gradio)

    def create_private():
        api.create_repo(priv, repo_type="space", space_sdk="gradio", private=True)
        expect_eq(api.space_info(priv).private, True, "space_info(private).private")

    c.run("create_repo(private=True)", create_private)

    def create_visibility():
        api.create_repo(vis, repo_type="space", space_sdk="static", visibility="private")
        expect_eq(api.space_info(vis).private, True, "space_info(visibility=private).private")

    c.run("create_repo(visibility='private')", create_visibility)

    if MAJOR < 2:

        def create_storage():
            api.create_repo(
                stor, repo_type="space", space_sdk="gradio", space_hardware="cpu-upgrade", space_storage="small"
            )
            expect_eq(api.get_space_runtime(stor).storage, "small", "runtime storage")

        c.run("create_repo(space_storage='small')", create_storage)

    def create_org():
        url = api.create_repo(org, repo_type="space", space_sdk="static")
        expect_eq(url.repo_id, org, "RepoUrl.repo_id")
        expect_eq(api.space_info(org).author, "acme", "space_info.author")

    c.run("create_repo in an organisation the user belongs to", create_org)

    def create_no_namespace():
        url = api.create_repo(f"{P}-nons", repo_type="space", space_sdk="static")
        expect_eq(url.repo_id, f"alice/{P}-nons", "RepoUrl.repo_id (namespace from the token)")
        api.delete_repo(f"{P}-nons", repo_type="space")
        expect_error(lambda: api.space_info(f"alice/{P}-nons"), 404, RepositoryNotFoundError, "after delete: ")

    c.run("create_repo / delete_repo without a namespace (organization null)", create_no_namespace)

    def create_409():
        err = expect_error(lambda: api.create_repo(static, repo_type="space", space_sdk="static"), 409)
        try:
            body = err.response.json()
        except Exception:
            raise Failure(f"409 body is not JSON: {err.response.text[:200]!r}")
        expect_eq(body.get("url"), url_of(static), "409 body 'url'")

    c.run("create_repo existing without exist_ok -> 409 with url", create_409)

    def create_exist_ok():
        url = api.create_repo(static, repo_type="space", space_sdk="static", exist_ok=True)
        expect_eq(url.repo_id, static, "RepoUrl.repo_id")

    c.run("create_repo(exist_ok=True) on an existing Space", create_exist_ok)

    def create_concurrent():
        # huggingface_hub PR #3279: concurrent creates got a 409 without `url` (KeyError: 'url').
        import concurrent.futures

        name = f"alice/{P}-race"
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = [
                pool.submit(api.create_repo, name, repo_type="space", space_sdk="static", exist_ok=True)
                for _ in range(8)
            ]
            ids = [f.result().repo_id for f in futures]
        expect_eq(set(ids), {name}, "repo ids from 8 concurrent create_repo(exist_ok=True)")
        api.delete_repo(name, repo_type="space")

    c.run("8 concurrent create_repo(exist_ok=True) of one Space", create_concurrent)

    c.run(
        "create_repo without a token -> 401",
        lambda: expect_error(
            lambda: api.create_repo(f"alice/{P}-x", repo_type="space", space_sdk="static", token=False), 401
        ),
    )
    c.run(
        "create_repo with a bad token -> 401",
        lambda: expect_error(
            lambda: api.create_repo(f"alice/{P}-x", repo_type="space", space_sdk="static", token=BAD_TOKEN), 401
        ),
    )
    c.run(
        "create_repo with a read-only token -> 403",
        lambda: expect_error(
            lambda: api.create_repo(f"alice/{P}-x", repo_type="space", space_sdk="static", token=AR), 403
        ),
    )
    c.run(
        "create_repo in an organisation the user is not in -> 403",
        lambda: expect_error(
            lambda: api.create_repo(f"acme/{P}-bob", repo_type="space", space_sdk="static", token=B), 403
        ),
    )
    c.run(
        "create_repo with unknown hardware -> 400",
        lambda: expect_error(
            lambda: api.create_repo(
                f"alice/{P}-badhw", repo_type="space", space_sdk="gradio", space_hardware="cpu-quantum"
            ),
            400,
            BadRequestError,
        ),
    )

    def create_app():
        r = raw_create(
            app,
            "gradio",
            A,
            variables=[{"key": "V1", "value": "from-create"}],
            secrets=[{"key": "S1", "value": "hidden"}],
            files=[{"path": "app.py", "content": APP_PY, "encoding": "utf-8"}],
        )
        expect(r.status_code == 200, f"POST /api/repos/create with files: HTTP {r.status_code}, expected 200")
        body = r.json()
        expect_eq(body.get("url"), url_of(app), "create body 'url'")
        expect_eq(body.get("name"), app, "create body 'name'")
        expect(re.fullmatch(r"[0-9a-f]{24}", str(body.get("id"))) is not None, f"create 'id' is 24 hex: {body}")

    c.run("POST /api/repos/create with files (gradio app.py)", create_app)

    def create_gpu():
        r = raw_create(gpu, "gradio", A, hardware="t4-small", files=[{"path": "app.py", "content": APP_PY}])
        expect(r.status_code == 200, f"create t4-small: HTTP {r.status_code}, expected 200")
        rt = wait(gpu, 60)
        expect_eq(rt.requested_hardware, "t4-small", "runtime hardware.requested")
        expect_eq(rt.stage, "RUNTIME_ERROR", "stage of a GPU Space on a machine without GPU")
        msg = rt.raw.get("errorMessage") or ""
        expect("gpu" in msg.lower(), f"errorMessage should explain the missing GPU, got {msg!r}")

    c.run("create_repo(space_hardware='t4-small') -> RUNTIME_ERROR explaining no GPU", create_gpu)

    # ---------------------------------------------------------------- space_info
    state: dict = {}

    def info_static():
        info = api.space_info(static)
        expect_eq(info.id, static, "id")
        expect_eq(info.author, "alice", "author")
        expect_eq(info.sdk, "static", "sdk")
        expect_eq(info.private, False, "private")
        expect(bool(info.sha), f"sha should be set, got {info.sha!r}")
        names = sorted(s.rfilename for s in info.siblings or [])
        for f in ("README.md", ".gitattributes", "index.html"):
            expect(f in names, f"siblings should contain {f}, got {names}")
        expect(info.card_data is not None and info.card_data.get("sdk") == "static", f"cardData: {info.card_data}")
        expect(info.created_at is not None and info.last_modified is not None, "createdAt/lastModified set")
        state["sha"] = info.sha

    c.run("space_info", info_static)
    c.run(
        "space_info(revision=<sha>)",
        lambda: expect_eq(api.space_info(static, revision=state.get("sha")).sha, state.get("sha"), "sha"),
    )
    c.run(
        "space_info(revision='main')",
        lambda: expect_eq(api.space_info(static, revision="main").sha, state.get("sha"), "sha"),
    )
    c.run(
        "space_info(revision=<unknown>) -> 404 RevisionNotFound",
        lambda: expect_error(lambda: api.space_info(static, revision="f" * 40), 404, RevisionNotFoundError),
    )
    c.run(
        "space_info of a missing Space -> 404 RepositoryNotFound",
        lambda: expect_error(lambda: api.space_info(missing), 404, RepositoryNotFoundError),
    )
    c.run(
        "space_info of another user's private Space -> 404 RepositoryNotFound",
        lambda: expect_error(lambda: api.space_info(priv, token=B), 404, RepositoryNotFoundError),
    )
    c.run(
        "space_info of a private Space without a token -> 404 RepositoryNotFound",
        lambda: expect_error(lambda: api.space_info(priv, token=False), 404, RepositoryNotFoundError),
    )
    c.run(
        "space_info of an own private Space with a read-only token",
        lambda: expect_eq(api.space_info(priv, token=AR).private, True, "private"),
    )
    c.run(
        "get_space_runtime and get_space_variables with a read-only token",
        lambda: (api.get_space_runtime(priv, token=AR), api.get_space_variables(gr, token=AR)),
    )
    c.run(
        "space_info of a public Space without a token",
        lambda: expect_eq(api.space_info(static, token=False).id, static, "id"),
    )
    c.run(
        "space_info with a bad token -> 401",
        lambda: expect_error(lambda: api.space_info(static, token=BAD_TOKEN), 401),
    )

    # ---------------------------------------------------------------- list_spaces
    mine_public = {static, gr, app, gpu} | ({stor} if MAJOR < 2 else set())
    mine_private = {priv, vis}

    def list_author():
        ids = {s.id for s in api.list_spaces(author="alice", search=P)}
        expect(mine_public | mine_private <= ids, f"missing from the owner's list: {sorted(mine_public | mine_private - ids)}")
        expect(all(i.startswith("alice/") for i in ids), f"author filter leaked: {sorted(ids)}")

    c.run("list_spaces(author, search) as the owner (private ones included)", list_author)

    def list_other():
        ids = {s.id for s in api.list_spaces(author="alice", search=P, token=B)}
        expect(mine_public <= ids, f"public Spaces missing for another user: {sorted(mine_public - ids)}")
        expect(not (ids & mine_private), f"private Spaces shown to another user: {sorted(ids & mine_private)}")

    c.run("list_spaces as another user (no private Spaces)", list_other)

    def list_anon():
        ids = {s.id for s in api.list_spaces(author="alice", search=P, token=False)}
        expect(mine_public <= ids and not (ids & mine_private), f"anonymous list: {sorted(ids)}")

    c.run("list_spaces without a token", list_anon)

    def list_search():
        ids = [s.id for s in api.list_spaces(search=f"{P}-stat")]
        expect_eq(ids, [static], "list_spaces(search) ids")

    c.run("list_spaces(search)", list_search)
    c.run(
        "list_spaces(search) ignores case",
        lambda: expect_eq([s.id for s in api.list_spaces(search=f"{P}-STAT".upper())], [static], "ids"),
    )
    c.run(
        "list_spaces(author=<org>)",
        lambda: expect_eq([s.id for s in api.list_spaces(author="acme", search=P)], [org], "ids"),
    )

    def list_sort_limit():
        items = list(api.list_spaces(author="alice", search=P, sort="created_at", limit=3))
        expect_eq(len(items), 3, "number of items with limit=3")
        times = [s.created_at for s in items]
        expect(all(t is not None for t in times), f"createdAt missing in list items: {times}")
        expect(times == sorted(times, reverse=True), f"sort=created_at should be newest first: {times}")
        everything = list(api.list_spaces(author="alice", search=P, sort="created_at"))
        newest = max(everything, key=lambda s: s.created_at)
        expect_eq(items[0].id, newest.id, "first item of sort=created_at")

    c.run("list_spaces(sort='created_at', limit)", list_sort_limit)

    def list_sorts():
        for key in ("likes", "last_modified", "trending_score"):
            n = len(list(api.list_spaces(author="alice", search=P, sort=key)))
            expect(n >= len(mine_public | mine_private), f"sort={key}: {n} items")

    c.run("list_spaces(sort='likes'|'last_modified'|'trending_score')", list_sorts)

    def list_link():
        from huggingface_hub.utils._pagination import paginate

        params = {"author": "alice", "search": P, "limit": 2}
        r = session().get(f"{E}/api/spaces", params=params, headers=auth(A))
        expect(r.status_code == 200, f"HTTP {r.status_code}")
        expect_eq(len(r.json()), 2, "items in a page of limit=2")
        nxt = r.links.get("next", {}).get("url")
        expect(nxt is not None, f"a Link rel=next header is expected when more items remain: {r.headers.get('link')!r}")
        walked = [s["id"] for s in paginate(f"{E}/api/spaces", params=params, headers=auth(A))]
        expect_eq(len(walked), len(set(walked)), "distinct items across pages")
        expect_eq(set(walked), {s.id for s in api.list_spaces(author="alice", search=P)}, "items across pages")

    c.run("list_spaces Link pagination", list_link)

    # ---------------------------------------------------------------- runtime
    c.run("get_space_runtime (static: RUNNING)", lambda: expect_eq(api.get_space_runtime(static).stage, "RUNNING", "stage"))

    def wait_app():
        rt = wait(app)
        expect_eq(rt.stage, "RUNNING", "stage after wait_for_space")
        expect_eq(rt.hardware, "cpu-basic", "hardware.current")
        expect_eq(rt.sleep_time, 172800, "gcTimeout on cpu-basic (48 h)")

    c.run("wait_for_space (gradio app -> RUNNING)", wait_app)

    def runtime_private_other():
        expect_error(lambda: api.get_space_runtime(priv, token=B), 404, RepositoryNotFoundError)

    c.run("get_space_runtime of another user's private Space -> 404", runtime_private_other)
    c.run(
        "get_space_runtime of a missing Space -> 404",
        lambda: expect_error(lambda: api.get_space_runtime(missing), 404, RepositoryNotFoundError),
    )
    c.run(
        "get_space_runtime of a public Space without a token",
        lambda: expect_eq(api.get_space_runtime(static, token=False).stage, "RUNNING", "stage"),
    )

    def hw_basic():
        rt = api.request_space_hardware(gr, "cpu-basic")
        expect_eq(rt.requested_hardware, "cpu-basic", "returned hardware.requested")
        expect_eq(api.get_space_runtime(gr).requested_hardware, "cpu-basic", "runtime hardware.requested")

    c.run("request_space_hardware('cpu-basic')", hw_basic)
    c.run(
        "set_space_sleep_time on cpu-basic -> 400",
        lambda: expect_error(lambda: api.set_space_sleep_time(gr, 600), 400, BadRequestError),
    )

    def hw_upgrade():
        rt = api.request_space_hardware(gr, "cpu-upgrade", sleep_time=600)
        expect_eq(rt.requested_hardware, "cpu-upgrade", "returned hardware.requested")
        expect_eq(rt.sleep_time, 600, "returned gcTimeout")

    c.run("request_space_hardware('cpu-upgrade', sleep_time=600)", hw_upgrade)

    def sleep_time():
        rt = api.set_space_sleep_time(gr, 1800)
        expect_eq(rt.sleep_time, 1800, "returned gcTimeout")
        expect_eq(api.get_space_runtime(gr).sleep_time, 1800, "runtime gcTimeout")
        rt = api.set_space_sleep_time(gr, -1)
        expect(rt.sleep_time in (None, -1), f"gcTimeout after -1 (never): {rt.sleep_time!r}")

    c.run("set_space_sleep_time (1800, then -1)", sleep_time)
    c.run(
        "request_space_hardware(unknown) -> 400",
        lambda: expect_error(lambda: api.request_space_hardware(gr, "cpu-quantum"), 400, BadRequestError),
    )
    c.run(
        "request_space_hardware by another user -> 403",
        lambda: expect_error(lambda: api.request_space_hardware(gr, "cpu-basic", token=B), 403),
    )
    c.run(
        "request_space_hardware with a read-only token -> 403",
        lambda: expect_error(lambda: api.request_space_hardware(gr, "cpu-basic", token=AR), 403),
    )
    c.run(
        "request_space_hardware without a token -> 401",
        lambda: expect_error(lambda: api.request_space_hardware(gr, "cpu-basic", token=False), 401),
    )

    def pause():
        rt = api.pause_space(app)
        expect_eq(rt.stage, "PAUSED", "returned stage")
        expect_eq(api.get_space_runtime(app).stage, "PAUSED", "runtime stage")

    c.run("pause_space", pause)

    def restart():
        rt = api.restart_space(app)
        expect(rt.stage != "PAUSED", f"returned stage should have left PAUSED: {rt.stage}")
        expect_eq(wait(app).stage, "RUNNING", "stage after restart")

    c.run("restart_space", restart)

    def restart_factory():
        api.restart_space(app, factory_reboot=True)
        sent = [x for x in RESPONSES if x.request.url.path.endswith("/restart")]
        expect(sent and sent[-1].request.url.params.get("factory") == "true", "factory=true sent")
        expect_eq(wait(app).stage, "RUNNING", "stage after factory restart")

    c.run("restart_space(factory_reboot=True)", restart_factory)
    c.run(
        "pause_space by another user -> 403",
        lambda: expect_error(lambda: api.pause_space(app, token=B), 403),
    )
    c.run(
        "pause_space with a read-only token -> 403",
        lambda: expect_error(lambda: api.pause_space(app, token=AR), 403),
    )
    c.run(
        "pause_space on a static Space -> 400",
        lambda: expect_error(lambda: api.pause_space(static), 400, BadRequestError),
    )
    c.run(
        "restart_space on a static Space -> 400",
        lambda: expect_error(lambda: api.restart_space(static), 400, BadRequestError),
    )
    c.run(
        "request_space_hardware on a static Space -> 400",
        lambda: expect_error(lambda: api.request_space_hardware(static, "cpu-upgrade"), 400, BadRequestError),
    )

    # ---------------------------------------------------------------- secrets and variables
    def secrets_from_create():
        got = api.get_space_secrets(gr)
        expect("S1" in got, f"secrets: {sorted(got)}")
        expect_eq(got["S1"].description, "first secret", "S1 description")
        raw = session().get(f"{E}/api/spaces/{gr}/secrets", headers=auth(A)).json()
        expect("s3cr3t" not in str(raw), f"secret values must never be returned: {raw}")

    c.run("get_space_secrets (names and descriptions, no values)", secrets_from_create)

    def secret_add():
        api.add_space_secret(gr, "S2", "v2", description="second")
        got = api.get_space_secrets(gr)
        expect("S2" in got and got["S2"].description == "second", f"secrets: {[(k, v.description) for k, v in got.items()]}")

    c.run("add_space_secret", secret_add)

    def secret_delete():
        api.delete_space_secret(gr, "S2")
        expect("S2" not in api.get_space_secrets(gr), "S2 deleted")
        api.delete_space_secret(gr, "NEVER_SET")

    c.run("delete_space_secret (then an unknown key: 200)", secret_delete)
    c.run(
        "add_space_secret with a read-only token -> 403",
        lambda: expect_error(lambda: api.add_space_secret(gr, "S3", "v", token=AR), 403),
    )
    c.run(
        "get_space_secrets by another user -> 403",
        lambda: expect_error(lambda: api.get_space_secrets(gr, token=B), 403),
    )

    def variables_from_create():
        got = api.get_space_variables(gr)
        expect("V1" in got, f"variables: {sorted(got)}")
        expect_eq((got["V1"].value, got["V1"].description), ("x", "first variable"), "V1")
        expect(got["V1"].updated_at is not None, "V1 updatedAt")

    c.run("get_space_variables", variables_from_create)
    c.run("get_space_variables of a fresh Space -> {}", lambda: expect_eq(api.get_space_variables(static), {}, "variables"))

    def variable_add():
        got = api.add_space_variable(gr, "V2", "y", description="second")
        expect(set(got) >= {"V1", "V2"}, f"returned map: {sorted(got)}")
        got = api.add_space_variable(gr, "V2", "z")
        expect_eq(got["V2"].value, "z", "V2 after overwrite")
        expect_eq(api.get_space_variables(gr)["V2"].value, "z", "V2 read back")

    c.run("add_space_variable (add, overwrite)", variable_add)

    def variable_delete():
        got = api.delete_space_variable(gr, "V2")
        expect("V2" not in got and "V1" in got, f"returned map: {sorted(got)}")
        api.delete_space_variable(gr, "NEVER_SET")

    c.run("delete_space_variable (then an unknown key: 200)", variable_delete)
    def org_member():
        got = api.add_space_variable(org, "ORG_V", "1")
        expect("ORG_V" in got, f"variables of the org Space: {sorted(got)}")
        expect_error(lambda: api.add_space_variable(org, "ORG_V", "2", token=B), 403, what="bob (not a member): ")

    c.run("an organisation's Space: a member manages it, others get 403", org_member)
    c.run(
        "get_space_secrets of another user's private Space -> 404",
        lambda: expect_error(lambda: api.get_space_secrets(priv, token=B), 404, RepositoryNotFoundError),
    )
    c.run(
        "add_space_variable by another user -> 403",
        lambda: expect_error(lambda: api.add_space_variable(gr, "V3", "v", token=B), 403),
    )

    # ---------------------------------------------------------------- storage (1.x only)
    if MAJOR < 2:

        def storage_upgrade():
            rt = api.request_space_storage(stor, "medium")
            expect_eq(rt.storage, "medium", "returned storage")
            expect_eq(api.get_space_runtime(stor).storage, "medium", "runtime storage")

        c.run("request_space_storage (upgrade small -> medium)", storage_upgrade)
        c.run(
            "request_space_storage downgrade -> 400",
            lambda: expect_error(lambda: api.request_space_storage(stor, "small"), 400, BadRequestError),
        )

        def storage_delete():
            rt = api.delete_space_storage(stor)
            expect_eq(rt.storage, None, "returned storage")
            expect_eq(api.get_space_runtime(stor).storage, None, "runtime storage")

        c.run("delete_space_storage", storage_delete)
        c.run(
            "delete_space_storage without storage -> 400",
            lambda: expect_error(lambda: api.delete_space_storage(stor), 400, BadRequestError),
        )

    # ---------------------------------------------------------------- duplicate
    dup_name = "duplicate_repo(repo_type='space')" if MAJOR >= 2 else "duplicate_space"

    def duplicate_other_user():
        url = duplicate(gr, dup, token=B)
        expect_eq(url.repo_id, dup, "RepoUrl.repo_id")
        variables = api.get_space_variables(dup, token=B)
        expect("V1" in variables and variables["V1"].value == "x", f"variables copied: {sorted(variables)}")
        expect_eq(sorted(api.get_space_secrets(dup, token=B)), [], "secrets of the copy (never copied)")

    c.run(f"{dup_name} to another user (variables copied, secrets not)", duplicate_other_user)

    def duplicate_exist():
        expect_error(lambda: duplicate(gr, dup, token=B), 409, what="without exist_ok: ")
        url = duplicate(gr, dup, token=B, exist_ok=True)
        expect_eq(url.repo_id, dup, "RepoUrl.repo_id with exist_ok")

    c.run(f"{dup_name} onto an existing Space: 409, exist_ok=True", duplicate_exist)

    def duplicate_whoami():
        url = duplicate(gr, f"{P}-dup2", token=B, variables=[{"key": "V9", "value": "nine"}], private=True,
                        hardware="cpu-upgrade", sleep_time=600, storage="small" if MAJOR < 2 else None)
        expect_eq(url.repo_id, dup2, "RepoUrl.repo_id (namespace from whoami)")
        expect_eq(api.get_space_variables(dup2, token=B)["V9"].value, "nine", "variable given at duplication")
        expect_eq(api.space_info(dup2, token=B).private, True, "private copy")
        rt = api.get_space_runtime(dup2, token=B)
        expect_eq((rt.requested_hardware, rt.sleep_time), ("cpu-upgrade", 600), "copy's hardware.requested, gcTimeout")
        if MAJOR < 2:
            expect_eq(rt.storage, "small", "copy's storage")

    c.run(f"{dup_name} without a namespace (whoami), with variables, private, hardware, sleep time"
          + (", storage" if MAJOR < 2 else ""), duplicate_whoami)
    c.run(
        f"{dup_name} of another user's private Space -> 404",
        lambda: expect_error(lambda: duplicate(priv, f"bob/{P}-stolen", token=B), 404, RepositoryNotFoundError),
    )

    # ---------------------------------------------------------------- logs
    def logs_build():
        lines = with_deadline(lambda: list(api.fetch_space_logs(app, build=True)), 30, "fetch_space_logs(build=True)")
        expect(all(isinstance(x, str) for x in lines), "lines are str")

    c.run("fetch_space_logs(build=True)", logs_build)

    def logs_run():
        lines = with_deadline(lambda: list(api.fetch_space_logs(app)), 30, "fetch_space_logs()")
        expect(any("hello from app" in x for x in lines), f"run logs should contain the app's first line: {lines[:5]}")
        r = [x for x in RESPONSES if x.request.url.path.endswith("/logs/run")][-1]
        ctype = r.headers.get("content-type", "")
        expect(ctype.startswith("text/event-stream"), f"content-type {ctype!r}")

    c.run("fetch_space_logs() (run logs, SSE)", logs_run)

    def logs_env():
        lines = with_deadline(lambda: list(api.fetch_space_logs(app)), 30, "fetch_space_logs()")
        first = [x for x in lines if "hello from app" in x]
        expect(first and "V1=from-create" in first[-1] and "S1_SET=True" in first[-1], f"app saw: {first[-1:]}")

    c.run("variables and secrets reach the app's environment", logs_env)

    def logs_follow():
        seen: list = []

        def until_app_line():
            for line in api.fetch_space_logs(app, follow=True):
                seen.append(line)
                if "hello from app" in line:
                    return line
            return None

        line = with_deadline(until_app_line, 30, "fetch_space_logs(follow=True)")
        expect(line is not None, f"the followed stream ended without the app's line; lines: {seen[:5]}")

    c.run("fetch_space_logs(follow=True)", logs_follow)
    c.run(
        "fetch_space_logs of another user's private Space -> 404",
        lambda: expect_error(
            lambda: with_deadline(lambda: list(api.fetch_space_logs(priv, token=B)), 30, "fetch_space_logs"),
            404,
            RepositoryNotFoundError,
        ),
    )

    # ---------------------------------------------------------------- hardware list
    def hardware_list():
        hw = api.list_spaces_hardware()
        names = [h.name for h in hw]
        for want in ("cpu-basic", "cpu-upgrade", "t4-small"):
            expect(want in names, f"{want} missing from {names}")
        basic = hw[names.index("cpu-basic")]
        expect(bool(basic.pretty_name) and bool(basic.cpu) and bool(basic.ram), f"cpu-basic: {basic}")

    c.run("list_spaces_hardware", hardware_list)

    # ---------------------------------------------------------------- not offered: volumes, dev mode
    def volumes_refused():
        from huggingface_hub import Volume

        err = expect_error(
            lambda: api.set_space_volumes(gr, [Volume(type="bucket", source="alice/data", mount_path="/data")]),
            (400, 403, 404, 405, 409, 422, 501),
        )
        expect(len(str(err)) > 20, "a message says why")

    if hasattr(HfApi, "set_space_volumes"):
        c.run("set_space_volumes -> clear 4xx", volumes_refused)
    c.run(
        "enable_space_dev_mode -> clear 4xx",
        lambda: expect_error(lambda: api.enable_space_dev_mode(gr), (400, 403, 404, 405, 409, 422, 501)),
    )

    # ---------------------------------------------------------------- delete_repo
    c.run(
        "delete_repo by another user -> 403",
        lambda: expect_error(lambda: api.delete_repo(static, repo_type="space", token=B), 403),
    )
    c.run(
        "delete_repo of another user's private Space -> 404",
        lambda: expect_error(lambda: api.delete_repo(priv, repo_type="space", token=B), 404, RepositoryNotFoundError),
    )
    c.run(
        "delete_repo with a read-only token -> 403",
        lambda: expect_error(lambda: api.delete_repo(static, repo_type="space", token=AR), 403),
    )

    def delete():
        api.delete_repo(static, repo_type="space")
        expect_error(lambda: api.space_info(static), 404, RepositoryNotFoundError, "space_info after delete: ")
        expect_error(lambda: api.get_space_runtime(static), 404, RepositoryNotFoundError, "runtime after delete: ")

    c.run("delete_repo", delete)
    c.run(
        "delete_repo of a missing Space -> 404",
        lambda: expect_error(lambda: api.delete_repo(static, repo_type="space"), 404, RepositoryNotFoundError),
    )
    c.run("delete_repo(missing_ok=True)", lambda: api.delete_repo(static, repo_type="space", missing_ok=True))

    def recreate():
        api.create_repo(static, repo_type="space", space_sdk="static")
        expect_eq(api.get_space_variables(static), {}, "variables of the re-made Space")
        api.delete_repo(static, repo_type="space")

    c.run("create_repo after delete_repo (same name)", recreate)

    def delete_rest():
        for rid in (gr, priv, vis, org, app, gpu) + ((stor,) if MAJOR < 2 else ()):
            api.delete_repo(rid, repo_type="space")
        for rid in (dup, dup2):
            api.delete_repo(rid, repo_type="space", token=B)
        left = [s.id for s in api.list_spaces(search=P)]
        expect_eq(left, [], "Spaces left after deleting them all")

    c.run("delete_repo of every other Space (owner, org, second user)", delete_rest)

    # ---------------------------------------------------------------- X-Request-Id
    def request_ids():
        without = [x for x in RESPONSES if not x.headers.get("x-request-id")]
        expect(not without, f"{len(without)}/{len(RESPONSES)} responses lack X-Request-Id, e.g. "
               + "; ".join(f"{x.request.method} {x.request.url.path} -> {x.status_code}" for x in without[:5]))
        print(f"  ({len(RESPONSES)} responses carried X-Request-Id)", flush=True)

    c.run("X-Request-Id on every response", request_ids)

    print(c.summary(), flush=True)
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
