#!/usr/bin/env python3
"""Run ft and its peers (SQLite FTS5, Xapian) on the same data and write the tables.

usage: bench/run.py [--smoke] [--out FILE]

Full run (`make bench`), written to bench/RESULTS-auto.md (or --out):
  - indexing: the English scale corpus (../shared/corpora/make-scale.sh OUT english,
    built once into $FT_BENCH_TMP), or without the shared data a corpus of this
    machine's Debian package texts (bench/make-debian-corpus.py).  ft with one thread
    (`ftbench index`: read, parse and index on one thread) and with two (`ftindex
    build -j 1`: reading and parsing on a second thread; `-j 2`: one analysis thread
    more), FTS5 (contentless) and Xapian, alternating,
    RUNS times each (default 3; Xapian XAPIAN_RUNS times, default 1, as it is slow);
    medians.
  - query speed: the AOL queries (../shared/corpora/queries/aol_sbg_queries.txt; else
    the generated query file) on that corpus, top 10, any-word, all-words and phrase,
    one thread (ft also with two); QRUNS rounds (default 3) alternating the engines,
    each round one warm-up pass and one timed pass per engine; medians of QPS and p99.
  - quality: Cranfield and CACM (../shared/corpora/judged) when present: every engine
    ranks every query (any-word, top 1000) and `ftbench eval --run` scores all runs.
--smoke (`make bench-smoke`): the bundled sample (3,000 Wikipedia articles), a few
  queries, a judged set made from the sample's titles; runs every ftbench subcommand
  and both peer scripts once, checks their outputs are well formed and that ftbench's
  scorer agrees with bench/trec_eval.py, and writes the tables to $FT_BENCH_TMP.
  Fails on a broken tool, never on a time.
env: FT_SHARED (default ../shared beside the repository), FT_BENCH_TMP (default
  /tmp/ft-bench), FT_BIN (default build/), PYTHON (default python3), FT_COMMIT (the
  commit to name when the tree is not a git checkout).
"""
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("FT_SHARED", os.path.join(REPO, "..", "shared"))
TMP = os.environ.get("FT_BENCH_TMP", "/tmp/ft-bench")
BIN = os.environ.get("FT_BIN", os.path.join(REPO, "build"))
PY = os.environ.get("PYTHON", "python3")
CORPORA = os.path.join(SHARED, "corpora")
FTBENCH = os.path.join(BIN, "ftbench")
FTINDEX = os.path.join(BIN, "ftindex")
FTS5 = os.path.join(REPO, "bench", "peers", "fts5.py")
XAPIAN = os.path.join(REPO, "bench", "peers", "xapian.py")


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


def run(cmd, quiet_stderr=False):
    """Run cmd, return stdout; exit with its stderr on failure."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        sys.exit("bench: failed (exit %d): %s" % (p.returncode, " ".join(cmd)))
    if p.stderr and not quiet_stderr:
        sys.stderr.write(p.stderr)
    return p.stdout


def run_json(cmd, keys=()):
    out = run(cmd)
    try:
        o = json.loads(out)
    except ValueError:
        sys.exit("bench: not one JSON object from %s:\n%s" % (" ".join(cmd), out))
    for k in keys:
        if k not in o:
            sys.exit("bench: key %r missing from the output of %s" % (k, " ".join(cmd)))
    return o


def run_kv(cmd):
    """`key value` lines -> dict."""
    out = run(cmd)
    d = {}
    for line in out.splitlines():
        f = line.split(None, 1)
        if len(f) == 2:
            d[f[0]] = f[1]
    return d


def timed_child(cmd):
    """Wall seconds, peak RSS (KB) and CPU seconds of a child process."""
    t = time.perf_counter()
    pid = os.spawnv(os.P_NOWAIT, cmd[0], cmd)
    _, status, ru = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("bench: failed: %s" % " ".join(cmd))
    return time.perf_counter() - t, ru.ru_maxrss, ru.ru_utime + ru.ru_stime


def dir_bytes(path, skip_suffix=None):
    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path)
               if not (skip_suffix and f.endswith(skip_suffix)))


QUERY_KEYS = ("qps", "mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms", "queries")


# ---------------------------------------------------------------- data

def english_corpus():
    path = os.path.join(TMP, "english.jsonl")
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        log("building the English scale corpus in %s (once)" % path)
        subprocess.run(["sh", os.path.join(CORPORA, "make-scale.sh"), path + ".part", "english"],
                       check=True, stdout=subprocess.DEVNULL)
        os.rename(path + ".part", path)
    return path, "English scale corpus (`make-scale.sh OUT english`)"


def debian_corpus():
    path = os.path.join(TMP, "debian-docs.jsonl")
    qpath = os.path.join(TMP, "debian-docs-queries.txt")
    if not os.path.exists(path):
        run([PY, os.path.join(REPO, "bench", "make-debian-corpus.py"), path, qpath])
    return path, qpath, "Debian package texts of this machine (bench/make-debian-corpus.py)"


def smoke_data():
    """The bundled sample, 30 queries from its titles and a judged set: each title
    query judges its own article relevant (2) and, to exercise graded gains, the
    next article marginally relevant (1)."""
    corpus = os.path.join(REPO, "sample", "enwiki-sample.jsonl")
    qpath = os.path.join(TMP, "smoke-queries.tsv")
    qrels = os.path.join(TMP, "smoke-qrels.txt")
    docs = []
    with open(corpus, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i % 100 == 0:
                docs.append(json.loads(line))
    ids = [d["id"] for d in docs]
    with open(qpath, "w", encoding="utf-8") as q, open(qrels, "w") as r:
        for n, d in enumerate(docs, 1):
            q.write("%d\t%s\n" % (n, d["title"].replace("\t", " ")))
            r.write("%d 0 %s 2\n" % (n, d["id"]))
            r.write("%d 0 %s 1\n" % (n, ids[n % len(ids)]))
    return corpus, qpath, qrels


# ---------------------------------------------------------------- measurements

def bench_index(corpus, runs, xruns, smoke):
    log("indexing %s: ft (1 and 2 threads), FTS5, Xapian; %d run(s), Xapian %d"
        % (corpus, runs, xruns))
    ft1, ft2, ft3, fts, xap = [], [], [], [], []
    ft1_last = fts_last = xap_last = None
    ft_dir = os.path.join(TMP, "bench-ft")
    for r in range(max(runs, xruns)):
        if r < runs:
            o = run_json([FTBENCH, "index", "-q", "--json", "-o", ft_dir, corpus],
                         ("docs", "seconds", "mb_per_s", "index_bytes", "peak_rss_kb"))
            ft1.append((o["seconds"], o["cpu_seconds"]))
            ft1_last = o
            ft2.append(timed_child([FTINDEX, "build", "--quiet", "-j", "1", "-o", ft_dir + "-2",
                                    corpus]))
            ft3.append(timed_child([FTINDEX, "build", "--quiet", "-j", "2", "-o", ft_dir + "-3",
                                    corpus]))
            d = run_kv([PY, FTS5, "index", os.path.join(TMP, "bench-fts5.db"), corpus])
            fts.append((float(d["seconds"]), float(d["cpu_seconds"])))
            fts_last = d
        if r < xruns:
            d = run_kv([PY, XAPIAN, "index", os.path.join(TMP, "bench-xapian"), corpus])
            xap.append((float(d["seconds"]), float(d["cpu_seconds"])))
            xap_last = d
    if smoke:  # the other subcommands on the index just built
        log("smoke: ftbench codec")
        out = run([FTBENCH, "codec", "-q", "-i", ft_dir, "--repeat", "1"])
        if "zstd-1, 8 blocks of 128 (format)" not in out or "machine" not in out:
            sys.exit("bench: unexpected ftbench codec output:\n" + out)
    inb = ft1_last["input_bytes"]
    docs = ft1_last["docs"]
    def med(runs, i):
        return statistics.median(x[i] for x in runs)

    rows = [  # name, threads, wall s, CPU s, peak RSS KB, index bytes
        ("ft (`ftbench index`)", 1, med(ft1, 0), med(ft1, 1), ft1_last["peak_rss_kb"],
         dir_bytes(ft_dir, ".sto")),
        ("ft (`ftindex build -j 1`: reading on a 2nd thread)", 2, med(ft2, 0), med(ft2, 2),
         max(x[1] for x in ft2), dir_bytes(ft_dir + "-2", ".sto")),
        ("ft (`ftindex build -j 2`: + 1 analysis thread)", 3, med(ft3, 0), med(ft3, 2),
         max(x[1] for x in ft3), dir_bytes(ft_dir + "-3", ".sto")),
        ("SQLite FTS5 %s contentless (porter)" % fts_last["sqlite_version"], 1, med(fts, 0),
         med(fts, 1), int(fts_last["peak_rss_kb"]), int(fts_last["index_bytes"])),
        ("Xapian %s (Snowball English), compacted" % xap_last["xapian_version"], 1,
         med(xap, 0), med(xap, 1), int(xap_last["peak_rss_kb"]), int(xap_last["index_bytes"])),
    ]
    return {"docs": docs, "input_bytes": inb, "rows": rows, "ft": ft1_last,
            "ft_runs": [x[0] for x in ft1], "ft2_runs": [x[0] for x in ft2],
            "ft3_runs": [x[0] for x in ft3],
            "fts5_runs": [x[0] for x in fts], "xapian_runs": [x[0] for x in xap],
            "sqlite": fts_last["sqlite_version"], "xapian": xap_last["xapian_version"],
            "ft_dir": ft_dir, "xapian_loose": xap_last["index_bytes_uncompacted"]}


def bench_queries(ft_dir, queries, qruns, smoke):
    modes = ("any", "all", "phrase")
    log("queries %s: %s; %d round(s)" % (queries, ", ".join(modes), qruns))
    res = {m: {"ft": [], "ft2": [], "fts5": [], "xapian": []} for m in modes}
    cold = {}
    fts_db = os.path.join(TMP, "bench-fts5.db")
    xdb = os.path.join(TMP, "bench-xapian")
    for r in range(qruns):
        for m in modes:
            cmd = [FTBENCH, "query", "-q", "--json", "-i", ft_dir, queries, "--mode", m,
                   "-k", "10", "--repeat", "1", "--warmup", "1"]
            if r > 0:
                cmd.append("--no-cold")
            o = run_json(cmd, QUERY_KEYS)
            if r == 0:
                cold[m] = o["cold"]
            res[m]["ft"].append(o)
            res[m]["ft2"].append(run_json(cmd[:3] + ["-j", "2", "--no-cold"] + cmd[3:], QUERY_KEYS))
            d = run_kv([PY, FTS5, "run", fts_db, queries, "10", os.path.join(TMP, "fts5-q.trec"),
                        "--mode", m, "--repeat", "1"])
            res[m]["fts5"].append({k: float(d[k]) for k in ("qps", "p99_ms", "mean_ms", "hits")})
            d = run_kv([PY, XAPIAN, "run", xdb, queries, "10", os.path.join(TMP, "xapian-q.trec"),
                        "--mode", m, "--repeat", "1", "--warmup", "1"])
            res[m]["xapian"].append({k: float(d[k]) for k in ("qps", "p99_ms", "mean_ms", "hits")})
    if smoke:
        log("smoke: ftbench query --mode as-written, --run")
        o = run_json([FTBENCH, "query", "-q", "--json", "-i", ft_dir, queries, "--mode",
                      "as-written", "--repeat", "1", "--warmup", "0",
                      "--run", os.path.join(TMP, "smoke-ft.trec")], QUERY_KEYS)
        if o["queries"] <= 0 or not os.path.getsize(os.path.join(TMP, "smoke-ft.trec")):
            sys.exit("bench: ftbench query ran no queries")
    return res, cold


def bench_quality(collections, smoke):
    """collections: [(name, docs.jsonl, queries, qrels)] -> rows."""
    rows = []
    for name, docs, queries, qrels in collections:
        log("quality: %s" % name)
        ft_dir = os.path.join(TMP, "q-ft-%s" % name)
        run([FTBENCH, "index", "-q", "-o", ft_dir, docs])
        ft_run = os.path.join(TMP, "q-ft-%s.trec" % name)
        direct = run_json([FTBENCH, "eval", "-q", "--json", "-i", ft_dir, "--queries", queries,
                           "--qrels", qrels, "-k", "1000", "--run", ft_run],
                          ("ndcg_cut_10", "map", "queries"))
        db = os.path.join(TMP, "q-fts5-%s.db" % name)
        d = run_kv([PY, FTS5, "index", db, docs])
        fts_run = os.path.join(TMP, "q-fts5-%s.trec" % name)
        run([PY, FTS5, "run", db, queries, "1000", fts_run])
        xdb = os.path.join(TMP, "q-xapian-%s" % name)
        x = run_kv([PY, XAPIAN, "index", xdb, docs])
        x_run = os.path.join(TMP, "q-xapian-%s.trec" % name)
        run([PY, XAPIAN, "run", xdb, queries, "1000", x_run, "--repeat", "1", "--warmup", "0"])
        for engine, trec in (("ft", ft_run),
                             ("SQLite FTS5 %s (porter)" % d["sqlite_version"], fts_run),
                             ("Xapian %s" % x["xapian_version"], x_run)):
            o = run_json([FTBENCH, "eval", "--json", "--run", trec, "--qrels", qrels],
                         ("ndcg_cut_10", "map", "P_10", "recall_1000", "recip_rank", "queries"))
            if engine == "ft":
                for k in ("ndcg_cut_10", "map", "P_10", "recall_100", "recall_1000"):
                    if abs(o[k] - direct[k]) > 1e-9:
                        sys.exit("bench: ftbench eval -i and --run disagree on %s" % k)
            # the Python scorer must agree with the C one
            ref = {}
            for line in run([PY, os.path.join(REPO, "bench", "trec_eval.py"), qrels,
                             trec]).splitlines()[1:]:
                f = line.split()
                ref[f[0]] = float(f[1])
            for k in ("ndcg_cut_10", "map", "P_10", "recall_1000", "recip_rank"):
                if abs(ref[k] - o[k]) > 6e-5:
                    sys.exit("bench: ftbench eval and trec_eval.py disagree on %s for %s: "
                             "%.4f vs %.4f" % (k, trec, o[k], ref[k]))
            rows.append((name, engine, o))
    return rows


# ---------------------------------------------------------------- report

def median_of(lst, key):
    return statistics.median(x[key] for x in lst)


def report(out, idx, qres, cold, qual, info):
    w = []
    w.append("# Benchmark tables (generated)\n")
    w.append("Written by `%s` on %s UTC at commit %s; edit bench/run.py, not this file.  "
             "Hand-written analysis and history: [RESULTS.md](RESULTS.md).\n"
             % (info["command"], info["date"], info["commit"]))
    m = idx["ft"]["machine"]
    w.append("## Machine and versions\n")
    w.append("| | |\n|---|---|")
    w.append("| CPU | %s, %d cores (`/proc/cpuinfo`) |" % (m["cpu"], m["cores"]))
    w.append("| memory | %.1f GiB |" % m["memory_gib"])
    w.append("| ft | %s (commit %s) |" % (idx["ft"]["ft_version"], info["commit"]))
    w.append("| SQLite | %s, FTS5 through Python's sqlite3 module |" % idx["sqlite"])
    w.append("| Xapian | %s, Debian's python3-xapian |" % idx["xapian"])
    w.append("| runs | indexing: median of %d (Xapian %d); queries: median of %d rounds |"
             % (info["runs"], info["xruns"], info["qruns"]))
    w.append("| load average | %.1f at the start, %.1f at the end (1 minute; other work on the "
             "machine makes times noisy) |\n" % (info["load_start"], info["load_end"]))

    inb, docs = idx["input_bytes"], idx["docs"]
    w.append("## Indexing\n")
    w.append("%s: %s documents, %.1f MB of id + title + body text (MB = 10^6 bytes).  Index "
             "bytes exclude stored text (ft's document store is reported apart; FTS5 is "
             "contentless; Xapian keeps only the id as document data).  Each engine's time "
             "includes its final merge: FTS5's 'optimize', Xapian's compaction "
             "(%s bytes before it).\n"
             % (info["corpus_name"], format(docs, ","), inb / 1e6,
                format(int(idx["xapian_loose"]), ",")))
    w.append("| engine | threads | seconds | MB/s | CPU s | MB per CPU s | docs/s | peak RSS MB "
             "| index bytes | index/input | MB/s ÷ ft's (1 thread) |")
    w.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    base = idx["rows"][0][2]
    for name, th, secs, cpu, rss, ib in idx["rows"]:
        w.append("| %s | %d | %.2f | %.1f | %.2f | %.1f | %s | %.0f | %s | %.3f | %.2f× |"
                 % (name, th, secs, inb / 1e6 / secs, cpu, inb / 1e6 / cpu,
                    format(round(docs / secs), ","), rss / 1024, format(ib, ","), ib / inb,
                    base / secs))
    ft = idx["ft"]
    w.append("\nIndex bytes are the files on disk except the document store (ft: dictionary, "
             "postings, positions, lengths, ids and MANIFEST).")
    w.append("\nft's index: dictionary %s, postings %s, positions %s, lengths %s, ids %s "
             "bytes; document store %s bytes.  %.2f bits per posting (%.2f per doc-id gap and %.2f per "
             "frequency when each run is compressed alone), %.2f bits per position.  "
             "Wall seconds per run: ft 1 thread %s; ftindex -j 1 %s; ftindex -j 2 %s; FTS5 %s; "
             "Xapian %s.  "
             "CPU seconds count every thread of the process (the peers' include the Python "
             "interpreter, as does their peak RSS); they vary less than wall time when other "
             "work shares the machine.\n"
             % tuple([format(ft[k], ",") for k in ("bytes_dict", "bytes_postings",
                                                    "bytes_positions", "bytes_lengths",
                                                    "bytes_ids", "bytes_store")]
                     + [ft["bits_per_posting"], ft["bits_per_gap"], ft["bits_per_tf"],
                        ft["bits_per_position"]]
                     + [" ".join("%.2f" % s for s in idx[k])
                        for k in ("ft_runs", "ft2_runs", "ft3_runs", "fts5_runs",
                                  "xapian_runs")]))

    w.append("## Query speed\n")
    w.append("%s against the indexing corpus, top 10, warm (one warm-up pass before each "
             "timed pass).  Latency is one query's parse + search: ft through the C library "
             "(`ftbench query`), the peers through Python (their figures include the "
             "driver's per-call cost; FTS5's include fetching the ids).  phrase: every "
             "engine runs the query text as one phrase (in double quotes).  hits: results "
             "returned over all queries (the engines' tokenizers and stemmers differ).  On "
             "this machine two threads share about one core's throughput.\n"
             % info["queries_name"])
    w.append("| mode | engine | QPS | p99 ms | mean ms | hits | ft QPS ÷ engine QPS |")
    w.append("|---|---|---:|---:|---:|---:|---:|")
    for mode, d in qres.items():
        ftq = median_of(d["ft"], "qps")
        for key, label in (("ft", "ft, 1 thread"), ("ft2", "ft, 2 threads (`-j 2`)"),
                           ("fts5", "SQLite FTS5"), ("xapian", "Xapian")):
            q = median_of(d[key], "qps")
            w.append("| %s | %s | %s | %.2f | %.3f | %d | %s |"
                     % (mode, label, format(round(q), ","), median_of(d[key], "p99_ms"),
                        median_of(d[key], "mean_ms"), d[key][0]["hits"],
                        "" if key in ("ft", "ft2") else "%.1f×" % (ftq / q)))
    w.append("\nft cold (index pages dropped with posix_fadvise DONTNEED, then a fresh open; "
             "first round): " + "; ".join(
                 "%s %s QPS, p99 %.2f ms (%.0f%% of pages resident after the drop)"
                 % (mode, format(round(c["qps"]), ","), c["p99_ms"],
                    100 * c["resident_after_drop"]) for mode, c in cold.items()) + ".\n")

    if qual:
        w.append("## Ranking quality\n")
        w.append("Each engine indexes the collection's docs.jsonl and ranks every query as "
                 "an any-word query (BM25 k1 = 1.2, b = 0.75 in ft and Xapian; FTS5's bm25() "
                 "has k1 = 1.2, b = 0.75 too), top 1000; every run is scored by `ftbench eval "
                 "--run` (trec_eval's definitions; nDCG@10 is ndcg_cut.10) and checked "
                 "against bench/trec_eval.py.\n")
        w.append("| collection | engine | queries | nDCG@10 | MAP | P@10 | Recall@1000 | MRR |")
        w.append("|---|---|---:|---:|---:|---:|---:|---:|")
        for name, engine, o in qual:
            w.append("| %s | %s | %d | %.4f | %.4f | %.4f | %.4f | %.4f |"
                     % (name, engine, o["queries"], o["ndcg_cut_10"], o["map"], o["P_10"],
                        o["recall_1000"], o["recip_rank"]))
        w.append("")
    else:
        w.append("## Ranking quality\n\nNot measured: no judged collections at %s.\n"
                 % os.path.join(CORPORA, "judged"))
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(w))
    log("wrote %s" % out)


def main(argv):
    smoke = "--smoke" in argv
    out = None
    if "--out" in argv:
        out = argv[argv.index("--out") + 1]
    os.makedirs(TMP, exist_ok=True)
    for tool in (FTBENCH, FTINDEX):
        if not os.access(tool, os.X_OK):
            sys.exit("bench: %s missing (run make)" % tool)
    t0 = time.time()
    load_start = os.getloadavg()[0]
    aol = os.path.join(CORPORA, "queries", "aol_sbg_queries.txt")
    if smoke:
        corpus, queries, qrels = smoke_data()
        corpus_name = "The bundled sample (sample/enwiki-sample.jsonl)"
        queries_name = "30 titles of the sample"
        collections = [("sample-titles", corpus, queries, qrels)]
        runs = xruns = qruns = 1
        out = out or os.path.join(TMP, "RESULTS-smoke.md")
        log("smoke: trec_eval.py --selftest")
        run([PY, os.path.join(REPO, "bench", "trec_eval.py"), "--selftest"])
    else:
        if os.path.isdir(os.path.join(CORPORA, "large")):
            corpus, corpus_name = english_corpus()
        else:
            corpus, gen_queries, corpus_name = debian_corpus()
        if os.path.exists(aol):
            queries, queries_name = aol, "The 302 AOL queries (queries/aol_sbg_queries.txt)"
        else:
            if not os.path.isdir(os.path.join(CORPORA, "large")):
                queries = gen_queries
            else:
                _, queries, _ = debian_corpus()
            queries_name = "300 generated queries (bench/make-debian-corpus.py)"
        collections = []
        for name in ("cranfield", "cacm"):
            d = os.path.join(CORPORA, "judged", name)
            if os.path.isdir(d):
                collections.append((name, os.path.join(d, "docs.jsonl"),
                                    os.path.join(d, "queries.tsv"), os.path.join(d, "qrels.txt")))
        runs = int(os.environ.get("RUNS", "3"))
        xruns = int(os.environ.get("XAPIAN_RUNS", "1"))
        qruns = int(os.environ.get("QRUNS", "3"))
        out = out or os.path.join(REPO, "bench", "RESULTS-auto.md")
    idx = bench_index(corpus, runs, xruns, smoke)
    qres, cold = bench_queries(idx["ft_dir"], queries, qruns, smoke)
    qual = bench_quality(collections, smoke)
    commit = os.environ.get("FT_COMMIT")  # for a tree exported without .git
    try:
        commit = commit or subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True).stdout.strip() or "unknown"
    except OSError:
        commit = "unknown"
    info = {"command": "make bench-smoke" if smoke else "make bench",
            "date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), "commit": commit,
            "corpus_name": corpus_name, "queries_name": queries_name, "runs": runs,
            "xruns": xruns, "qruns": qruns, "load_start": load_start,
            "load_end": os.getloadavg()[0]}
    report(out, idx, qres, cold, qual, info)
    log("done in %.0f s" % (time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
