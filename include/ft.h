/*
 * ft.h — the public interface of the ft full-text search library.
 *
 * A program that embeds ft includes this one header and links with libft
 * (`cc prog.c $(pkg-config --cflags --libs ft)`).  It stands above the four
 * module headers, which it includes and which keep the detailed comment of
 * every function:
 *
 *   ft_common.h    ft_status, ft_error, ft_strerror(); byte buffer, varints
 *   ft_tokenize.h  ft_analyzer: UTF-8 text in, index terms out
 *   ft_index.h     ft_writer (build, add, delete, commit), ft_index_merge,
 *                  ft_index (open a snapshot, stored documents, postings)
 *   ft_search.h    ft_query (the query language of docs/QUERY.md),
 *                  ft_search (BM25 top k), ft_explain, ft_snippet(_text)
 *
 * Everything this header declares is in the ft_ / FT_ namespace; the shared
 * library exports the functions declared by these headers and nothing else.
 *
 *
 * LIFECYCLE
 * =========
 *
 * Building or updating an index (one writer per index at a time):
 *
 *     ft_writer_opts wo;
 *     ft_writer_opts_default(&wo);          // english stemming, zstd level 1
 *     wo.mode = FT_WRITE_REPLACE;           // or FT_WRITE_APPEND to add
 *     ft_writer *w;
 *     ft_error err;
 *     if (ft_writer_open("my.ftindex", &wo, &w, &err) != FT_OK) ...
 *     ft_writer_add(w, id, id_len, title, title_len, body, body_len, &err);
 *     ...                                   // FT_WRITE_APPEND: ft_writer_delete()
 *     ft_writer_commit(w, &err);            // atomic: all documents or none
 *     ft_writer_close(w);                   // also discards an uncommitted build
 *
 * Searching:
 *
 *     ft_index *ix;
 *     ft_index_open("my.ftindex", &ix, &err);
 *     ft_analyzer *an;                      // analyze queries as the documents were
 *     ft_analyzer_new(ft_index_analyzer_opts(ix), &an, &err);
 *     ft_query *q;
 *     ft_query_parse(an, text, strlen(text), &q, &err);
 *     ft_search_opts so;
 *     ft_search_opts_default(&so);          // k = 10, k1 = 1.2, b = 0.75, any word
 *     so.snippets = 1;                      // note where the hits' positions are
 *     ft_results res;
 *     ft_search(ix, q, &so, &res, &err);
 *     ft_docbuf *db = ft_docbuf_new();
 *     ft_snipper *sn;                       // term positions of all hits, read once
 *     ft_snipper_new(ix, an, q, &res, &sn, &err);
 *     for (size_t i = 0; i < res.n; i++) {
 *         ft_doc d;                         // id, title, body of res.hits[i].doc
 *         ft_index_doc(ix, res.hits[i].doc, db, &d, &err);
 *         char *snip;                       // or ft_snippet(ix, an, q, doc, ...)
 *         ft_snipper_get(sn, i, &d, NULL, &snip, &err);
 *         ...
 *         free(snip);
 *     }
 *     ft_snipper_free(sn);
 *     ft_docbuf_free(db);
 *     ft_results_free(&res);
 *     ft_query_free(q);
 *     ft_analyzer_free(an);
 *     ft_index_close(ix);
 *
 * examples/quickstart.c is this sequence as a complete program, with the
 * error checks left out above.
 *
 *
 * ERRORS
 * ======
 *
 * Every fallible function returns an int that is FT_OK (0) or a negative
 * ft_status: FT_ENOMEM, FT_EIO, FT_ECORRUPT, FT_EINVAL, FT_ENOTFOUND,
 * FT_EVERSION, FT_ENOSPC, FT_EBUSY.  ft_strerror(code) gives a short
 * description of the code.  A function that takes an `ft_error *err` fills it
 * on failure with the same code and a message a user can act on (the file,
 * offset or query column, and what was expected); err may be NULL when the
 * message is not wanted.  The message has no trailing newline and is at most
 * FT_ERRMSG_MAX bytes.
 *
 * Writers have sticky errors: once an add, delete or commit fails for lack of
 * memory, an I/O error or a full disk, every later add and the commit return
 * that error, and what is left to do is ft_writer_close(), which leaves the
 * index as it was at the previous commit.  A document refused for a bad
 * argument (FT_EINVAL: an empty id) leaves the writer usable.
 *
 * Cursor functions that cannot return a status (ft_postings_next,
 * ft_postings_advance) end the list on corrupt data, and ft_postings_status()
 * then reports the error.
 *
 * The library never prints, never exits and installs no signal handlers:
 * reporting is the caller's business.  The ftindex and ftsearch tools are
 * ordinary users of this interface.
 *
 *
 * OWNERSHIP
 * =========
 *
 * Handles are opaque and come in new/free (or open/close) pairs; every free
 * and close function accepts NULL.  A constructor that fails sets *out to
 * NULL (or leaves nothing to free) and releases whatever it had allocated.
 *
 *   ft_analyzer    ft_analyzer_new       -> ft_analyzer_free
 *   ft_writer      ft_writer_open        -> ft_writer_close
 *   ft_index       ft_index_open         -> ft_index_close
 *   ft_docbuf      ft_docbuf_new         -> ft_docbuf_free
 *   ft_postings    ft_postings_open      -> ft_postings_close  (before the index)
 *   ft_query       ft_query_parse(_plain)-> ft_query_free
 *   ft_results     ft_search             -> ft_results_free    (struct is the caller's)
 *   ft_explanation ft_explain            -> ft_explain_free    (struct is the caller's)
 *   ft_snipper     ft_snipper_new        -> ft_snipper_free    (before the index, query,
 *                                                              analyzer and results)
 *
 * Results handed to the caller as plain memory are malloc'd and released
 * with free(): the string of ft_query_describe() and the snippet of
 * ft_snippet(), ft_snippet_text() and ft_snipper_get() (*out; NULL after an
 * error).
 *
 * Borrowed pointers, which the caller must neither free nor keep too long:
 *
 *   - ft_doc fields from ft_index_doc(): valid until the next ft_index_doc()
 *     on the same ft_docbuf, or ft_docbuf_free().  They are not
 *     NUL-terminated; use the lengths.
 *   - ft_token.term in an ft_token_fn callback: only during the callback.
 *   - ft_analyzer_stem(): until the next call on the same analyzer.
 *   - ft_analyzer_options(): as long as the analyzer;
 *     ft_index_analyzer_opts(): as long as the index is open.
 *   - ft_query_term(): as long as the query.
 *   - ft_explain_term.term: until ft_explain_free().
 *   - ft_postings_positions(): until the cursor moves.
 *   - ft_term_fn's term in ft_index_terms(): only during the callback.
 *   - ft_strerror() and ft_stem_languages(): static, never freed.
 *
 * Strings passed in are borrowed for the duration of the call only: the
 * writer copies what it keeps, and a query keeps its own analyzed terms, so
 * the query text may be freed right after ft_query_parse().  Text is passed
 * as pointer and length and need not be NUL-terminated; invalid UTF-8 in
 * documents is replaced by U+FFFD and counted (ft_writer_stats), while a
 * query with invalid UTF-8 is refused with FT_EINVAL.
 *
 *
 * THREADS AND PROCESSES
 * =====================
 *
 * The library keeps no global mutable state (no global init call, no
 * global locale or allocator settings), so independent handles can be used
 * from different threads freely.
 *
 *   - An ft_index may be shared by any number of threads: ft_search,
 *     ft_explain, ft_index_doc, ft_snippet and ft_postings_open take a
 *     const ft_index and synchronise what they share internally.  Close it
 *     only after every thread is done with it (and its cursors are closed).
 *   - An ft_analyzer, ft_query, ft_docbuf, ft_postings cursor, ft_results
 *     and ft_explanation belong to one thread at a time: give each thread its
 *     own (an analyzer holds a stemmer and a cache; ft_snippet uses the
 *     analyzer it is given).
 *   - An ft_writer is used by one thread.  One writer per index directory at
 *     a time, across processes: ft_writer_open and ft_index_merge take a lock
 *     file and a second writer gets FT_EBUSY naming the holder's pid.
 *   - Readers never block writers and need no lock: an open ft_index is a
 *     snapshot of the commit named by the MANIFEST it opened (segment files
 *     are immutable and mapped), unaffected by later commits or merges.  Open
 *     the index again to see them.
 *
 *
 * VERSIONS
 * ========
 *
 * FT_VERSION_STRING is the library version; the shared library's soname
 * (libft.so.0) changes when the interface changes incompatibly.  The on-disk
 * format has its own number, FT_FORMAT_VERSION (docs/FORMAT.md); opening an
 * index written by another format version fails with FT_EVERSION.
 */
#ifndef FT_H
#define FT_H

#include "ft_common.h"
#include "ft_tokenize.h"
#include "ft_index.h"
#include "ft_search.h"

#endif
