# The fork server of the local runtime: a pre-imported interpreter per Python environment.
#
# Started with the environment's interpreter and an environment of its own (PATH, locale, time
# zone; no Space's variables), it imports the SDK and the Space's heavy modules once, prints
# "ready", then serves requests on a Unix socket: each start forks a child that becomes the app.
#
# Protocol (one start): the runtime connects twice. On the first connection it sends one line,
# "start <token>\n", followed by the app's request as one JSON line (cwd, argv, env). On the
# second it sends "attach <token>\n". The server reads only the first line of the first
# connection (byte by byte, so nothing of the request enters the server's memory) and the attach
# line, then forks. The child reads the JSON itself, writes "pid <pid>\n" on the first
# connection, makes the first connection its stdout and the second its stderr, starts its own
# session (it leads its own process group), applies the Space's env, cwd and argv, and runs the
# app file as __main__. The server never sees a Space's variables, so a Space's secrets cannot
# reach another Space forked after it.
#
# The server exits when its stdin closes (the runtime is gone).
import os
import select
import signal
import socket
import sys

sock_path = sys.argv[1]
preload = sys.argv[2:]

for name in preload:
    try:
        __import__(name)
    except BaseException as e:  # a module that fails to import is left to the app
        print("preload %s failed: %s" % (name, e), file=sys.stderr, flush=True)


def read_line(fd, limit=256):
    out = bytearray()
    while len(out) < limit:
        b = os.read(fd, 1)
        if not b:
            break
        if b == b"\n":
            return bytes(out).decode("utf-8", "replace")
        out += b
    return None


def child(first, second):
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    import json

    rest = bytearray()
    while not rest.endswith(b"\n"):
        chunk = first.recv(65536)
        if not chunk:
            os._exit(70)
        rest += chunk
    request = json.loads(bytes(rest))
    del rest
    os.write(first.fileno(), b"pid %d\n" % os.getpid())
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(first.fileno(), 1)
    os.dup2(second.fileno(), 2)
    os.close(null)
    first.close()
    second.close()
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.argv = list(request["argv"])
    sys.path[0:0] = [request["cwd"]]
    sys.stdin = open(0, "r", closefd=False)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    del request
    import runpy

    try:
        if sys.argv[0] == "-m":
            sys.argv = sys.argv[1:]
            runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(sys.argv[0], run_name="__main__")
    except SystemExit as e:
        code = e.code
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else (0 if code is None else 1))
    except BaseException:
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def serve():
    # Children are reaped by the kernel; the runtime follows them by pid and start time.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        os.unlink(sock_path)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    os.chmod(sock_path, 0o600)
    listener.listen(16)
    print("ready", flush=True)
    while True:
        readable, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in readable:
            if not os.read(sys.stdin.fileno(), 1):
                os._exit(0)
        if listener not in readable:
            continue
        first, _ = listener.accept()
        line = read_line(first.fileno())
        if not line or not line.startswith("start "):
            first.close()
            continue
        token = line[len("start "):]
        listener.settimeout(10)
        try:
            second, _ = listener.accept()
        except OSError:
            first.close()
            listener.settimeout(None)
            continue
        listener.settimeout(None)
        if read_line(second.fileno()) != "attach " + token:
            first.close()
            second.close()
            continue
        pid = os.fork()
        if pid == 0:
            listener.close()
            child(first, second)
        first.close()
        second.close()


serve()
