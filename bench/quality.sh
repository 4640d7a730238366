#!/bin/sh
# Ranking quality of ft and SQLite FTS5 side by side on the judged collections
# (Cranfield, CACM): both engines index the same docs.jsonl, run every query of
# queries.tsv as a ranked any-word (OR) query for the top 1000, and the runs are scored
# by bench/trec_eval.py.  Prints a markdown table.
#
# usage: bench/quality.sh            (from anywhere)
# env:   FT_SHARED     shared data (default: ../shared beside the repository)
#        FT_BENCH_TMP  scratch directory (default: /tmp/ft-bench)
#        FT_BIN        where ftindex and ftsearch are (default: build/ in the repository)
# Without the ft tools the FTS5 rows are still produced.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${FT_SHARED:-$repo/../shared}
tmp=${FT_BENCH_TMP:-/tmp/ft-bench}
bin=${FT_BIN:-$repo/build}
judged=$shared/corpora/judged
py=${PYTHON:-python3}
mkdir -p "$tmp"

if [ ! -d "$judged" ]; then
  echo "quality.sh: no judged collections at $judged (set FT_SHARED)" >&2
  exit 1
fi
have_ft=1
if [ ! -x "$bin/ftindex" ] || [ ! -x "$bin/ftsearch" ]; then
  echo "quality.sh: $bin/ftindex or $bin/ftsearch missing (run make); FTS5 only" >&2
  have_ft=0
fi

# measure NAME from a trec_eval.py report
get() { awk -v m="$1" '$1 == m { print $2 }' "$2"; }

rows=""
add_row() { # collection engine report
  q=$(awk '$1 == "map" { print $3 }' "$3")
  rows="$rows| $1 | $2 | $q | $(get ndcg_cut_10 "$3") | $(get map "$3") | $(get P_10 "$3") | $(get recall_1000 "$3") | $(get recip_rank "$3") |
"
}

for name in cranfield cacm; do
  d=$judged/$name
  if [ "$have_ft" = 1 ]; then
    "$bin/ftindex" build --quiet -o "$tmp/ft-$name" "$d/docs.jsonl"
    # exit 1: no query had a hit, an empty run that still gets scored
    "$bin/ftsearch" -i "$tmp/ft-$name" --queries "$d/queries.tsv" --format trec -k 1000 \
      > "$tmp/ft-$name.trec" || [ $? -eq 1 ]
    "$py" "$repo/bench/trec_eval.py" "$d/qrels.txt" "$tmp/ft-$name.trec" > "$tmp/ft-$name.eval"
    add_row "$name" ft "$tmp/ft-$name.eval"
  fi
  "$py" "$repo/bench/peers/fts5.py" index "$tmp/fts5-$name.db" "$d/docs.jsonl" --with-content \
    > "$tmp/fts5-$name.index.log"
  "$py" "$repo/bench/peers/fts5.py" run "$tmp/fts5-$name.db" "$d/queries.tsv" 1000 \
    "$tmp/fts5-$name.trec" > "$tmp/fts5-$name.run.log"
  "$py" "$repo/bench/trec_eval.py" "$d/qrels.txt" "$tmp/fts5-$name.trec" > "$tmp/fts5-$name.eval"
  add_row "$name" "SQLite FTS5 $(awk '$1 == "sqlite_version" { print $2 }' "$tmp/fts5-$name.index.log") (porter)" \
    "$tmp/fts5-$name.eval"
done

echo "| collection | engine | queries | nDCG@10 | MAP | P@10 | Recall@1000 | MRR |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
printf '%s' "$rows"
echo
echo "nDCG@10 is trec_eval's ndcg_cut.10 (linear gain, ranks 1-2 undiscounted); queries with"
echo "no relevant document are not scored. Runs and reports: $tmp/{ft,fts5}-*.{trec,eval};"
echo "per-query figures: bench/trec_eval.py QRELS RUN --per-query."
