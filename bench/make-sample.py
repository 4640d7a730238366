#!/usr/bin/env python3
"""Rebuild sample/ (the corpus bundled with ft for the demo) from the shared corpora.

usage: bench/make-sample.py [--out DIR] [--docs N] [--max-body BYTES] [--max-total BYTES]

The shared data is found through $FT_SHARED, or ../shared beside the repository.

What it writes:
  DIR/2019-06-05-china-russia-ties.txt  copied unchanged from corpora/sample/
  DIR/enwiki-sample.jsonl               the first N English Wikipedia articles of
                                        corpora/large/enwiki.jsonl.zst that pass the filter

Selection is deterministic: articles are taken in file order.  An article is skipped
if its title or body mentions the crop word of the demo query (the string FILTER_WORD
below, any case), so that the demo query "Russia soybeans" keeps the news article on
top.  Only the id, title and body keys are kept.  A body longer than --max-body UTF-8
bytes is cut at the last paragraph break (or failing that the last sentence end, or
failing that the last space) that fits.  The selection stops early if the file would
exceed --max-total bytes.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

FILTER_WORD = "soybean"
NEWS_FILE = "2019-06-05-china-russia-ties.txt"


def shared_dir():
    env = os.environ.get("FT_SHARED")
    if env:
        return env
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(os.path.dirname(repo), "shared")


def cut_body(body, limit):
    """Return body cut to at most limit UTF-8 bytes at a natural boundary."""
    raw = body.encode("utf-8")
    if len(raw) <= limit:
        return body
    # Decode the prefix, dropping a partial character at the end.
    head = raw[:limit].decode("utf-8", errors="ignore")
    for sep in ("\n",):
        i = head.rfind(sep)
        if i >= limit // 2:
            return head[:i].rstrip()
    best = -1
    for sep in (". ", "? ", "! ", ".\n"):
        best = max(best, head.rfind(sep))
    if best >= limit // 2:
        return head[:best + 1]
    i = head.rfind(" ")
    if i > 0:
        return head[:i]
    return head


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--out", default=os.path.join(repo, "sample"))
    ap.add_argument("--docs", type=int, default=3000)
    ap.add_argument("--max-body", type=int, default=6144)
    ap.add_argument("--max-total", type=int, default=7 * 1000 * 1000)
    args = ap.parse_args()

    corpora = os.path.join(shared_dir(), "corpora")
    src = os.path.join(corpora, "large", "enwiki.jsonl.zst")
    news = os.path.join(corpora, "sample", NEWS_FILE)
    if not os.path.exists(src) or not os.path.exists(news):
        sys.exit("make-sample: shared corpora not found under %s (set FT_SHARED)" % corpora)

    os.makedirs(args.out, exist_ok=True)
    shutil.copyfile(news, os.path.join(args.out, NEWS_FILE))

    out_path = os.path.join(args.out, "enwiki-sample.jsonl")
    tmp_path = out_path + ".tmp"
    kept = skipped = cut = total = 0
    proc = subprocess.Popen(["zstd", "-dc", src], stdout=subprocess.PIPE)
    with open(tmp_path, "w", encoding="utf-8", newline="\n") as out:
        for line in proc.stdout:
            if kept >= args.docs:
                break
            d = json.loads(line)
            title, body = d.get("title", ""), d.get("body", "")
            if FILTER_WORD in title.lower() or FILTER_WORD in body.lower():
                skipped += 1
                continue
            short = cut_body(body, args.max_body)
            if short != body:
                cut += 1
            rec = json.dumps({"id": str(d["id"]), "title": title, "body": short},
                             ensure_ascii=False) + "\n"
            size = len(rec.encode("utf-8"))
            if total + size > args.max_total:
                break
            out.write(rec)
            total += size
            kept += 1
    proc.stdout.close()
    proc.kill()
    proc.wait()
    os.replace(tmp_path, out_path)
    print("make-sample: %d articles, %d bytes -> %s (%d skipped by the filter, %d bodies cut)"
          % (kept, total, out_path, skipped, cut))


if __name__ == "__main__":
    main()
