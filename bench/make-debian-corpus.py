#!/usr/bin/env python3
"""Build a benchmark corpus and query file from the Debian package texts on this machine,
for `make bench` where ../shared/corpora is not available.

usage: make-debian-corpus.py OUT.jsonl OUT-queries.txt [MAX_MB]

Documents: every text file under /usr/share/doc (README*, changelogs, copyright files,
*.txt, *.md; .gz files decompressed), /usr/share/common-licenses and, when installed,
the word lists under /usr/share/dict split into pages of 500 lines; one JSON Lines
record {"id": path, "title": "package: file", "body": text} each, in sorted path
order, stopping at MAX_MB MB of text (default 200).  Binary-looking files are skipped.
Queries: 300 lines of one to three words taken from document titles and bodies with a
fixed seed, so the same machine gives the same file.  Both depend on the packages
installed, so figures are comparable only between runs on the same machine.
"""
import gzip
import json
import os
import random
import re
import sys

ROOTS = ["/usr/share/doc", "/usr/share/common-licenses"]
WORD = re.compile(r"[A-Za-z][a-z]{3,14}")


def text_files():
    for root in ROOTS:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                base = name[:-3] if name.endswith(".gz") else name
                if root == "/usr/share/common-licenses" or base.startswith(
                        ("README", "changelog", "copyright", "NEWS", "TODO", "FAQ")) or \
                        base.endswith((".txt", ".md", ".rst")):
                    yield path


def read_text(path):
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                data = f.read(4 << 20)
        else:
            with open(path, "rb") as f:
                data = f.read(4 << 20)
    except (OSError, EOFError):
        return None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", "replace")


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 2
    out, qout = argv[1], argv[2]
    limit = float(argv[3]) * 1e6 if len(argv) == 4 else 200e6
    total = 0
    docs = 0
    rng = random.Random(20240601)
    pool = []
    with open(out, "w", encoding="utf-8") as f:
        def emit(did, title, body):
            nonlocal total, docs
            f.write(json.dumps({"id": did, "title": title, "body": body}, ensure_ascii=False)
                    + "\n")
            total += len(body.encode())
            docs += 1
            if rng.random() < 0.05:
                pool.append(title + " " + body[:400])

        for path in text_files():
            if total >= limit:
                break
            body = read_text(path)
            if not body or not body.strip():
                continue
            parts = path.split("/")
            pkg = parts[4] if len(parts) > 4 else parts[-1]
            emit(path, "%s: %s" % (pkg, parts[-1]), body)
        if os.path.isdir("/usr/share/dict"):
            for name in sorted(os.listdir("/usr/share/dict")):
                path = os.path.join("/usr/share/dict", name)
                if total >= limit or not os.path.isfile(path) or os.path.islink(path):
                    continue
                text = read_text(path)
                if not text:
                    continue
                lines = text.splitlines()
                for i in range(0, len(lines), 500):
                    emit("%s#%d" % (path, i // 500), "dict %s %d" % (name, i // 500),
                         "\n".join(lines[i:i + 500]))
    with open(qout, "w", encoding="utf-8") as q:
        n = 0
        while n < 300 and pool:
            words = WORD.findall(rng.choice(pool))
            if not words:
                continue
            k = rng.choice((1, 2, 2, 3))
            start = rng.randrange(len(words))
            q.write(" ".join(w.lower() for w in words[start:start + k]) + "\n")
            n += 1
    sys.stderr.write("make-debian-corpus.py: %d documents, %.1f MB of text -> %s\n"
                     % (docs, total / 1e6, out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
