"""A tiny web app that runs like a Gradio Space: it listens on the port the platform gives it.

It counts its starts in persistent storage when the Space has some (SPACE_DATA_DIR locally,
/data in a container), to show what survives a restart.
"""
import http.server
import os

data = os.environ.get("SPACE_DATA_DIR") or ("/data" if os.path.isdir("/data") else None)
starts = 1
if data:
    path = os.path.join(data, "starts.txt")
    try:
        starts = int(open(path).read()) + 1
    except (OSError, ValueError):
        starts = 1
    open(path, "w").write(str(starts))

body = (
    "Hello from %s on %s (start number %d%s)\n"
    % (
        os.environ.get("SPACE_ID", "?"),
        os.environ.get("ACCELERATOR", "none"),
        starts,
        ", counted in persistent storage" if data else "",
    )
).encode()
print("serving on port", os.environ.get("PORT", "7860"), flush=True)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "7860"))), Handler).serve_forever()
