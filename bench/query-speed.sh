#!/bin/sh
# Query speed of ft, Xapian and SQLite FTS5 on the same corpus and queries, in one
# run: ROUNDS rounds (default 5), each running every engine on every mode (any, all,
# phrase) with one warm-up pass and timed passes, the engines interleaved so that
# load on the machine hits them alike; prints each measurement and the medians.
# A timed measurement repeats the query set until it lasts a good fraction of a
# second, so that one scheduling hiccup on a shared machine cannot halve it:
# FT_REPEAT passes for ft (default 20: a pass of 302 queries is 20-60 ms),
# XAPIAN_REPEAT for Xapian (default 5), FTS5_REPEAT for FTS5 (default 1: one
# any-word pass already takes about 11 s).
#
# usage: bench/query-speed.sh FT_INDEX XAPIAN_DB FTS5_DB [QUERIES]
#   FT_INDEX   an index built by ftindex from the corpus
#   XAPIAN_DB  built by bench/peers/xapian.py index from the same JSON Lines
#   FTS5_DB    built by bench/peers/fts5.py index (--with-content) from the same
#   QUERIES    default: the AOL queries of the shared corpora
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
shared=${FT_SHARED:-$repo/../shared}
ft=${FT_BIN:-$repo/build}/ftbench
ix=${1:?usage: query-speed.sh FT_INDEX XAPIAN_DB FTS5_DB [QUERIES]}
xdb=${2:?missing XAPIAN_DB}
fdb=${3:?missing FTS5_DB}
q=${4:-$shared/corpora/queries/aol_sbg_queries.txt}
rounds=${ROUNDS:-5}
ft_repeat=${FT_REPEAT:-20}
xapian_repeat=${XAPIAN_REPEAT:-5}
fts5_repeat=${FTS5_REPEAT:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/all.txt
r=1
while [ "$r" -le "$rounds" ]; do
  for m in any all phrase; do
    "$ft" query -i "$ix" "$q" --mode "$m" -k 10 --no-cold -q --json --warmup 1 --repeat "$ft_repeat" |
      python3 -c "import json,sys; d=json.load(sys.stdin); print('ft', '$m', $r, round(d['qps'],1), round(d['p50_ms'],3), round(d['p99_ms'],3))" >> "$out"
    python3 "$here/peers/xapian.py" run "$xdb" "$q" 10 "$tmp/x.trec" --mode "$m" --repeat "$xapian_repeat" --warmup 1 2>/dev/null |
      awk -v m="$m" -v r="$r" '/^qps/{q=$2}/^p50_ms/{a=$2}/^p99_ms/{b=$2}END{print "xapian", m, r, q, a, b}' >> "$out"
    python3 "$here/peers/fts5.py" run "$fdb" "$q" 10 "$tmp/f.trec" --mode "$m" --repeat "$fts5_repeat" 2>/dev/null |
      awk -v m="$m" -v r="$r" '/^qps/{q=$2}/^p50_ms/{a=$2}/^p99_ms/{b=$2}END{print "fts5", m, r, q, a, b}' >> "$out"
  done
  r=$((r + 1))
done
cat "$out"
python3 - "$out" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
med = {}
for e, m, r, qps, p50, p99 in rows:
    med.setdefault((e, m), []).append((float(qps), float(p50), float(p99)))
print()
print("| mode | ft QPS | Xapian QPS | FTS5 QPS | ft / Xapian | ft / FTS5 | p50 ms ft / Xapian / FTS5 | p99 ms ft / Xapian / FTS5 |")
print("|---|---:|---:|---:|---:|---:|---|---|")
for m in ("any", "all", "phrase"):
    v = {e: [statistics.median(x[i] for x in med[(e, m)]) for i in range(3)] for e in ("ft", "xapian", "fts5")}
    print("| %s | %.0f | %.0f | %.1f | %.2fx | %.1fx | %.3f / %.3f / %.3f | %.2f / %.2f / %.2f |" % (
        m, v["ft"][0], v["xapian"][0], v["fts5"][0], v["ft"][0] / v["xapian"][0], v["ft"][0] / v["fts5"][0],
        v["ft"][1], v["xapian"][1], v["fts5"][1], v["ft"][2], v["xapian"][2], v["fts5"][2]))
PY
