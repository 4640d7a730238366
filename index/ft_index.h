/*
 * ft_index.h — writing and reading an on-disk inverted index.
 *
 * An index is a directory holding immutable segment files and one MANIFEST
 * naming the live segments (docs/FORMAT.md specifies every byte).  A writer
 * inverts documents in memory, writes a new segment under temporary names,
 * fsyncs it and publishes it by renaming a new MANIFEST over the old one, so a
 * crash at any moment leaves the previous commit intact.
 *
 * Readers mmap the files of the segments named by the MANIFEST they opened (a
 * snapshot).  Document numbers are global: segment i's local document d is
 * base_i + d, where base_i is the sum of the sizes of the earlier segments.
 *
 * A build flushes a segment whenever its memory estimate passes the budget;
 * ft_index_merge merges runs of adjacent segments.  A writer in append mode
 * adds segments and deletes documents by id (deletion files named by the
 * MANIFEST); readers skip deleted documents and score with live statistics.
 * One writer at a time: a lock on the index directory (FT_EBUSY).
 */
#ifndef FT_INDEX_H
#define FT_INDEX_H

#include "ft_common.h"
#include "ft_tokenize.h"

#define FT_FORMAT_VERSION 4
#define FT_DOC_END UINT32_MAX

/* ------------------------------------------------------------------ writer */

typedef struct ft_writer ft_writer;

typedef struct ft_writer_opts {
    ft_analyzer_opts analyzer;
    int zstd_level;           /* postings and positions; 0: default (1) */
    int store_level;          /* document store; 0: default (1) */
    unsigned block_postings;  /* postings per block (skip entry); 0: default 128 */
    unsigned frame_blocks;    /* blocks per zstd frame; 0: default 8 */
    /* Flush a segment when the writer's estimate of its memory (term arena,
     * posting buffers, term table, document arrays, store block) exceeds this
     * many bytes; 0: no limit.  Default FT_DEFAULT_MEMORY. */
    uint64_t memory;
    uint32_t segment_docs;    /* also flush after this many documents; 0: no limit */
    /* FT_WRITE_REPLACE: the commit replaces the index.  FT_WRITE_APPEND: the
     * commit adds the new segments to the existing index; an added document
     * whose id is already in the index replaces it (so does a later document
     * of the same writer with the same id). */
    int mode;
    /* Threads that write segments: 0 or 1, the calling thread does all the
     * work; n > 1, the writer keeps n - 1 helper threads that compress
     * document store blocks while documents are added and encode ranges of
     * terms in parallel when a segment is written.  The index is the same
     * byte for byte whatever the number. */
    unsigned threads;
} ft_writer_opts;

#define FT_DEFAULT_MEMORY (512ull << 20)
enum { FT_WRITE_REPLACE = 0, FT_WRITE_APPEND = 1 };

void ft_writer_opts_default(ft_writer_opts *o);

/* Start a build that will replace (or, with FT_WRITE_APPEND, add to) whatever
 * index is in dir (created if missing).  Nothing visible changes until
 * ft_writer_commit().  Takes the index's writer lock (released by
 * ft_writer_close): a second writer gets FT_EBUSY naming the holder's pid. */
int ft_writer_open(const char *dir, const ft_writer_opts *opts, ft_writer **out, ft_error *err);

/* Add one document.  id must be non-empty; title may be empty.  Text need not be
 * valid UTF-8 (invalid bytes are replaced and counted in the stats). */
int ft_writer_add(ft_writer *w, const char *id, size_t id_len, const char *title,
                  size_t title_len, const char *body, size_t body_len, ft_error *err);

/* Parallel builds: documents analyzed by any thread with its own analyzer
 * (of ft_writer_analyzer_opts) into a batch of tokens, then added in
 * document order by the writer's thread with ft_writer_add_tokens.  The
 * index is identical to one built with ft_writer_add.  A batch keeps its
 * memory when cleared, for the next documents. */
typedef struct ft_tokens ft_tokens;
ft_tokens *ft_tokens_new(void);
void ft_tokens_free(ft_tokens *t); /* accepts NULL */
void ft_tokens_clear(ft_tokens *t); /* no documents; the memory kept */
size_t ft_tokens_count(const ft_tokens *t); /* documents in the batch */
size_t ft_tokens_bytes(const ft_tokens *t); /* memory held */
/* Analyze one more document (title and body must stay put until it is
 * added): it becomes document ft_tokens_count(t) - 1 of the batch.  On an
 * error the batch is as it was. */
int ft_tokens_analyze(ft_tokens *t, ft_analyzer *an, const char *title, size_t title_len, const char *body,
                      size_t body_len, ft_error *err);
/* Add document k of the batch t with its id and the title and body it was
 * analyzed from. */
int ft_writer_add_tokens(ft_writer *w, const ft_tokens *t, size_t k, const char *id, size_t id_len,
                         const char *title, size_t title_len, const char *body, size_t body_len, ft_error *err);
/* A document whose body is too large to hold, added a piece at a time:
 * ft_writer_begin with its id, title, the body's length in bytes and its
 * length once made valid UTF-8 (ft_utf8_sanitized_len of the whole; the
 * same when it is valid), then ft_writer_text with the body's bytes in
 * pieces cut anywhere, then ft_writer_end.  The index is the one
 * ft_writer_add makes of the whole body.  id, title and body together must
 * be at least 1 MiB (the store record is written as it comes);
 * ft_writer_begin refuses a document as ft_writer_add does (FT_EINVAL, the
 * writer stays usable), but once begun, any failure, including a body not
 * of the announced lengths, fails the writer.  Nothing else may be called
 * on the writer between begin and end. */
int ft_writer_begin(ft_writer *w, const char *id, size_t id_len, const char *title, size_t title_len,
                    uint64_t body_len, uint64_t stored_len, ft_error *err);
int ft_writer_text(ft_writer *w, const char *p, size_t n, ft_error *err);
int ft_writer_end(ft_writer *w, ft_error *err);
/* The analyzer options the writer indexes with (for FT_WRITE_APPEND, the
 * existing index's). */
const ft_analyzer_opts *ft_writer_analyzer_opts(const ft_writer *w);

typedef struct ft_writer_stats {
    uint64_t docs;
    uint64_t tokens;
    uint64_t terms;          /* distinct terms */
    uint64_t postings;       /* (term, doc) pairs */
    uint64_t input_bytes;    /* id + title + body bytes */
    uint64_t invalid_bytes;  /* invalid UTF-8 bytes replaced */
    uint64_t bytes_dict, bytes_postings, bytes_positions, bytes_lengths, bytes_store;
    uint64_t bytes_ids;
} ft_writer_stats;

void ft_writer_get_stats(const ft_writer *w, ft_writer_stats *st);

/* Delete the document(s) with this id from the index as it was when the
 * writer was opened (FT_WRITE_APPEND only); applied at commit.  An id that is
 * not in the index is not an error. */
int ft_writer_delete(ft_writer *w, const char *id, size_t id_len, ft_error *err);

/* Documents deleted by the commit (by ft_writer_delete and by replacement). */
uint64_t ft_writer_deleted(const ft_writer *w);
/* Segments written so far (flushed when over the memory budget). */
unsigned ft_writer_segments(const ft_writer *w);

/* Write the segment, fsync, publish atomically.  Afterwards the writer only
 * accepts ft_writer_close(). */
int ft_writer_commit(ft_writer *w, ft_error *err);

/* Free the writer; an uncommitted build is discarded (its temporary files are
 * removed).  Accepts NULL. */
void ft_writer_close(ft_writer *w);

/* ------------------------------------------------------------------ merging */

typedef struct ft_merge_opts {
    unsigned max_segments; /* > 0: merge until at most this many segments remain */
    unsigned factor;       /* 0: default 10; with max_segments 0, merge any run of
                            * this many adjacent segments of the same size class
                            * (live documents within a power of factor) */
    int zstd_level, store_level;
} ft_merge_opts;

void ft_merge_opts_default(ft_merge_opts *o);

/* Merge segments (k-way, streaming: memory is a few arrays of 4 bytes per
 * merged document plus the largest posting list) and publish the result;
 * deleted documents are dropped.  Takes the writer lock.  *merges (may be
 * NULL) receives the number of merges done. */
int ft_index_merge(const char *dir, const ft_merge_opts *opts, unsigned *merges, ft_error *err);

/* ------------------------------------------------------------------ reader */

typedef struct ft_index ft_index;

/* Open the snapshot named by dir/MANIFEST.  Verifies headers and footers of
 * every file (not the full checksums: see ft_index_check). */
int ft_index_open(const char *dir, ft_index **out, ft_error *err);
void ft_index_close(ft_index *ix); /* accepts NULL */

/* Live documents (deleted ones are not counted): BM25's N. */
uint32_t ft_index_doc_count(const ft_index *ix);
/* Document numbers run from 0 to ft_index_doc_limit() - 1; a number can be
 * that of a deleted document (see ft_index_doc_deleted). */
uint32_t ft_index_doc_limit(const ft_index *ix);
int ft_index_doc_deleted(const ft_index *ix, uint32_t doc);
uint64_t ft_index_token_count(const ft_index *ix); /* sum of live document lengths */
double ft_index_avgdl(const ft_index *ix);
unsigned ft_index_segment_count(const ft_index *ix);
const ft_analyzer_opts *ft_index_analyzer_opts(const ft_index *ix);

/* The lengths of all documents, indexed by document number (doc_count of
 * them); borrowed, valid until ft_index_close.  For scoring loops. */
const uint32_t *ft_index_lengths(const ft_index *ix);
/* Length (indexed tokens) of document doc; 0 if out of range. */
uint32_t ft_index_doc_length(const ft_index *ix, uint32_t doc);

/* Stored fields of one document.  The pointers stay valid until the next
 * ft_index_doc() call on the same ft_docbuf or ft_docbuf_free(). */
typedef struct ft_docbuf ft_docbuf;
ft_docbuf *ft_docbuf_new(void);
void ft_docbuf_free(ft_docbuf *b);

typedef struct ft_doc {
    const char *id;    size_t id_len;
    const char *title; size_t title_len;
    const char *body;  size_t body_len;
    const uint8_t *marks; size_t marks_len; /* the body's position marks (docs/FORMAT.md, .sto) */
} ft_doc;

int ft_index_doc(const ft_index *ix, uint32_t doc, ft_docbuf *buf, ft_doc *out, ft_error *err);

/* Where analysis of d's body may start to reach body position target (0 =
 * the body's first word): *pos and *off are the last mark at or before
 * target whose byte offset is below limit (0 and 0 when none), and *body0
 * the position of the body's first word in the document's numbering (the
 * title's words come first).  Analyzing body[*off, ...) with first position
 * *pos gives the same tokens as analyzing the whole body, from there on.
 * Returns 0, leaving *body0 alone, when the record has no marks field. */
int ft_doc_mark(const ft_doc *d, uint32_t target, size_t limit, uint32_t *body0, uint32_t *pos, size_t *off);

/* Sizes of the snapshot, for `ftindex stats`. */
typedef struct ft_index_stats {
    unsigned segments;
    uint32_t docs, deleted;         /* live documents; deleted ones not yet merged away */
    uint64_t terms;                 /* dictionary entries, summed over segments */
    uint64_t postings, positions;   /* (term, document) pairs and occurrences, deleted included */
    uint64_t bytes_dict, bytes_postings, bytes_positions, bytes_lengths, bytes_store, bytes_ids,
        bytes_deletes;
} ft_index_stats;
int ft_index_get_stats(const ft_index *ix, ft_index_stats *st, ft_error *err);

/* Verify every checksum and structural invariant; reports the first problem. */
int ft_index_check(const char *dir, ft_error *err);

/* ---------------------------------------------------------------- postings */

/* A cursor over one term's postings across every segment, in document order.
 * Borrowed from the index: close it before the index. */
typedef struct ft_postings ft_postings;

/* Opens a cursor; a term absent from the index yields a cursor with df 0 that
 * is immediately exhausted.  The term is an analyzed term (bytes).  Deleted
 * documents are skipped, and df counts live documents only; cf includes the
 * occurrences in deleted documents until they are merged away. */
int ft_postings_open(const ft_index *ix, const char *term, size_t len, ft_postings **out,
                     ft_error *err);
void ft_postings_close(ft_postings *p);

/* A term's dictionary entries in every segment, as a cursor found them: a
 * new cursor opened from it (at the start) skips the dictionary lookups.
 * Valid while the index it came from is open.  ft_postings_ref_ returns NULL
 * when out of memory. */
typedef struct ft_term_ref ft_term_ref;
ft_term_ref *ft_postings_ref_(const ft_postings *p);
int ft_postings_open_ref_(const ft_term_ref *r, ft_postings **out, ft_error *err);
void ft_term_ref_free_(ft_term_ref *r);

/* Where a cursor's current posting's positions are: its positions frame,
 * the block's part of it, the occurrences in the block before the posting
 * and its own.  Noted by the search for the hits it keeps, so that their
 * positions are read later without finding or decoding the postings again
 * (snippets).  Valid while the index is open. */
typedef struct ft_posting_loc {
    const void *seg_;                  /* the segment */
    const uint8_t *frame_;             /* the positions frame, as stored */
    uint32_t flen_, fraw_, off_, len_; /* its stored and raw sizes; the block's bytes in it */
    uint32_t before, tf;
} ft_posting_loc;
/* The current posting's locator (the cursor on a document); 0, or nonzero
 * when the frequencies cannot be decoded (see ft_postings_status): then *l
 * reads as no positions. */
int ft_postings_locate_(ft_postings *p, ft_posting_loc *l);
/* A reader of positions at locators: a cursor on no term, closed with
 * ft_postings_close. */
int ft_positions_reader_(const ft_index *ix, ft_postings **out, ft_error *err);
/* Start bringing the positions at l into the cache (its frame found, the
 * bytes prefetched), so that several such reads overlap: FT_OK or an error
 * code. */
int ft_postings_prefetch_at_(ft_postings *p, const ft_posting_loc *l);
/* The positions of the posting at l (tf of them, increasing): FT_OK or an
 * error code (see ft_postings_status). */
int ft_postings_positions_at_(ft_postings *p, const ft_posting_loc *l, const uint32_t **pos, uint32_t *n);

uint32_t ft_postings_df(const ft_postings *p);  /* documents containing the term */
uint64_t ft_postings_cf(const ft_postings *p);  /* total occurrences */

/* Move to the next document; returns its number or FT_DOC_END.  The cursor
 * starts before the first document.  On corrupt data it returns FT_DOC_END and
 * ft_postings_status() reports the error. */
uint32_t ft_postings_next(ft_postings *p);
/* Move to the first document >= target (never backwards). */
uint32_t ft_postings_advance(ft_postings *p, uint32_t target);
uint32_t ft_postings_doc(const ft_postings *p);
uint32_t ft_postings_tf(const ft_postings *p);
/* The rest of the decoded block, from the current document on, for scoring
 * a block at once: *n postings, documents base + docs[k] with frequencies
 * tfs[k], and the deletion bits of their segment in its own numbering
 * (del[local >> 3] >> (local & 7) & 1; NULL when it has none).  Valid until
 * the cursor moves to another block.  FT_OK (*n = 0 when the cursor is not
 * on a document) or an error code. */
int ft_postings_block_(ft_postings *p, const uint32_t **docs, const uint32_t **tfs, uint32_t *n, uint32_t *base,
                       const uint8_t **del);
/* Positions of the current document (tf of them, increasing).  Decoded lazily;
 * valid until the cursor moves.  Returns FT_OK or an error code. */
int ft_postings_positions(ft_postings *p, const uint32_t **pos, uint32_t *n);
/* The positions of document doc, if it holds the term (1; 0 when not, or a
 * negative error code): a lookup that decodes only what leads to doc's
 * postings, not the whole block (snippets read a few documents of long
 * lists).  The cursor then serves only lookups of larger documents. */
int ft_postings_positions_of(ft_postings *p, uint32_t doc, const uint32_t **pos, uint32_t *n);
int ft_postings_status(const ft_postings *p, ft_error *err);

/* Impacts: the (tf, document length) pairs of a block that no other pair of
 * the block beats in both (higher or equal tf with shorter or equal length),
 * ordered by length and so by tf, at most FT_IMPACTS of them (when a block
 * has more, neighbours are merged into their largest tf and smallest length,
 * which still bounds them).  Every score that grows with tf and shrinks with
 * length (BM25, for any k1 and b) is at most its largest value over these. */
#define FT_IMPACTS 8
typedef struct ft_impact {
    uint32_t tf, len;
} ft_impact;

/* Upper bound data of the block holding the current document, for pruning:
 * last document of the block, its largest tf and its shortest document. */
void ft_postings_block_info(ft_postings *p, uint32_t *last_doc, uint32_t *max_tf,
                            uint32_t *min_len);
/* Shallow skipping: the last document and the impacts (*n of them, valid
 * until the cursor next moves) of the block that holds the first document >=
 * target, read from the skip table without decoding anything; returns
 * FT_DOC_END (and *n = 0) when no document >= target is left.  The cursor may
 * move past its current document (to the segment holding target): advance it
 * before asking for its tf or positions again. */
uint32_t ft_postings_shallow(ft_postings *p, uint32_t target, const ft_impact **imp, unsigned *n);
/* The maximum tf and minimum document length over the whole list. */
void ft_postings_list_info(const ft_postings *p, uint32_t *max_tf, uint32_t *min_len);

/* Iterate the dictionary in term order (all segments merged); for dumps and
 * tests.  fn returns non-zero to stop. */
typedef int (*ft_term_fn)(void *ctx, const char *term, size_t len, uint32_t df);
int ft_index_terms(const ft_index *ix, ft_term_fn fn, void *ctx, ft_error *err);
/* The same, for the terms starting with prefix only (seeks, does not scan the
 * dictionary from the start). */
int ft_index_terms_prefix(const ft_index *ix, const char *prefix, size_t plen, ft_term_fn fn, void *ctx,
                          ft_error *err);

#endif
