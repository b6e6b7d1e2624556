/* The C ABI test: every entry point, every error path, from C.
 *
 * Built by bindings/c/test.sh with gcc against libplasmite.a and run under
 * valgrind (no leaks, no invalid reads or writes). Prints one line per
 * failed check and ends with "N passed, N failed".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "plasmite.h"

static int passed, failed;

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (cond) {                                                        \
            passed++;                                                      \
        } else {                                                           \
            failed++;                                                      \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                  \
    } while (0)

static char dir[256];

/* Checks that a call failed with `kind`, then frees the error. */
#define CHECK_ERR(rc, err, want_kind)                                        \
    do {                                                                     \
        CHECK((rc) == -1);                                                   \
        CHECK((err) != NULL);                                                \
        if ((err) != NULL) {                                                 \
            if ((err)->kind != (want_kind))                                  \
                fprintf(stderr, "  kind %d, want %d: %s\n", (err)->kind,     \
                        (want_kind), (err)->message);                        \
            CHECK((err)->kind == (want_kind));                               \
            CHECK((err)->message != NULL);                                   \
            plsm_error_free(err);                                            \
            (err) = NULL;                                                    \
        }                                                                    \
    } while (0)

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int contains(const char *hay, const char *needle) {
    return hay != NULL && strstr(hay, needle) != NULL;
}

static const char *INVALID_UTF8 = "bad\xff\xfe";

static plsm_pool_t *create_or_die(plsm_client_t *c, const char *name) {
    plsm_pool_t *p = NULL;
    plsm_error_t *err = NULL;
    if (plsm_pool_create(c, name, 0, &p, &err) != 0) {
        fprintf(stderr, "create %s: %s\n", name, err ? err->message : "?");
        exit(2);
    }
    return p;
}

static uint64_t append_or_die(plsm_pool_t *p, const char *json, const char **tags,
                              size_t ntags) {
    plsm_receipt_t r;
    plsm_error_t *err = NULL;
    if (plsm_pool_append(p, (const uint8_t *)json, strlen(json), tags, ntags,
                         PLSM_DURABILITY_FAST, &r, &err) != 0) {
        fprintf(stderr, "append: %s\n", err ? err->message : "?");
        exit(2);
    }
    return r.seq;
}

static void test_client(void) {
    plsm_client_t *c = NULL;
    plsm_error_t *err = NULL;
    int rc;

    CHECK(plsm_version() != NULL && strlen(plsm_version()) > 0);

    rc = plsm_client_new(dir, NULL, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);

    rc = plsm_client_new(INVALID_UTF8, &c, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    CHECK(c == NULL);

    rc = plsm_client_new("", &c, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);

    /* A NULL out_err is allowed: the error is dropped, nothing leaks. */
    CHECK(plsm_client_new(dir, NULL, NULL) == -1);

    /* NULL means the default directory. */
    err = (plsm_error_t *)0x1; /* overwritten: set to NULL on success */
    CHECK(plsm_client_new(NULL, &c, &err) == 0);
    CHECK(err == NULL);
    CHECK(c != NULL);
    plsm_client_free(c);

    plsm_client_free(NULL);
    plsm_pool_free(NULL);
    plsm_stream_free(NULL);
    plsm_buf_free(NULL);
    plsm_error_free(NULL);
    plsm_pool_info_free(NULL);
    plsm_pool_list_free(NULL);
}

static void test_create_open(plsm_client_t *c) {
    plsm_pool_t *p = NULL;
    plsm_error_t *err = NULL;
    int rc;

    rc = plsm_pool_create(NULL, "x", 0, &p, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_create(c, NULL, 0, &p, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_create(c, "x", 0, NULL, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_create(c, INVALID_UTF8, 0, &p, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_create(c, "..", 0, &p, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_create(c, "tiny", 100, &p, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    CHECK(p == NULL);

    /* Create, write one message, create again: AlreadyExists, not truncated. */
    p = create_or_die(c, "keep");
    CHECK(append_or_die(p, "{\"v\":1}", NULL, 0) == 1);
    plsm_pool_free(p);
    p = NULL;
    rc = plsm_pool_create(c, "keep", 0, &p, &err);
    CHECK(rc == -1 && err != NULL);
    if (err) {
        CHECK(err->kind == PLSM_ERROR_ALREADY_EXISTS);
        CHECK(contains(err->path, "keep.plasmite"));
        CHECK(err->hint != NULL);
        plsm_error_free(err);
        err = NULL;
    }
    CHECK(p == NULL);
    CHECK(plsm_pool_open(c, "keep", &p, &err) == 0);
    plsm_buf_t buf = {0};
    CHECK(plsm_pool_get_json(p, 1, &buf, &err) == 0);
    CHECK(contains((const char *)buf.data, "\"data\":{\"v\":1}"));
    plsm_buf_free(&buf);
    CHECK(buf.data == NULL && buf.len == 0);
    plsm_buf_free(&buf); /* a freed buffer frees again harmlessly */
    plsm_pool_free(p);

    /* Open: argument checks, then a missing pool. */
    p = NULL;
    rc = plsm_pool_open(NULL, "keep", &p, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_open(c, NULL, &p, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_open(c, "keep", NULL, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_open(c, INVALID_UTF8, &p, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_open(c, "nope", &p, &err);
    CHECK(rc == -1 && err != NULL);
    if (err) {
        CHECK(err->kind == PLSM_ERROR_NOT_FOUND);
        CHECK(contains(err->message, "not found"));
        CHECK(contains(err->path, "nope.plasmite"));
        CHECK(err->has_seq == 0);
        plsm_error_free(err);
        err = NULL;
    }
    CHECK(p == NULL);

    /* A ref with '/' is a path. */
    char path[512];
    snprintf(path, sizeof path, "%s/by-path.plasmite", dir);
    p = create_or_die(c, path);
    plsm_pool_free(p);
    CHECK(plsm_pool_open(c, path, &p, &err) == 0);
    plsm_pool_free(p);
}

static void test_append_get(plsm_client_t *c) {
    plsm_pool_t *p = create_or_die(c, "msgs");
    plsm_error_t *err = NULL;
    plsm_buf_t buf = {0};
    plsm_receipt_t r = {0};
    const char *tags[] = {"greeting", "t\"q"};
    const char *json = "{ \"from\" : \"alice\", \"n\": 1.5e3, \"msg\": \"h\xc3\xa9llo\" }";
    int rc;

    rc = plsm_pool_append_json(p, (const uint8_t *)json, strlen(json), tags, 2,
                               PLSM_DURABILITY_FLUSH, &buf, &err);
    CHECK(rc == 0 && err == NULL);
    CHECK(buf.data != NULL && buf.len == strlen((const char *)buf.data));
    CHECK(contains((const char *)buf.data,
                   "{\"data\":{\"from\":\"alice\",\"n\":1.5e3,\"msg\":\"h\xc3\xa9llo\"},"
                   "\"meta\":{\"tags\":[\"greeting\",\"t\\\"q\"]},\"seq\":1,\"time\":\""));
    plsm_buf_free(&buf);

    /* No envelope wanted: out_message NULL. */
    CHECK(plsm_pool_append_json(p, (const uint8_t *)"{\"a\":2}", 7, NULL, 0,
                                PLSM_DURABILITY_FAST, NULL, &err) == 0);
    CHECK(plsm_pool_append(p, (const uint8_t *)"{\"a\":3}", 7, NULL, 0, PLSM_DURABILITY_FAST,
                           &r, &err) == 0);
    CHECK(r.seq == 3 && r.time_ns > 0);
    CHECK(plsm_pool_append(p, (const uint8_t *)"{\"a\":4}", 7, NULL, 0, PLSM_DURABILITY_FAST,
                           NULL, &err) == 0);

    /* Every bad argument of an append is a Usage error. */
    const char *good = "{\"a\":1}";
    const char *null_tag[] = {"ok", NULL};
    const char *bad_tag[] = {INVALID_UTF8};
    struct {
        const plsm_pool_t *pool;
        const char *json;
        size_t len;
        const char **tags;
        size_t ntags;
        uint32_t durability;
    } bad[] = {
        {NULL, good, 7, NULL, 0, 0},          /* NULL pool */
        {p, NULL, 7, NULL, 0, 0},             /* NULL json */
        {p, NULL, 0, NULL, 0, 0},             /* NULL json, length 0 */
        {p, "{\"a\":", 5, NULL, 0, 0},        /* invalid JSON */
        {p, "[1,2]", 5, NULL, 0, 0},          /* not an object */
        {p, "\"str\"", 5, NULL, 0, 0},        /* not an object */
        {p, "", 0, NULL, 0, 0},               /* empty */
        {p, "{\"a\":\"\xff\"}", 8, NULL, 0, 0}, /* not UTF-8 */
        {p, good, 7, NULL, 1, 0},             /* NULL tags, length 1 */
        {p, good, 7, null_tag, 2, 0},         /* a NULL tag */
        {p, good, 7, bad_tag, 1, 0},          /* a non-UTF-8 tag */
        {p, good, 7, NULL, 0, 7},             /* bad durability */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf.data = NULL;
        rc = plsm_pool_append_json(bad[i].pool, (const uint8_t *)bad[i].json, bad[i].len,
                                   bad[i].tags, bad[i].ntags, bad[i].durability, &buf, &err);
        if (rc != -1) fprintf(stderr, "  bad append case %zu succeeded\n", i);
        CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
        CHECK(buf.data == NULL);
        rc = plsm_pool_append(bad[i].pool, (const uint8_t *)bad[i].json, bad[i].len,
                              bad[i].tags, bad[i].ntags, bad[i].durability, &r, &err);
        CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    }
    /* Too large for the pool. */
    size_t big = 2 << 20;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    memcpy(huge, "{\"a\":\"", 6);
    memset(huge + 6, 'x', big - 8);
    memcpy(huge + big - 2, "\"}", 2);
    rc = plsm_pool_append(p, (const uint8_t *)huge, big, NULL, 0, 0, NULL, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    free(huge);

    /* Get. */
    CHECK(plsm_pool_get_json(p, 3, &buf, &err) == 0);
    CHECK(contains((const char *)buf.data, "{\"data\":{\"a\":3},\"meta\":{\"tags\":[]},\"seq\":3,"));
    plsm_buf_free(&buf);
    rc = plsm_pool_get_json(NULL, 1, &buf, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_get_json(p, 1, NULL, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    for (uint64_t seq = 0; seq <= 42; seq += 42) {
        rc = plsm_pool_get_json(p, seq, &buf, &err);
        CHECK(rc == -1 && err != NULL);
        if (err) {
            CHECK(err->kind == PLSM_ERROR_NOT_FOUND);
            CHECK(err->has_seq == 1 && err->seq == seq);
            plsm_error_free(err);
            err = NULL;
        }
    }
    plsm_pool_free(p);
}

struct writer_arg {
    plsm_pool_t *pool;
    int delay_ms;
    int count;
};

static void *late_writer(void *a) {
    struct writer_arg *w = a;
    for (int i = 0; i < w->count; i++) {
        usleep(w->delay_ms * 1000);
        char json[64];
        snprintf(json, sizeof json, "{\"late\":%d}", i);
        append_or_die(w->pool, json, NULL, 0);
    }
    return NULL;
}

/* Reads a stream to its end with plsm_stream_next; returns the count and
 * writes the seqs (up to cap). */
static int drain(plsm_stream_t *s, uint64_t *seqs, int cap) {
    plsm_buf_t buf = {0};
    plsm_error_t *err = NULL;
    int n = 0, rc;
    while ((rc = plsm_stream_next(s, &buf, &err)) == PLSM_STREAM_MESSAGE) {
        const char *seq = strstr((const char *)buf.data, "\"seq\":");
        if (n < cap && seq) seqs[n] = strtoull(seq + 6, NULL, 10);
        n++;
        plsm_buf_free(&buf);
    }
    if (rc == -1) {
        fprintf(stderr, "  stream error: %s\n", err ? err->message : "?");
        plsm_error_free(err);
        return -1;
    }
    CHECK(rc == PLSM_STREAM_END && err == NULL);
    return n;
}

static plsm_stream_t *open_tail(plsm_pool_t *p, const plsm_tail_options_t *o) {
    plsm_stream_t *s = NULL;
    plsm_error_t *err = NULL;
    if (plsm_tail_open(p, o, &s, &err) != 0) {
        fprintf(stderr, "tail open: %s\n", err ? err->message : "?");
        exit(2);
    }
    return s;
}

static void test_streams(plsm_client_t *c) {
    plsm_pool_t *p = create_or_die(c, "events");
    plsm_error_t *err = NULL;
    plsm_stream_t *s = NULL;
    uint64_t seqs[16];
    int rc, n;
    for (int i = 1; i <= 10; i++) {
        char json[64];
        snprintf(json, sizeof json, "{\"i\":%d,\"kind\":\"%s\"}", i, i % 2 ? "odd" : "even");
        const char *tags[] = {i % 2 ? "odd" : "even", "big"};
        append_or_die(p, json, tags, i >= 8 ? 2 : 1);
    }

    /* Everything, bounded by max. */
    plsm_tail_options_t o = {0};
    o.has_max = 1;
    o.max = 10;
    s = open_tail(p, &o);
    n = drain(s, seqs, 16);
    CHECK(n == 10 && seqs[0] == 1 && seqs[9] == 10);
    plsm_stream_free(s);

    /* Tags AND. */
    const char *tags[] = {"even", "big"};
    o = (plsm_tail_options_t){0};
    o.tags = tags;
    o.tags_len = 2;
    o.has_idle_timeout = 1;
    o.idle_timeout_ms = 50;
    s = open_tail(p, &o);
    n = drain(s, seqs, 16);
    CHECK(n == 2 && seqs[0] == 8 && seqs[1] == 10);
    plsm_stream_free(s);

    /* jq predicates AND, plus since. */
    const char *wheres[] = {".data.i >= 5", ".data.kind == \"odd\""};
    o = (plsm_tail_options_t){0};
    o.where_exprs = wheres;
    o.where_len = 2;
    o.has_since_seq = 1;
    o.since_seq = 6;
    o.has_idle_timeout = 1;
    o.idle_timeout_ms = 50;
    s = open_tail(p, &o);
    n = drain(s, seqs, 16);
    CHECK(n == 2 && seqs[0] == 7 && seqs[1] == 9);
    plsm_stream_free(s);

    /* last counts matches. */
    const char *odd[] = {"odd"};
    o = (plsm_tail_options_t){0};
    o.tags = odd;
    o.tags_len = 1;
    o.has_last = 1;
    o.last = 2;
    o.has_max = 1;
    o.max = 2;
    s = open_tail(p, &o);
    n = drain(s, seqs, 16);
    CHECK(n == 2 && seqs[0] == 7 && seqs[1] == 9);
    plsm_stream_free(s);

    /* NULL options: everything, then follow; poll shows Pending, then a
     * view of each message. */
    s = open_tail(p, NULL);
    plsm_view_t v;
    for (int i = 1; i <= 10; i++) {
        rc = plsm_stream_poll(s, 0, &v, &err);
        CHECK(rc == PLSM_STREAM_MESSAGE && v.data != NULL && v.len > 0);
    }
    double t0 = now_ms();
    rc = plsm_stream_poll(s, 30, &v, &err);
    CHECK(rc == PLSM_STREAM_PENDING && err == NULL);
    CHECK(now_ms() - t0 >= 25);
    plsm_stream_stats_t st;
    CHECK(plsm_stream_stats(s, &st, &err) == 0);
    CHECK(st.delivered == 10 && st.next_seq == 11 && st.dropped == 0 && st.damaged == 0);
    rc = plsm_stream_stats(NULL, &st, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_stream_stats(s, NULL, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    plsm_stream_free(s);

    /* Batches as JSON Lines: bounded by count, then by bytes. */
    s = open_tail(p, NULL);
    size_t count = 0;
    rc = plsm_stream_poll_lines(s, 0, 4, 0, &v, &count, &err);
    CHECK(rc == PLSM_STREAM_MESSAGE && count == 4);
    size_t newlines = 0;
    for (size_t i = 0; i < v.len; i++) newlines += v.data[i] == '\n';
    CHECK(newlines == 4 && v.data[v.len - 1] == '\n');
    CHECK(strncmp((const char *)v.data, "{\"data\":{\"i\":1,", 15) == 0);
    rc = plsm_stream_poll_lines(s, 0, 100, 1, &v, &count, &err);
    CHECK(rc == PLSM_STREAM_MESSAGE && count == 1); /* one message passes 1 byte */
    CHECK(strncmp((const char *)v.data, "{\"data\":{\"i\":5,", 15) == 0);
    rc = plsm_stream_poll_lines(s, 10, 100, 0, &v, &count, &err);
    CHECK(rc == PLSM_STREAM_MESSAGE && count == 5);
    rc = plsm_stream_poll_lines(s, 10, 100, 0, &v, &count, &err);
    CHECK(rc == PLSM_STREAM_PENDING);
    rc = plsm_stream_poll_lines(s, 0, 0, 0, &v, &count, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_stream_poll_lines(s, 0, 1, 0, NULL, &count, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_stream_poll_lines(s, 0, 1, 0, &v, NULL, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_stream_poll_lines(NULL, 0, 1, 0, &v, &count, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    plsm_stream_free(s);

    /* An error after some messages were gathered comes with the next call:
     * this predicate turns non-boolean at i = 3. */
    const char *late_error[] = {"if .data.i < 3 then true else .data.i end"};
    o = (plsm_tail_options_t){0};
    o.where_exprs = late_error;
    o.where_len = 1;
    s = open_tail(p, &o);
    rc = plsm_stream_poll_lines(s, 0, 100, 0, &v, &count, &err);
    CHECK(rc == PLSM_STREAM_MESSAGE && count == 2);
    rc = plsm_stream_poll_lines(s, 0, 100, 0, &v, &count, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    plsm_stream_free(s);

    /* A writer thread wakes a waiting stream (futex), and the idle timeout
     * ends it once the writer stops. */
    o = (plsm_tail_options_t){0};
    o.has_since_seq = 1;
    o.since_seq = 11;
    o.has_idle_timeout = 1;
    o.idle_timeout_ms = 400;
    s = open_tail(p, &o);
    struct writer_arg w = {p, 100, 3};
    pthread_t th;
    pthread_create(&th, NULL, late_writer, &w);
    t0 = now_ms();
    n = drain(s, seqs, 16);
    double took = now_ms() - t0;
    pthread_join(th, NULL);
    CHECK(n == 3 && seqs[0] == 11 && seqs[2] == 13);
    /* 3 x 100 ms of writes, then 400 ms idle. */
    CHECK(took >= 650 && took < 5000);
    plsm_stream_free(s);

    /* Idle timeout with nothing to read. */
    o = (plsm_tail_options_t){0};
    o.has_since_seq = 1;
    o.since_seq = 100;
    o.has_idle_timeout = 1;
    o.idle_timeout_ms = 150;
    s = open_tail(p, &o);
    t0 = now_ms();
    CHECK(drain(s, seqs, 16) == 0);
    took = now_ms() - t0;
    CHECK(took >= 140 && took < 3000);
    /* An ended stream stays ended. */
    plsm_buf_t buf = {0};
    CHECK(plsm_stream_next(s, &buf, &err) == PLSM_STREAM_END);
    CHECK(plsm_stream_poll(s, 0, &v, &err) == PLSM_STREAM_END);
    plsm_stream_free(s);

    /* Upstream shape, and a stream outliving its pool handle. */
    plsm_pool_t *p2 = NULL;
    CHECK(plsm_pool_open(c, "events", &p2, &err) == 0);
    CHECK(plsm_stream_open(p2, 12, 1, 2, 1, 0, 0, &s, &err) == 0);
    plsm_pool_free(p2);
    n = drain(s, seqs, 16);
    CHECK(n == 2 && seqs[0] == 12 && seqs[1] == 13);
    plsm_stream_free(s);

    /* Bad options. */
    s = NULL;
    rc = plsm_tail_open(NULL, &o, &s, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_tail_open(p, &o, NULL, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_stream_open(NULL, 0, 0, 0, 0, 0, 0, &s, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    o = (plsm_tail_options_t){0};
    o.has_since_seq = o.has_last = 1;
    rc = plsm_tail_open(p, &o, &s, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    const char *bad_where[] = {".data.i >"};
    o = (plsm_tail_options_t){0};
    o.where_exprs = bad_where;
    o.where_len = 1;
    rc = plsm_tail_open(p, &o, &s, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    const char *null_entry[] = {NULL};
    o.where_exprs = null_entry;
    rc = plsm_tail_open(p, &o, &s, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    const char *utf8_entry[] = {INVALID_UTF8};
    o.where_exprs = utf8_entry;
    rc = plsm_tail_open(p, &o, &s, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    o = (plsm_tail_options_t){0};
    o.tags_len = 1; /* NULL tags with a length */
    rc = plsm_tail_open(p, &o, &s, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    o.tags = null_entry;
    rc = plsm_tail_open(p, &o, &s, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    CHECK(s == NULL);

    /* A predicate that yields a non-boolean fails when a message is read. */
    const char *non_bool[] = {".data.i"};
    o = (plsm_tail_options_t){0};
    o.where_exprs = non_bool;
    o.where_len = 1;
    s = open_tail(p, &o);
    rc = plsm_stream_next(s, &buf, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    CHECK(buf.data == NULL);
    rc = plsm_stream_poll(s, 0, &v, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    /* NULL stream / out arguments. */
    rc = plsm_stream_next(NULL, &buf, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_stream_next(s, NULL, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_stream_poll(NULL, 0, &v, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_stream_poll(s, 0, NULL, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    plsm_stream_free(s);
    plsm_pool_free(p);
}

static void *hammer(void *a) {
    plsm_pool_t *p = a;
    for (int i = 0; i < 200; i++) append_or_die(p, "{\"t\":1}", NULL, 0);
    return NULL;
}

static void test_threads(plsm_client_t *c) {
    plsm_pool_t *p = create_or_die(c, "threads");
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, hammer, p);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    plsm_pool_info_t info;
    plsm_error_t *err = NULL;
    CHECK(plsm_pool_handle_info(p, &info, &err) == 0);
    CHECK(info.has_oldest && info.oldest_seq == 1 && info.newest_seq == 800);
    plsm_pool_info_free(&info);
    CHECK(info.path == NULL);
    plsm_pool_free(p);
}

static void corrupt_header(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.plasmite", dir, name);
    int fd = open(path, O_WRONLY);
    unsigned char junk[64];
    memset(junk, 0xA5, sizeof junk);
    if (fd < 0 || write(fd, junk, sizeof junk) != (ssize_t)sizeof junk) {
        perror(path);
        exit(2);
    }
    close(fd);
}

/* The stored position of the named reader `name` of `p`, or 0 if none. */
static uint64_t reader_pos(plsm_pool_t *p, const char *name) {
    plsm_reader_list_t list = {0};
    plsm_error_t *err = NULL;
    uint64_t pos = 0;
    CHECK(plsm_pool_readers(p, &list, &err) == 0 && err == NULL);
    for (size_t i = 0; i < list.len; i++)
        if (strcmp(list.entries[i].name, name) == 0) pos = list.entries[i].next_seq;
    plsm_reader_list_free(&list);
    return pos;
}

/* Durable named readers: resume after the last acknowledged message,
 * automatically (on the next read) or only on plsm_stream_ack. */
static void test_named_readers(plsm_client_t *c) {
    plsm_pool_t *p = create_or_die(c, "jobs");
    plsm_error_t *err = NULL;
    plsm_stream_t *s = NULL;
    uint64_t seqs[16];
    int rc, n;
    for (int i = 1; i <= 6; i++) {
        char json[32];
        snprintf(json, sizeof json, "{\"i\":%d}", i);
        append_or_die(p, json, NULL, 0);
    }

    plsm_tail_options_t o = {0};
    o.name = "worker";
    o.has_max = 1;
    o.max = 2;
    s = open_tail(p, &o);
    n = drain(s, seqs, 16);
    CHECK(n == 2 && seqs[0] == 1 && seqs[1] == 2);
    plsm_stream_free(s);

    /* Resumes after 2; 3 is in hand when the stream is freed: not acked. */
    s = open_tail(p, &o);
    plsm_buf_t buf = {0};
    CHECK(plsm_stream_next(s, &buf, &err) == PLSM_STREAM_MESSAGE);
    CHECK(strstr((const char *)buf.data, "\"seq\":3,") != NULL);
    plsm_buf_free(&buf);
    plsm_stream_free(s);

    /* Manual: 3 again, 4 read and acknowledged explicitly, 5 read only. */
    o.manual_ack = 1;
    s = open_tail(p, &o);
    n = drain(s, seqs, 16);
    CHECK(n == 2 && seqs[0] == 3 && seqs[1] == 4);
    CHECK(plsm_stream_ack(s, &err) == 0 && err == NULL);
    plsm_stream_free(s);
    o.max = 1;
    s = open_tail(p, &o);
    n = drain(s, seqs, 16);
    CHECK(n == 1 && seqs[0] == 5);
    plsm_stream_free(s);

    /* Batches: a batch is acknowledged when the next read is made, never
     * while the caller may still be handling it. */
    plsm_tail_options_t bo = {0};
    bo.name = "batcher";
    plsm_view_t v;
    size_t count = 0;
    s = open_tail(p, &bo);
    rc = plsm_stream_poll_lines(s, 0, 3, 0, &v, &count, &err);
    CHECK(rc == PLSM_STREAM_MESSAGE && count == 3);
    CHECK(reader_pos(p, "batcher") == 1);
    rc = plsm_stream_poll_lines(s, 0, 2, 0, &v, &count, &err);
    CHECK(rc == PLSM_STREAM_MESSAGE && count == 2);
    CHECK(reader_pos(p, "batcher") == 4);
    plsm_stream_free(s);
    s = open_tail(p, &bo); /* the second batch was never followed by a read */
    rc = plsm_stream_poll_lines(s, 0, 1, 0, &v, &count, &err);
    CHECK(rc == PLSM_STREAM_MESSAGE && count == 1);
    CHECK(strncmp((const char *)v.data, "{\"data\":{\"i\":4}", 15) == 0);
    plsm_stream_free(s);
    /* ack_through: what the caller says, never past what was delivered. */
    s = open_tail(p, &bo);
    rc = plsm_stream_poll_lines(s, 0, 2, 0, &v, &count, &err); /* 4, 5 */
    CHECK(rc == PLSM_STREAM_MESSAGE && count == 2);
    CHECK(plsm_stream_ack_through(s, 4, &err) == 0);
    CHECK(reader_pos(p, "batcher") == 5);
    CHECK(plsm_stream_ack_through(s, 1000, &err) == 0);
    CHECK(reader_pos(p, "batcher") == 6);
    rc = plsm_stream_ack_through(NULL, 1, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    plsm_stream_free(s);
    CHECK(plsm_pool_delete_reader(p, "batcher", &err) == 0);

    /* A new reader starts as its options say; an existing one ignores them. */
    plsm_tail_options_t a = {0};
    a.name = "audit";
    a.has_last = 1;
    a.last = 1;
    a.has_max = 1;
    a.max = 1;
    s = open_tail(p, &a);
    n = drain(s, seqs, 16);
    CHECK(n == 1 && seqs[0] == 6);
    plsm_stream_free(s);

    plsm_reader_list_t list = {0};
    CHECK(plsm_pool_readers(p, &list, &err) == 0 && err == NULL);
    CHECK(list.len == 2);
    for (size_t i = 0; i < list.len; i++) {
        const plsm_reader_t *r = &list.entries[i];
        if (strcmp(r->name, "worker") == 0)
            CHECK(r->next_seq == 5 && r->acked_ns >= r->created_ns && r->created_ns > 0);
        else
            CHECK(strcmp(r->name, "audit") == 0 && r->next_seq == 7);
    }
    plsm_reader_list_free(&list);
    CHECK(list.entries == NULL && list.len == 0);
    plsm_reader_list_free(&list); /* twice is harmless */
    plsm_reader_list_free(NULL);

    CHECK(plsm_pool_delete_reader(p, "audit", &err) == 0);
    rc = plsm_pool_delete_reader(p, "audit", &err);
    CHECK(rc == -1 && err != NULL && err->kind == PLSM_ERROR_NOT_FOUND && err->path != NULL);
    plsm_error_free(err);
    err = NULL;
    CHECK(plsm_pool_readers(p, &list, &err) == 0 && list.len == 1);
    plsm_reader_list_free(&list);

    /* Bad names and NULL handles are USAGE errors. */
    plsm_tail_options_t bad = {0};
    bad.name = "no spaces";
    rc = plsm_tail_open(p, &bad, &s, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    bad.name = "\xff";
    rc = plsm_tail_open(p, &bad, &s, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_delete_reader(p, NULL, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_delete_reader(NULL, "x", &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_readers(NULL, &list, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_readers(p, NULL, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_stream_ack(NULL, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);

    /* Acknowledging an unnamed stream does nothing and is no error. */
    s = open_tail(p, NULL);
    CHECK(plsm_stream_ack(s, &err) == 0 && err == NULL);
    plsm_stream_free(s);
    plsm_pool_free(p);
}

static void test_admin(plsm_client_t *c) {
    plsm_error_t *err = NULL;
    plsm_pool_info_t info;
    plsm_pool_list_t list;
    int rc;

    /* info */
    plsm_pool_t *p = create_or_die(c, "admin");
    plsm_pool_free(p);
    CHECK(plsm_pool_info(c, "admin", &info, &err) == 0);
    CHECK(info.file_size == 1048576 && info.ring_size > 0 && info.ring_size < info.file_size);
    CHECK(info.has_oldest == 0 && info.has_newest == 0 && info.count == 0);
    CHECK(contains(info.path, "admin.plasmite"));
    plsm_pool_info_free(&info);
    rc = plsm_pool_info(c, "nope", &info, &err);
    CHECK(rc == -1 && err && err->kind == PLSM_ERROR_NOT_FOUND && err->path != NULL);
    plsm_error_free(err);
    err = NULL;
    rc = plsm_pool_info(NULL, "admin", &info, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_info(c, NULL, &info, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_info(c, "admin", NULL, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_info(c, INVALID_UTF8, &info, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_handle_info(NULL, &info, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);

    /* A corrupt pool: open, info and append fail with Corrupt and a path;
     * a listing still shows it, with its error. */
    p = create_or_die(c, "broken");
    corrupt_header("broken");
    /* The handle opened before the damage; a new open sees it. */
    plsm_pool_free(p);
    p = NULL;
    rc = plsm_pool_open(c, "broken", &p, &err);
    CHECK(rc == -1 && err && err->kind == PLSM_ERROR_CORRUPT && contains(err->path, "broken"));
    plsm_error_free(err);
    err = NULL;
    rc = plsm_pool_info(c, "broken", &info, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_CORRUPT);

    /* list: sorted, with per-pool errors. */
    CHECK(plsm_pool_list(c, &list, &err) == 0);
    int saw_admin = 0, saw_broken = 0, sorted = 1;
    for (size_t i = 0; i < list.len; i++) {
        plsm_pool_entry_t *e = &list.entries[i];
        if (i > 0 && strcmp(list.entries[i - 1].name, e->name) >= 0) sorted = 0;
        if (strcmp(e->name, "admin") == 0)
            saw_admin = e->error == NULL && e->info.file_size == 1048576;
        if (strcmp(e->name, "broken") == 0)
            saw_broken = e->error != NULL && e->error->kind == PLSM_ERROR_CORRUPT &&
                         e->info.path == NULL && contains(e->path, "broken");
    }
    CHECK(saw_admin && saw_broken && sorted);
    plsm_pool_list_free(&list);
    CHECK(list.entries == NULL && list.len == 0);
    plsm_pool_list_free(&list);
    rc = plsm_pool_list(NULL, &list, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_list(c, NULL, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);

    /* A missing directory lists as empty. */
    char missing[512];
    snprintf(missing, sizeof missing, "%s/not-there", dir);
    plsm_client_t *c2 = NULL;
    CHECK(plsm_client_new(missing, &c2, &err) == 0);
    CHECK(plsm_pool_list(c2, &list, &err) == 0);
    CHECK(list.len == 0 && list.entries == NULL);
    plsm_pool_list_free(&list);
    plsm_client_free(c2);

    /* delete */
    CHECK(plsm_pool_delete(c, "broken", &err) == 0);
    CHECK(plsm_pool_delete(c, "admin", &err) == 0);
    rc = plsm_pool_delete(c, "admin", &err);
    CHECK(rc == -1 && err && err->kind == PLSM_ERROR_NOT_FOUND && err->path != NULL);
    plsm_error_free(err);
    err = NULL;
    rc = plsm_pool_delete(NULL, "admin", &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_delete(c, NULL, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_delete(c, INVALID_UTF8, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_USAGE);
    rc = plsm_pool_open(c, "admin", &p, &err);
    CHECK_ERR(rc, err, PLSM_ERROR_NOT_FOUND);
}

/* A pool this process may not write: mode 0444, and for root (who ignores
 * modes) the immutable attribute. Appends fail with Permission; reads work. */
static void test_permission(plsm_client_t *c) {
    char path[512], cmd[600];
    plsm_error_t *err = NULL;
    plsm_pool_t *p = create_or_die(c, "locked");
    append_or_die(p, "{\"a\":1}", NULL, 0);
    plsm_pool_free(p);
    snprintf(path, sizeof path, "%s/locked.plasmite", dir);
    chmod(path, 0444);
    int fd = open(path, O_WRONLY);
    int immutable = 0;
    if (fd >= 0) {
        close(fd);
        snprintf(cmd, sizeof cmd, "chattr +i '%s' 2>/dev/null", path);
        if (system(cmd) != 0) {
            fprintf(stderr, "  skipping the permission check: cannot deny writes here\n");
            return;
        }
        immutable = 1;
    }
    CHECK(plsm_pool_open(c, "locked", &p, &err) == 0);
    int rc = plsm_pool_append(p, (const uint8_t *)"{\"a\":2}", 7, NULL, 0, 0, NULL, &err);
    CHECK(rc == -1 && err && err->kind == PLSM_ERROR_PERMISSION && err->path != NULL);
    plsm_error_free(err);
    plsm_buf_t buf = {0};
    CHECK(plsm_pool_get_json(p, 1, &buf, &err) == 0);
    plsm_buf_free(&buf);
    plsm_pool_free(p);
    if (immutable) {
        snprintf(cmd, sizeof cmd, "chattr -i '%s'", path);
        CHECK(system(cmd) == 0);
    }
}

int main(void) {
    snprintf(dir, sizeof dir, "%s/plasmite-capi-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    test_client();

    plsm_client_t *c = NULL;
    plsm_error_t *err = NULL;
    if (plsm_client_new(dir, &c, &err) != 0) {
        fprintf(stderr, "client: %s\n", err ? err->message : "?");
        return 2;
    }
    test_create_open(c);
    test_append_get(c);
    test_streams(c);
    test_threads(c);
    test_named_readers(c);
    test_admin(c);
    test_permission(c);
    plsm_client_free(c);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    printf("capi: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
