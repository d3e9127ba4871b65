"""What the interop scripts share: one printed line per check and the count of failures,
running `wif`, and starting a `wif` server and waiting (bounded) for its banner line."""
import select, subprocess

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


def start(wif, args, banner, env=None, within=30):
    """Starts `wif ARGS` and waits (at most `within` seconds) for its banner line; returns the
    process and the address after "listening on "."""
    proc = subprocess.Popen([wif, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    ready, _, _ = select.select([proc.stdout], [], [], within)
    line = proc.stdout.readline() if ready else ""
    if banner not in line:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise RuntimeError(f"{args[0]} did not start within {within} s: {line!r} {err}")
    return proc, line.split("listening on ")[1].split()[0]
