#!/usr/bin/env python3
"""Xapian 1.4 as a peer for ft's benchmarks (Debian's python3-xapian, one thread).

usage:
  xapian.py index DB JSONL
  xapian.py run DB QUERIES K OUT.trec [--mode any|all|phrase|as-written]
                [--repeat R] [--warmup W]

index  Builds DB (replacing it) from a JSON Lines file of {"id", "title", "body"}
       documents (plain, or .zst read through `zstd -dc`): title and body through
       one TermGenerator with the Snowball English stemmer (Xapian's default
       STEM_SOME: stemmed terms for ranking plus unstemmed terms with positions for
       phrases), the title first and the body 100 positions later so no phrase
       spans the two; the document id is the document's data.  Then the database
       is compacted (Database.compact, as `xapian-compact` does) and the compact
       copy replaces it, as FTS5's 'optimize' merges its b-trees.  The reported
       time covers reading, parsing, indexing, the final commit and the
       compaction (seconds_build and seconds_compact apart).  Index bytes: the
       compacted database directory (index_bytes_uncompacted: before).  Prints
       `key value` lines; MB = 10^6 bytes; input bytes = UTF-8 bytes of id +
       title + body.
run    Runs each query of QUERIES (`qid<TAB>text`, or bare text with qid = line
       number) with Xapian's QueryParser (same stemmer): any = OR of the words, all =
       AND, phrase = the text in double quotes, as-written = Xapian's default query
       syntax.  Ranked with BM25Weight(k1=1.2, k2=0, k3=1, b=0.75, min_normlen=0.5),
       Xapian 1.4's parameter order, top K.  Latency = parse + get_mset per query;
       W untimed warm-up passes, then R timed passes; ids are fetched after the
       timing to write the TREC run `qid Q0 docid rank score xapian`.
       Prints queries, hits, qps and mean/p50/p95/p99/max latency in ms.
"""
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import time

# This file is named xapian.py: keep its own directory out of the module path so the
# import below finds the library, not this script.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _here]
try:
    import xapian
    if not hasattr(xapian, "WritableDatabase"):
        raise ImportError("not the Xapian bindings")
except ImportError:
    # python3-xapian is installed for Debian's interpreter; another python3 first in
    # PATH (pyenv, a venv) does not see it.
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") \
            and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    sys.exit("xapian.py: no Python module 'xapian' (install python3-xapian: make deps-bench)")

K1, K2, K3, B, MIN_NORMLEN = 1.2, 0.0, 1.0, 0.75, 0.5


def open_jsonl(path):
    """Yield raw lines (bytes) of a plain or .zst JSON Lines file."""
    if path.endswith(".zst"):
        proc = subprocess.Popen(["zstd", "-dc", path], stdout=subprocess.PIPE,
                                bufsize=1 << 20)
        try:
            for line in proc.stdout:
                yield line
        finally:
            proc.stdout.close()
            proc.kill()
            proc.wait()
    else:
        with open(path, "rb", buffering=1 << 20) as f:
            for line in f:
                yield line


def dir_bytes(path):
    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path)
               if os.path.isfile(os.path.join(path, f)))


def cmd_index(args):
    if len(args) != 2:
        sys.exit("usage: xapian.py index DB JSONL")
    db_path, src = args
    if os.path.exists(db_path):
        shutil.rmtree(db_path)
    t0 = time.perf_counter()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    db = xapian.WritableDatabase(db_path, xapian.DB_CREATE_OR_OVERWRITE)
    tg = xapian.TermGenerator()
    tg.set_stemmer(xapian.Stem("english"))
    docs = 0
    in_bytes = 0
    for line in open_jsonl(src):
        if not line.strip():
            continue
        d = json.loads(line)
        did, title, body = str(d.get("id", "")), d.get("title") or "", d.get("body") or ""
        docs += 1
        in_bytes += len(did.encode()) + len(title.encode()) + len(body.encode())
        doc = xapian.Document()
        tg.set_document(doc)
        tg.index_text(title)
        tg.increase_termpos(100)
        tg.index_text(body)
        doc.set_data(did)
        db.add_document(doc)
    db.commit()
    db.close()
    t_build = time.perf_counter() - t0
    loose = dir_bytes(db_path)
    t1 = time.perf_counter()
    tmp = db_path.rstrip("/") + ".compact"
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    xapian.Database(db_path).compact(tmp)
    shutil.rmtree(db_path)
    os.rename(tmp, db_path)
    t_compact = time.perf_counter() - t1
    seconds = t_build + t_compact
    ru = resource.getrusage(resource.RUSAGE_SELF)
    rss_kb = ru.ru_maxrss
    cpu = ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime
    size = dir_bytes(db_path)
    mb = in_bytes / 1e6
    for k, v in [
        ("engine", "xapian"),
        ("xapian_version", xapian.version_string()),
        ("docs", docs),
        ("input_bytes", in_bytes),
        ("input_mb", "%.2f" % mb),
        ("seconds", "%.3f" % seconds),
        ("seconds_build", "%.3f" % t_build),
        ("seconds_compact", "%.3f" % t_compact),
        ("cpu_seconds", "%.3f" % cpu),
        ("mb_per_s", "%.2f" % (mb / seconds if seconds else 0)),
        ("docs_per_s", "%.0f" % (docs / seconds if seconds else 0)),
        ("peak_rss_kb", rss_kb),
        ("index_bytes", size),
        ("index_ratio", "%.3f" % (size / in_bytes if in_bytes else 0)),
        ("index_bytes_uncompacted", loose),
    ]:
        print(k, v)


def read_queries(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            if "\t" in line:
                qid, text = line.split("\t", 1)
            else:
                qid, text = str(n), line
            out.append((qid.strip() or str(n), text))
    return out


def percentile(sorted_v, p):
    """Nearest rank, as ftbench."""
    return sorted_v[max(0, math.ceil(p / 100 * len(sorted_v)) - 1)]


def cmd_run(args):
    mode, repeat, warmup = "any", 3, 1
    rest = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--mode", "--repeat", "--warmup") and i + 1 < len(args):
            v = args[i + 1]
            if a == "--mode":
                mode = v
            elif a == "--repeat":
                repeat = int(v)
            else:
                warmup = int(v)
            i += 2
            continue
        rest.append(a)
        i += 1
    if len(rest) != 4 or mode not in ("any", "all", "phrase", "as-written") or repeat < 1:
        sys.exit("usage: xapian.py run DB QUERIES K OUT.trec [--mode any|all|phrase|as-written]"
                 " [--repeat R] [--warmup W]")
    db_path, qpath, k, out_path = rest[0], rest[1], int(rest[2]), rest[3]
    db = xapian.Database(db_path)
    qp = xapian.QueryParser()
    qp.set_stemmer(xapian.Stem("english"))
    qp.set_stemming_strategy(xapian.QueryParser.STEM_SOME)
    qp.set_database(db)
    flags = 0
    if mode == "all":
        qp.set_default_op(xapian.Query.OP_AND)
    elif mode == "phrase":
        flags = xapian.QueryParser.FLAG_PHRASE
    elif mode == "as-written":
        flags = xapian.QueryParser.FLAG_DEFAULT
    enq = xapian.Enquire(db)
    enq.set_weighting_scheme(xapian.BM25Weight(K1, K2, K3, B, MIN_NORMLEN))
    queries = read_queries(qpath)
    texts = [('"%s"' % t.replace('"', " ")) if mode == "phrase" else t for _, t in queries]

    def one_pass(keep):
        lat = []
        res = []
        for text in texts:
            t0 = time.perf_counter()
            q = qp.parse_query(text, flags)
            enq.set_query(q)
            m = enq.get_mset(0, k)
            lat.append(time.perf_counter() - t0)
            if keep:
                res.append([(x.docid, x.weight) for x in m])
        return lat, res

    for _ in range(warmup):
        one_pass(False)
    lats = []
    wall = 0.0
    results = None
    for r in range(repeat):
        t0 = time.perf_counter()
        lat, res = one_pass(r == 0)
        wall += time.perf_counter() - t0
        lats.extend(lat)
        if r == 0:
            results = res
    hits = 0
    with open(out_path, "w", encoding="utf-8") as out:
        for (qid, _), rows in zip(queries, results):
            for rank, (docid, w) in enumerate(rows, 1):
                did = db.get_document(docid).get_data().decode("utf-8")
                out.write("%s Q0 %s %d %.6f xapian\n" % (qid, did, rank, w))
                hits += 1
    lats.sort()
    n = len(lats)
    print("engine xapian")
    print("xapian_version", xapian.version_string())
    print("queries", len(queries))
    print("mode", mode)
    print("k", k)
    print("hits", hits)
    print("repeat", repeat)
    print("warmup", warmup)
    print("seconds", "%.3f" % wall)
    print("qps", "%.1f" % (n / wall if wall else 0))
    print("mean_ms", "%.3f" % (1000 * sum(lats) / n if n else 0))
    for p in (50, 95, 99):
        print("p%d_ms" % p, "%.3f" % (1000 * percentile(lats, p) if n else 0))
    print("max_ms", "%.3f" % (1000 * lats[-1] if n else 0))


def main(argv):
    if len(argv) < 2 or argv[1] not in ("index", "run"):
        sys.stderr.write(__doc__)
        return 2
    if argv[1] == "index":
        cmd_index(argv[2:])
    else:
        cmd_run(argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
