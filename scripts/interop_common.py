"""What the interop scripts share: one printed line per check and the count of failures,
running `wif`, and starting a `wif` server and waiting (bounded) for its banner line."""
import select, subprocess, tempfile

failures = 0


def check(name, ok, detail=""):
    global failures
    print(f"{'ok' if ok else 'FAILED'}: {name}{'' if ok else ' -- ' + str(detail)[:800]}")
    failures += 0 if ok else 1


def run(wif, *args):
    """`wif ARGS`, its standard output; a failure raises with its standard error."""
    res = subprocess.run([wif, *args], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"wif {' '.join(args)}: {res.stderr}")
    return res.stdout


def popen_logged(command, **kwargs):
    """Starts a server with its standard output piped and its log (standard error) in a file,
    never in a pipe nobody reads: a full pipe would stop the server mid-request once its log
    passed 64 KiB. log_of(proc) reads the log back."""
    log = tempfile.TemporaryFile(mode="w+b")
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, **kwargs)
    proc.log = log
    return proc


def log_of(proc, last=4000):
    """The end of what a server started with popen_logged() logged."""
    log = getattr(proc, "log", None)
    if log is None:
        return ""
    log.seek(0)
    return log.read()[-last:].decode(errors="replace")


def start(wif, args, banner, env=None, within=30):
    """Starts `wif ARGS` and waits (at most `within` seconds) for its banner line; returns the
    process and the address after "listening on "."""
    proc = popen_logged([wif, *args], text=True, env=env)
    ready, _, _ = select.select([proc.stdout], [], [], within)
    line = proc.stdout.readline() if ready else ""
    if banner not in line:
        proc.kill()
        proc.wait(timeout=10)
        raise RuntimeError(f"{args[0]} did not start within {within} s: {line!r} {log_of(proc)}")
    return proc, line.split("listening on ")[1].split()[0]
