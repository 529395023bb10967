"""Makes the Spaces that schemathesis.toml names, before schemathesis runs (stdlib only).

    python st_setup.py ENDPOINT ALICE_TOKEN BOB_TOKEN
"""

import json
import sys
import urllib.request

APP = "import http.server, os\nhttp.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), http.server.SimpleHTTPRequestHandler).serve_forever()\n"


def create(endpoint, token, repo_id, sdk, files=None):
    ns, name = repo_id.split("/")
    body = {"name": name, "organization": ns, "type": "space", "sdk": sdk}
    if files:
        body["files"] = files
    req = urllib.request.Request(
        f"{endpoint}/api/repos/create",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.status == 200, (repo_id, r.status)


def main():
    endpoint, alice, bob = sys.argv[1:4]
    app = [{"path": "app.py", "content": APP, "encoding": "utf-8"}]
    create(endpoint, alice, "alice/st-static", "static")
    create(endpoint, alice, "alice/st-app", "gradio", app)
    create(endpoint, alice, "alice/st-gradio", "gradio")
    create(endpoint, alice, "acme/st-static", "static")
    create(endpoint, alice, "acme/st-app", "gradio", app)
    create(endpoint, bob, "bob/st-app", "gradio", app)
    print("schemathesis: made 6 Spaces to aim at")


if __name__ == "__main__":
    main()
