"""Restart test: what a SIGKILLed spaces-server had acknowledged reads back the same after a restart.

    python restart.py setup  --endpoint URL --alice TOKEN --bob TOKEN --state FILE
    (hub-clients.sh SIGKILLs the server and starts it again on the same --data)
    python restart.py verify --endpoint URL --alice TOKEN --bob TOKEN --state FILE

`setup` makes Spaces through huggingface_hub, changes their hardware, sleep time, secrets, variables
and (persistent) storage, pauses one, waits for every Space to settle and writes what the server then
answers (runtime, info, variables, secret names and descriptions, the owner's list) to FILE.
`verify` waits for the Spaces to settle again and compares every answer with FILE, field by field.
Storage goes through `request_space_storage` on 1.x and a raw POST on 2.x (the call was removed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from common import (
    MAJOR,
    VERSION,
    Checks,
    Failure,
    HfApi,
    auth,
    expect,
    install_session,
    session,
)
from drive import APP_PY

SETTLE = {"BUILDING", "RUNNING_BUILDING", "APP_STARTING", "RUNNING_APP_STARTING"}

SPACES = {
    "alice/rs-static": "static",
    "alice/rs-app": "gradio",
    "alice/rs-upgrade": "gradio",
    "alice/rs-paused": "gradio",
    "alice/rs-stor": "gradio",
    "alice/rs-gpu": "gradio",
    "alice/rs-private": "gradio",
    "acme/rs-org": "static",
    "bob/rs-bob": "gradio",
}


def owner_token(repo_id: str, args) -> str:
    return args.bob if repo_id.startswith("bob/") else args.alice


def settle(api: HfApi, repo_id: str, token: str, timeout: float = 90.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        stage = api.get_space_runtime(repo_id, token=token).stage
        if stage not in SETTLE or time.monotonic() > deadline:
            return stage
        time.sleep(0.5)


def snapshot(api: HfApi, E: str, args) -> dict:
    snap: dict = {}
    for rid in SPACES:
        tok = owner_token(rid, args)
        settle(api, rid, tok)
        entry = {}
        for key, path in (
            ("runtime", f"/api/spaces/{rid}/runtime"),
            ("info", f"/api/spaces/{rid}"),
            ("variables", f"/api/spaces/{rid}/variables"),
            ("secrets", f"/api/spaces/{rid}/secrets"),
        ):
            r = session().get(E + path, headers=auth(tok))
            entry[key] = {"status": r.status_code, "body": r.json() if r.status_code == 200 else r.text}
        snap[rid] = entry
    r = session().get(f"{E}/api/spaces", params={"author": "alice", "search": "rs-"}, headers=auth(args.alice))
    snap["list alice"] = sorted(s["id"] for s in r.json()) if r.status_code == 200 else r.text
    return snap


def setup(api: HfApi, E: str, args) -> None:
    A, B = args.alice, args.bob
    for rid in SPACES:
        api.delete_repo(rid, repo_type="space", missing_ok=True, token=owner_token(rid, args))

    def create(rid, sdk, token=A, **extra):
        ns, name = rid.split("/")
        body = {"name": name, "organization": ns, "type": "space", "sdk": sdk, **extra}
        if sdk == "gradio":
            body["files"] = [{"path": "app.py", "content": APP_PY, "encoding": "utf-8"}]
        r = session().post(f"{E}/api/repos/create", headers=auth(token), json=body)
        if r.status_code != 200:
            raise Failure(f"create {rid}: HTTP {r.status_code} {r.text[:300]}")

    api.create_repo("alice/rs-static", repo_type="space", space_sdk="static")
    create("alice/rs-app", "gradio", variables=[{"key": "V1", "value": "one", "description": "d1"}],
           secrets=[{"key": "S1", "value": "hidden", "description": "ds1"}])
    create("alice/rs-upgrade", "gradio")
    create("alice/rs-paused", "gradio")
    create("alice/rs-stor", "gradio", hardware="cpu-upgrade")
    create("alice/rs-gpu", "gradio", hardware="t4-small")
    create("alice/rs-private", "gradio", visibility="private")
    api.create_repo("acme/rs-org", repo_type="space", space_sdk="static")
    create("bob/rs-bob", "gradio", token=B)

    # hardware and sleep time
    api.request_space_hardware("alice/rs-upgrade", "cpu-upgrade", sleep_time=900)
    api.set_space_sleep_time("alice/rs-upgrade", 1200)
    api.request_space_hardware("alice/rs-stor", "cpu-upgrade")
    # secrets and variables: add, overwrite, delete
    for rid, tok in (("alice/rs-app", A), ("alice/rs-private", A), ("bob/rs-bob", B)):
        api.add_space_secret(rid, "TOKEN_A", "a", description="kept", token=tok)
        api.add_space_secret(rid, "TOKEN_B", "b", token=tok)
        api.add_space_secret(rid, "TOKEN_B", "b2", description="overwritten", token=tok)
        api.add_space_secret(rid, "TOKEN_C", "c", token=tok)
        api.delete_space_secret(rid, "TOKEN_C", token=tok)
        api.add_space_variable(rid, "MODEL", "org/model", description="kept", token=tok)
        api.add_space_variable(rid, "MODE", "slow", token=tok)
        api.add_space_variable(rid, "MODE", "fast", token=tok)
        api.add_space_variable(rid, "GONE", "x", token=tok)
        api.delete_space_variable(rid, "GONE", token=tok)
    # storage: small, then medium
    for tier in ("small", "medium"):
        if MAJOR < 2:
            api.request_space_storage("alice/rs-stor", tier)
        else:
            r = session().post(f"{E}/api/spaces/alice/rs-stor/storage", headers=auth(A), json={"tier": tier})
            if r.status_code != 200:
                raise Failure(f"POST storage {tier}: HTTP {r.status_code} {r.text[:300]}")
    # pause one (after it has started)
    settle(api, "alice/rs-paused", A)
    api.pause_space("alice/rs-paused")


def diff(path: str, before, after, out: list) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for k in sorted(set(before) | set(after)):
            if k not in after:
                out.append(f"{path}.{k}: was {json.dumps(before[k])}, now absent")
            elif k not in before:
                out.append(f"{path}.{k}: was absent, now {json.dumps(after[k])}")
            else:
                diff(f"{path}.{k}", before[k], after[k], out)
    elif before != after:
        out.append(f"{path}: was {json.dumps(before)}, now {json.dumps(after)}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("phase", choices=["setup", "verify"])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--alice", required=True)
    ap.add_argument("--bob", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--wait", type=float, default=10.0, help="verify: seconds to wait for the stages to come back")
    args = ap.parse_args()
    install_session()
    E = args.endpoint.rstrip("/")
    api = HfApi(endpoint=E, token=args.alice)
    c = Checks(f"restart ({VERSION})")

    if args.phase == "setup":
        ok = c.run("setup: create Spaces, change hardware, sleep time, secrets, variables, storage, pause",
                   lambda: setup(api, E, args))
        snap = snapshot(api, E, args)
        bad = [f"{rid} {k}: HTTP {v['status']}" for rid, e in snap.items() if isinstance(e, dict)
               for k, v in e.items() if v["status"] != 200]
        if bad:
            print("  FAIL [restart] reads before the kill\n       " + "\n       ".join(bad), flush=True)
            ok = False
        with open(args.state, "w") as f:
            json.dump(snap, f, indent=1, sort_keys=True)
        stages = {rid: snap[rid]["runtime"]["body"].get("stage") for rid in SPACES
                  if isinstance(snap[rid]["runtime"]["body"], dict)}
        print(f"restart setup: {len(SPACES)} Spaces, stages before the kill: {stages}", flush=True)
        return 0 if ok else 1

    with open(args.state) as f:
        before = json.load(f)
    # A restarted server may take a moment to bring its Spaces back: wait (bounded) until each
    # Space is in the stage it had before the kill, then read everything.
    deadline = time.monotonic() + args.wait
    for rid in SPACES:
        want = before[rid]["runtime"]["body"].get("stage") if isinstance(before[rid]["runtime"]["body"], dict) else None
        while time.monotonic() < deadline:
            if api.get_space_runtime(rid, token=owner_token(rid, args)).stage == want:
                break
            time.sleep(0.5)
    after = snapshot(api, E, args)
    compared = 0
    for rid in list(SPACES) + ["list alice"]:
        for key in (("runtime", "info", "variables", "secrets") if rid in SPACES else (None,)):
            b = before[rid][key] if key else before[rid]
            a = after[rid][key] if key else after[rid]
            name = f"{rid} {key}" if key else rid
            out: list = []
            diff(name, b, a, out)
            compared += 1

            def check(out=out, name=name):
                expect(not out, "reads back differently after SIGKILL + restart:\n         " + "\n         ".join(out[:12]))

            c.run(f"after restart: {name}", check)
    # Spaces whose stage did not come back by itself: does a visit (GET /spaces/{id}/, which wakes
    # a sleeping Space) bring each back to its stage? Counted as checks of their own.
    for rid in SPACES:
        b, a = before[rid]["runtime"]["body"], after[rid]["runtime"]["body"]
        if not isinstance(b, dict) or not isinstance(a, dict) or a.get("stage") == b.get("stage"):
            continue
        want = b.get("stage")

        def visit(rid=rid, want=want):
            tok = owner_token(rid, args)
            r = session().get(f"{E}/spaces/{rid}/", headers=auth(tok))
            deadline = time.monotonic() + 30
            while True:
                stage = api.get_space_runtime(rid, token=tok).stage
                if stage == want or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            expect(stage == want, f"after a visit (GET /spaces/{rid}/ -> {r.status_code}) the stage is {stage}, "
                                  f"was {want} before the kill")

        c.run(f"after restart and a visit: {rid} back to {want}", visit)
    secrets = sum(len(before[r]["secrets"]["body"]) for r in SPACES if isinstance(before[r]["secrets"]["body"], dict))
    variables = sum(len(before[r]["variables"]["body"]) for r in SPACES
                    if isinstance(before[r]["variables"]["body"], dict))
    print(f"restart: {len(SPACES)} Spaces, {variables} variables, {secrets} secrets; "
          f"{len(c.passed)}/{compared} reads identical after SIGKILL + restart", flush=True)
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
