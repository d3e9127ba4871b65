#!/usr/bin/env python3
"""The docs against the code: README.md and docs/*.md.

- README.md stays a front page (at most 200 lines).
- Every relative link resolves: the file exists, and a `#anchor` names a heading of it.
- Every path under scripts/, crates/, deploy/, tests/ or fuzz/ named in code is there.
- Every `wif ...` command in a shell block names a real command, and each of its flags is one
  that command's --help lists (the binary under test answers); the walkthrough blocks are also
  run as written, by scripts/readme_walkthrough.sh.

Usage: scripts/check_docs.py WIF     (prints one line per problem; exit 1 if any)
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_README_LINES = 200


def pages():
    yield os.path.join(ROOT, "README.md")
    docs = os.path.join(ROOT, "docs")
    for name in sorted(os.listdir(docs)) if os.path.isdir(docs) else []:
        if name.endswith(".md"):
            yield os.path.join(docs, name)


def anchor(heading):
    """GitHub's anchor for a heading."""
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    found = set()
    with open(path, encoding="utf-8") as f:
        fenced = False
        for line in f:
            if line.startswith("```"):
                fenced = not fenced
            elif not fenced and line.startswith("#"):
                found.add(anchor(line.lstrip("#")))
    return found


def shell_blocks(text):
    """The shell blocks' logical lines (continuations joined)."""
    for block in re.findall(r"```(?:sh|bash|shell)\n(.*?)```", text, re.S):
        yield from re.sub(r"\\\n\s*", " ", block).split("\n")


def wif_commands(line):
    """The `wif` invocations on a shell line (where a command starts: the line's start, after
    `|`, `;`, `&&`, `(`, `$(`, a backquote, `time`/`eval`/`exec`, or variable assignments),
    as token lists (after `wif`)."""
    for m in re.finditer(r"(?<![\w/.-])wif\s+([a-z][^|;&)`\"<>#]*)", line):
        before = line[: m.start()].rstrip()
        words = before.split()
        while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\S*", words[-1]):
            words.pop()
        last = words[-1] if words else ""
        if last and not (last in ("time", "eval", "exec", "sudo") or last[-1] in "|;&(`" or last.endswith(('$(', '"$('))):
            continue
        tokens = m.group(1).split()
        if tokens:
            yield tokens


def help_text(wif, words, cache):
    key = tuple(words)
    if key not in cache:
        run = subprocess.run([wif, *words, "--help"], capture_output=True, text=True, timeout=60)
        cache[key] = run.stdout if run.returncode == 0 else None
    return cache[key]


def check_command(wif, tokens, cache):
    """Problems with one `wif` command line, or none."""
    words = []
    for token in tokens:
        if re.fullmatch(r"[a-z][a-z-]*", token) and len(words) < 2:
            candidate = words + [token]
            if help_text(wif, candidate, cache) is not None:
                words = candidate
                continue
        break
    if not words:
        return [f"`wif {' '.join(tokens)}`: {tokens[0]!r} is no wif command"]
    text = help_text(wif, words, cache)
    problems = []
    for token in tokens[len(words):]:
        flag = token.split("=", 1)[0]
        if re.fullmatch(r"--[a-z][a-z0-9-]*|-[a-zA-Z]", flag) and not re.search(
            r"(?<![\w-])" + re.escape(flag) + r"(?![\w-])", text
        ):
            problems.append(f"`wif {' '.join(tokens)}`: `wif {' '.join(words)}` has no flag {flag}")
    return problems


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: scripts/check_docs.py WIF")
    wif = sys.argv[1]
    problems, commands, links = [], 0, 0
    cache = {}
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme_lines = f.read().count("\n")
    if readme_lines > MAX_README_LINES:
        problems.append(f"README.md: {readme_lines} lines, more than {MAX_README_LINES}: move reference to docs/")
    for page in pages():
        name = os.path.relpath(page, ROOT)
        with open(page, encoding="utf-8") as f:
            text = f.read()
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", prose):
            if re.match(r"[a-z]+://|mailto:", target):
                continue
            links += 1
            path, _, fragment = target.partition("#")
            file = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
            if not os.path.exists(file):
                problems.append(f"{name}: link to {target}: {os.path.relpath(file, ROOT)} does not exist")
            elif fragment and file.endswith(".md") and fragment not in anchors(file):
                problems.append(f"{name}: link to {target}: no heading #{fragment} there")
        for path in re.findall(r"(?<![\w/.-])((?:scripts|crates|deploy|tests|fuzz|docs)/[\w./-]*[\w/])", text):
            if "*" not in path and not os.path.exists(os.path.join(ROOT, path)):
                problems.append(f"{name}: {path} does not exist")
        for line in shell_blocks(text):
            for tokens in wif_commands(line):
                commands += 1
                problems.extend(f"{name}: {p}" for p in check_command(wif, tokens, cache))
    for problem in problems:
        print(problem)
    print(f"check_docs: {commands} wif commands, {links} links, README.md {readme_lines} lines; {len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
