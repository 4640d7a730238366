#!/usr/bin/env python3
"""Score a TREC run against qrels, following trec_eval's definitions.

usage: trec_eval.py QRELS RUN [--per-query]
       trec_eval.py --selftest

QRELS lines: `qid iter docid rel`; RUN lines: `qid Q0 docid rank score tag`.

Conventions (those of trec_eval 9 run with -c):
- A document is relevant when its rel value is >= 1.
- Only queries with at least one relevant document in QRELS are scored; such a query
  that is missing from RUN scores 0 on every measure.  Run lines for other queries are
  ignored.
- A query's run is ordered by score descending, ties by docid descending (string
  order); the rank column of RUN is ignored, as trec_eval ignores it.

Measures (means over the scored queries):
  ndcg_cut_10  trec_eval's ndcg_cut.10: gain = the qrels rel value, the document at rank
               r is divided by log2(r) for r >= 2 and by 1 at rank 1 (Jarvelin and
               Kekalainen with base 2, so ranks 1 and 2 are not discounted); the ideal
               ranking is the qrels' rel values sorted descending, cut at 10
  ndcg@10      the same with the common discount log2(r + 1) at every rank
  map          average precision: sum of precision at each relevant retrieved document
               divided by the number of relevant documents in QRELS
  P_10         relevant documents in the top 10, divided by 10
  recall_100, recall_1000
               relevant documents in the top k over the relevant documents in QRELS
  recip_rank   1 / rank of the first relevant document (0 if none retrieved)
"""
import math
import sys

MEASURES = ["ndcg_cut_10", "ndcg@10", "map", "P_10", "recall_100", "recall_1000",
            "recip_rank"]


def read_qrels(lines):
    """{qid: {docid: rel}}"""
    qrels = {}
    for n, line in enumerate(lines, 1):
        f = line.split()
        if not f:
            continue
        if len(f) != 4:
            raise ValueError("qrels line %d: expected 4 fields, got %d" % (n, len(f)))
        qid, _, docid, rel = f
        qrels.setdefault(qid, {})[docid] = int(rel)
    return qrels


def read_run(lines):
    """{qid: [docid, ...]} in trec_eval's order."""
    per_q = {}
    for n, line in enumerate(lines, 1):
        f = line.split()
        if not f:
            continue
        if len(f) != 6:
            raise ValueError("run line %d: expected 6 fields, got %d" % (n, len(f)))
        qid, _, docid, _, score, _ = f
        per_q.setdefault(qid, []).append((float(score), docid))
    run = {}
    for qid, rows in per_q.items():
        # trec_eval: score descending, then docid descending.
        rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
        seen = set()
        for _, docid in rows:
            if docid in seen:
                raise ValueError("run: document %s retrieved twice for query %s" % (docid, qid))
            seen.add(docid)
        run[qid] = [docid for _, docid in rows]
    return run


def dcg(gains, k, trec):
    s = 0.0
    for i, g in enumerate(gains[:k]):
        if g <= 0:
            continue
        rank = i + 1
        if trec:
            s += g if rank == 1 else g / math.log2(rank)
        else:
            s += g / math.log2(rank + 1)
    return s


def score_query(judged, ranking):
    """judged: {docid: rel}; ranking: [docid] best first.  Returns {measure: value}."""
    num_rel = sum(1 for r in judged.values() if r >= 1)
    rels = [judged.get(d, 0) for d in ranking]
    ideal = sorted((r for r in judged.values() if r > 0), reverse=True)
    out = {}
    for name, trec in (("ndcg_cut_10", True), ("ndcg@10", False)):
        idcg = dcg(ideal, 10, trec)
        out[name] = dcg(rels, 10, trec) / idcg if idcg > 0 else 0.0
    hits = 0
    ap = 0.0
    rr = 0.0
    for i, r in enumerate(rels):
        if r >= 1:
            hits += 1
            ap += hits / (i + 1)
            if rr == 0.0:
                rr = 1.0 / (i + 1)
    out["map"] = ap / num_rel
    out["P_10"] = sum(1 for r in rels[:10] if r >= 1) / 10.0
    out["recall_100"] = sum(1 for r in rels[:100] if r >= 1) / num_rel
    out["recall_1000"] = sum(1 for r in rels[:1000] if r >= 1) / num_rel
    out["recip_rank"] = rr
    return out


def qid_key(q):
    return (0, int(q), "") if q.isdigit() else (1, 0, q)


def evaluate(qrels, run):
    """Returns ({qid: {measure: value}}, {measure: mean})."""
    per = {}
    for qid, judged in qrels.items():
        if not any(r >= 1 for r in judged.values()):
            continue
        per[qid] = score_query(judged, run.get(qid, []))
    means = {m: (sum(v[m] for v in per.values()) / len(per) if per else 0.0)
             for m in MEASURES}
    return per, means


def print_table(per, means, per_query, out=sys.stdout):
    if per_query:
        out.write("%-8s " % "qid" + " ".join("%11s" % m for m in MEASURES) + "\n")
        for qid in sorted(per, key=qid_key):
            out.write("%-8s " % qid + " ".join("%11.4f" % per[qid][m] for m in MEASURES)
                      + "\n")
        out.write("\n")
    out.write("%-12s %8s %8s\n" % ("measure", "value", "queries"))
    for m in MEASURES:
        out.write("%-12s %8.4f %8d\n" % (m, means[m], len(per)))


def selftest():
    qrels = read_qrels("""
        q1 0 d1 2
        q1 0 d2 1
        q1 0 d3 0
        q1 0 d4 1
        q2 0 d5 1
        q3 0 d6 0
    """.strip().splitlines())
    # q1: the rank column disagrees with the scores on purpose (it must be ignored);
    # d9 and d2 tie, and docid descending puts d9 first.  q2 has no results; q3 has no
    # relevant document and is not scored; q4 is not judged and is ignored.
    run = read_run("""
        q1 Q0 d2 1 1.0 t
        q1 Q0 d3 2 3.0 t
        q1 Q0 d9 3 1.0 t
        q1 Q0 d1 4 2.0 t
        q3 Q0 d6 1 5.0 t
        q4 Q0 d1 1 5.0 t
    """.strip().splitlines())
    assert run["q1"] == ["d3", "d1", "d9", "d2"], run["q1"]
    per, means = evaluate(qrels, run)
    assert sorted(per) == ["q1", "q2"], sorted(per)

    def close(a, b):
        assert abs(a - b) < 1e-12, (a, b)

    q1 = per["q1"]
    # relevant: d1 (rel 2) at rank 2, d2 (rel 1) at rank 4; d4 not retrieved; 3 relevant.
    close(q1["map"], (1 / 2 + 2 / 4) / 3)
    close(q1["P_10"], 0.2)
    close(q1["recall_100"], 2 / 3)
    close(q1["recall_1000"], 2 / 3)
    close(q1["recip_rank"], 0.5)
    # trec_eval: rank 1 -> /1, rank r >= 2 -> /log2(r); ideal gains 2, 1, 1.
    close(q1["ndcg_cut_10"], (2 / 1 + 1 / 2) / (2 + 1 / 1 + 1 / math.log2(3)))
    # common form: /log2(r + 1).
    close(q1["ndcg@10"], (2 / math.log2(3) + 1 / math.log2(5))
          / (2 + 1 / math.log2(3) + 1 / 2))
    for m in MEASURES:
        close(per["q2"][m], 0.0)
        close(means[m], q1[m] / 2)
    close(means["map"], 1 / 6)

    # A perfect ranking scores 1 on both nDCGs, MAP, recall and RR.
    p, _ = evaluate(qrels, read_run(["q1 Q0 d1 1 9 t", "q1 Q0 d2 1 8 t", "q1 Q0 d4 1 7 t",
                                     "q2 Q0 d5 1 1 t"]))
    for q in ("q1", "q2"):
        for m in ("ndcg_cut_10", "ndcg@10", "map", "recall_100", "recip_rank"):
            close(p[q][m], 1.0)
    close(p["q1"]["P_10"], 0.3)

    # trec_eval's discount: one relevant document at rank 2 still scores 1.
    p, _ = evaluate(read_qrels(["a 0 x 1"]), read_run(["a Q0 y 1 2 t", "a Q0 x 2 1 t"]))
    close(p["a"]["ndcg_cut_10"], 1.0)
    close(p["a"]["ndcg@10"], 1 / math.log2(3))
    print("trec_eval.py selftest: 1 passed, 0 failed")


def main(argv):
    if argv[1:] == ["--selftest"]:
        selftest()
        return 0
    args = [a for a in argv[1:] if a != "--per-query"]
    if len(args) != 2:
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    with open(args[0], encoding="utf-8") as f:
        qrels = read_qrels(f)
    with open(args[1], encoding="utf-8") as f:
        run = read_run(f)
    per, means = evaluate(qrels, run)
    print_table(per, means, "--per-query" in argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
