#!/usr/bin/env python3
"""SQLite FTS5 as a peer for ft's benchmarks (Python's sqlite3 module, one thread).

usage:
  fts5.py index DB JSONL [--with-content] [--batch N]
  fts5.py run DB QUERIES K OUT.trec [--all | --mode any|all|phrase] [--cold] [--repeat R]

index  Builds DB (replacing it) from a JSON Lines file of {"id", "title", "body"}
       documents (plain, or .zst read through `zstd -dc`), with the porter stemmer over
       unicode61 and BM25 ranking, all in one transaction.
       Default: a contentless table (content=''), so the database holds the FTS index
       alone (dictionary, postings with positions, document sizes); a side table `ids`
       maps rowid -> document id for `run`.  --with-content stores title and body too.
       After the inserts it merges the index into one b-tree ('optimize'); the reported
       time covers reading, parsing, inserting, committing and the merge.  Then VACUUM
       (not timed) and sizes are measured with the dbstat table.
       Prints `key value` lines; MB = 10^6 bytes; input bytes = UTF-8 bytes of
       id + title + body.
run    Runs each query of QUERIES (`qid<TAB>text`, or bare text with qid = line number)
       as an FTS5 query of its words ("w1" OR "w2" ...; AND with --all or --mode all;
       one phrase "w1 w2 ..." with --mode phrase), ranked by bm25(), top K, and writes
       TREC lines `qid Q0 docid rank score fts5` with score = -bm25.  Reports QPS over
       R timed passes (default 1) after an untimed warm-up pass (--cold skips the
       warm-up), and the latency of one query (the sqlite3 call and fetching its
       rows, ids included): mean, p50, p95, p99 (nearest rank) and max in ms.
"""
import json
import math
import os
import re
import resource
import sqlite3
import subprocess
import sys
import time

TOKENIZE = "porter unicode61"


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


def table_bytes(db):
    """{table name: bytes} from dbstat (pages of each b-tree)."""
    return dict(db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))


def cmd_index(args):
    with_content = "--with-content" in args
    batch = 1000
    if "--batch" in args:
        i = args.index("--batch")
        batch = int(args[i + 1])
        del args[i:i + 2]
    args = [a for a in args if not a.startswith("--")]
    if len(args) != 2:
        sys.exit("usage: fts5.py index DB JSONL [--with-content] [--batch N]")
    db_path, src = args
    for suffix in ("", "-journal", "-wal", "-shm"):
        if os.path.exists(db_path + suffix):
            os.remove(db_path + suffix)

    db = sqlite3.connect(db_path, isolation_level=None)
    content = "" if with_content else ", content=''"
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, body%s, "
               "tokenize='%s')" % (content, TOKENIZE))
    if not with_content:
        db.execute("CREATE TABLE ids(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL)")

    docs = 0
    in_bytes = 0
    t0 = time.perf_counter()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = ru0.ru_utime + ru0.ru_stime
    db.execute("BEGIN")
    rows = []

    def flush():
        if with_content:
            db.executemany("INSERT INTO docs(rowid, id, title, body) VALUES (?, ?, ?, ?)",
                           rows)
        else:
            db.executemany("INSERT INTO docs(rowid, title, body) VALUES (?, ?, ?)",
                           [(r[0], r[2], r[3]) for r in rows])
            db.executemany("INSERT INTO ids(rowid, id) VALUES (?, ?)",
                           [(r[0], r[1]) for r in rows])
        rows.clear()

    for line in open_jsonl(src):
        if not line.strip():
            continue
        d = json.loads(line)
        did, title, body = str(d.get("id", "")), d.get("title") or "", d.get("body") or ""
        docs += 1
        in_bytes += len(did.encode()) + len(title.encode()) + len(body.encode())
        rows.append((docs, did, title, body))
        if len(rows) >= batch:
            flush()
    if rows:
        flush()
    db.execute("COMMIT")
    t_build = time.perf_counter() - t0
    t1 = time.perf_counter()
    db.execute("INSERT INTO docs(docs) VALUES('optimize')")
    t_opt = time.perf_counter() - t1
    seconds = t_build + t_opt
    ru = resource.getrusage(resource.RUSAGE_SELF)
    rss_kb = ru.ru_maxrss
    cpu = ru.ru_utime + ru.ru_stime - cpu0

    db.execute("VACUUM")
    sizes = table_bytes(db)
    fts_index = sum(v for k, v in sizes.items()
                    if k.startswith("docs_") and k != "docs_content")
    fts_content = sizes.get("docs_content", 0)
    ids_bytes = sizes.get("ids", 0)
    db.close()
    file_bytes = os.path.getsize(db_path)

    mb = in_bytes / 1e6
    out = [
        ("engine", "fts5"),
        ("sqlite_version", sqlite3.sqlite_version),
        ("mode", "with-content" if with_content else "contentless"),
        ("docs", docs),
        ("input_bytes", in_bytes),
        ("input_mb", "%.2f" % mb),
        ("seconds", "%.3f" % seconds),
        ("seconds_insert", "%.3f" % t_build),
        ("seconds_optimize", "%.3f" % t_opt),
        ("cpu_seconds", "%.3f" % cpu),
        ("mb_per_s", "%.2f" % (mb / seconds if seconds else 0)),
        ("docs_per_s", "%.0f" % (docs / seconds if seconds else 0)),
        ("peak_rss_kb", rss_kb),
        ("index_bytes", fts_index),
        ("index_ratio", "%.3f" % (fts_index / in_bytes if in_bytes else 0)),
        ("content_bytes", fts_content),
        ("ids_bytes", ids_bytes),
        ("db_file_bytes", file_bytes),
    ]
    for k, v in out:
        print(k, v)
    for k in sorted(sizes):
        print("table_bytes.%s %d" % (k, sizes[k]))


WORD = re.compile(r"[^\W_]+")


def fts_query(text, conj):
    terms = WORD.findall(text)
    if conj == "PHRASE":
        return '"%s"' % " ".join(terms) if terms else ""
    return (" %s " % conj).join('"%s"' % t for t in terms)


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
            out.append((qid.strip(), text))
    return out


def cmd_run(args):
    conj = "AND" if "--all" in args else "OR"
    cold = "--cold" in args
    repeat = 1
    rest = []
    i = 0
    while i < len(args):
        if args[i] in ("--mode", "--repeat") and i + 1 < len(args):
            if args[i] == "--repeat":
                repeat = int(args[i + 1])
            else:
                conj = {"any": "OR", "all": "AND", "phrase": "PHRASE"}.get(args[i + 1], "?")
            i += 2
            continue
        rest.append(args[i])
        i += 1
    args = [a for a in rest if not a.startswith("--")]
    if len(args) != 4 or conj == "?" or repeat < 1:
        sys.exit("usage: fts5.py run DB QUERIES K OUT.trec [--all | --mode any|all|phrase] "
                 "[--cold] [--repeat R]")
    db_path, qpath, k, out_path = args[0], args[1], int(args[2]), args[3]
    if not os.path.exists(db_path):
        sys.exit("fts5.py: no database %s" % db_path)
    db = sqlite3.connect(db_path)
    has_ids = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'ids'").fetchone()
    if has_ids:
        sql = ("SELECT ids.id, r.score FROM (SELECT rowid, bm25(docs) AS score FROM docs "
               "WHERE docs MATCH ?1 ORDER BY score LIMIT ?2) AS r "
               "JOIN ids ON ids.rowid = r.rowid ORDER BY r.score, r.rowid")
    else:
        sql = ("SELECT id, bm25(docs) AS score FROM docs WHERE docs MATCH ?1 "
               "ORDER BY score LIMIT ?2")
    queries = [(qid, fts_query(text, conj)) for qid, text in read_queries(qpath)]

    def one_pass(lat):
        res = []
        for qid, q in queries:
            t0 = time.perf_counter()
            rows = db.execute(sql, (q, k)).fetchall() if q else []
            lat.append(time.perf_counter() - t0)
            res.append((qid, rows))
        return res

    if not cold:
        one_pass([])
    lats = []
    t0 = time.perf_counter()
    results = one_pass(lats)
    for _ in range(repeat - 1):
        one_pass(lats)
    secs = time.perf_counter() - t0
    hits = 0
    with open(out_path, "w", encoding="utf-8") as out:
        for qid, rows in results:
            for rank, (did, score) in enumerate(rows, 1):
                out.write("%s Q0 %s %d %.6f fts5\n" % (qid, did, rank, -score))
                hits += 1
    nq = len(queries)
    lats.sort()
    n = len(lats)

    def pct(p):
        return 1000 * lats[max(0, math.ceil(p / 100 * n) - 1)] if n else 0

    print("queries", nq)
    print("mode", {"OR": "any", "AND": "all", "PHRASE": "phrase"}[conj])
    print("k", k)
    print("hits", hits)
    print("repeat", repeat)
    print("seconds", "%.3f" % secs)
    print("qps", "%.1f" % (n / secs if secs else 0))
    print("ms_per_query", "%.3f" % (1000 * secs / n if n else 0))
    print("mean_ms", "%.3f" % (1000 * sum(lats) / n if n else 0))
    for p in (50, 95, 99):
        print("p%d_ms" % p, "%.3f" % pct(p))
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
