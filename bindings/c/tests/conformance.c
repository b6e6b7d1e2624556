/* The C runner of the conformance manifests in spec/conformance/.
 *
 * Usage: conformance MANIFEST.json [--workdir DIR]. Exits 0 when every step
 * passes, 1 naming the first failing step, 2 on a bad manifest or bad
 * arguments. The rules are those of spec/conformance/README.md and of the
 * Rust runner (tests/src/bin/plasmite-conformance.rs); every call goes
 * through the C ABI in plasmite.h.
 *
 * C has no JSON library in its standard library, so this file carries a
 * small one: a recursive-descent reader for RFC 8259 JSON (numbers keep
 * their text, strings are unescaped to UTF-8) and a compact writer. Values
 * live until the process exits: a runner is a short-lived process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plasmite.h"

/* ---------- JSON values ---------- */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jval {
    jtype t;
    int b;             /* J_BOOL */
    char *text;        /* J_NUM: the number as written; J_STR: UTF-8 bytes */
    size_t len;        /* J_STR: byte length (may contain NUL) */
    struct jval **items; /* J_ARR, J_OBJ: values */
    char **keys;       /* J_OBJ: keys (NUL-terminated) */
    size_t n, cap;
} jval;

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static jval *jnew(jtype t) {
    jval *v = xmalloc(sizeof *v);
    memset(v, 0, sizeof *v);
    v->t = t;
    return v;
}

static void jpush(jval *v, char *key, jval *item) {
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 4;
        v->items = xrealloc(v->items, v->cap * sizeof *v->items);
        if (v->t == J_OBJ) v->keys = xrealloc(v->keys, v->cap * sizeof *v->keys);
    }
    if (v->t == J_OBJ) v->keys[v->n] = key;
    v->items[v->n++] = item;
}

static jval *jget(const jval *obj, const char *key) {
    if (!obj || obj->t != J_OBJ) return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0) return obj->items[i];
    return NULL;
}

static jval *jnum_u64(uint64_t n) {
    jval *v = jnew(J_NUM);
    v->text = xmalloc(24);
    snprintf(v->text, 24, "%llu", (unsigned long long)n);
    return v;
}

static jval *jstr(const char *s) {
    jval *v = jnew(J_STR);
    v->len = strlen(s);
    v->text = strdup(s);
    return v;
}

/* A non-negative integer written without fraction or exponent. */
static int jas_u64(const jval *v, uint64_t *out) {
    if (!v || v->t != J_NUM || v->text[0] == '\0') return 0;
    for (const char *p = v->text; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    errno = 0;
    unsigned long long n = strtoull(v->text, NULL, 10);
    if (errno) return 0;
    *out = n;
    return 1;
}

static const char *jas_str(const jval *v) {
    return v && v->t == J_STR ? v->text : NULL;
}

/* ---------- JSON reader ---------- */

typedef struct {
    const char *s;
    size_t len, pos;
    const char *err;
} reader;

static void ws(reader *r) {
    while (r->pos < r->len && strchr(" \t\r\n", r->s[r->pos]) && r->s[r->pos]) r->pos++;
}

static int lit(reader *r, const char *word) {
    size_t n = strlen(word);
    if (r->len - r->pos >= n && memcmp(r->s + r->pos, word, n) == 0) {
        r->pos += n;
        return 1;
    }
    return 0;
}

static jval *parse_value(reader *r, int depth);

static int hex4(reader *r, unsigned *out) {
    if (r->len - r->pos < 4) return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = r->s[r->pos++];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

static void put_utf8(char *buf, size_t *n, unsigned cp) {
    if (cp < 0x80) {
        buf[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        buf[(*n)++] = (char)(0xC0 | (cp >> 6));
        buf[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        buf[(*n)++] = (char)(0xE0 | (cp >> 12));
        buf[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        buf[(*n)++] = (char)(0xF0 | (cp >> 18));
        buf[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        buf[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* Reads a string after its opening quote; returns its UTF-8 bytes. */
static char *parse_string(reader *r, size_t *out_len) {
    /* Unescaped text is never longer than the escaped text. */
    char *buf = xmalloc(r->len - r->pos + 1);
    size_t n = 0;
    while (r->pos < r->len) {
        unsigned char c = (unsigned char)r->s[r->pos++];
        if (c == '"') {
            buf[n] = '\0';
            *out_len = n;
            return buf;
        }
        if (c < 0x20) {
            r->err = "control character in string";
            return NULL;
        }
        if (c != '\\') {
            buf[n++] = (char)c;
            continue;
        }
        if (r->pos >= r->len) break;
        char e = r->s[r->pos++];
        unsigned cp, lo;
        switch (e) {
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case '/': buf[n++] = '/'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u':
            if (!hex4(r, &cp)) {
                r->err = "bad \\u escape";
                return NULL;
            }
            if (cp >= 0xD800 && cp < 0xDC00 && lit(r, "\\u") && hex4(r, &lo) && lo >= 0xDC00 &&
                lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xD800 && cp < 0xE000) {
                cp = 0xFFFD; /* a lone surrogate */
            }
            put_utf8(buf, &n, cp);
            break;
        default:
            r->err = "bad escape";
            return NULL;
        }
    }
    r->err = "unterminated string";
    return NULL;
}

static jval *parse_number(reader *r) {
    size_t start = r->pos;
    if (r->s[r->pos] == '-') r->pos++;
    size_t digits = r->pos;
    while (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9') r->pos++;
    if (r->pos == digits) {
        r->err = "bad number";
        return NULL;
    }
    if (r->pos < r->len && r->s[r->pos] == '.') {
        r->pos++;
        size_t f = r->pos;
        while (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9') r->pos++;
        if (r->pos == f) {
            r->err = "bad fraction";
            return NULL;
        }
    }
    if (r->pos < r->len && (r->s[r->pos] == 'e' || r->s[r->pos] == 'E')) {
        r->pos++;
        if (r->pos < r->len && (r->s[r->pos] == '+' || r->s[r->pos] == '-')) r->pos++;
        size_t x = r->pos;
        while (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9') r->pos++;
        if (r->pos == x) {
            r->err = "bad exponent";
            return NULL;
        }
    }
    jval *v = jnew(J_NUM);
    v->text = strndup(r->s + start, r->pos - start);
    return v;
}

static jval *parse_value(reader *r, int depth) {
    if (depth > 200) {
        r->err = "nested too deeply";
        return NULL;
    }
    ws(r);
    if (r->pos >= r->len) {
        r->err = "unexpected end";
        return NULL;
    }
    char c = r->s[r->pos];
    if (c == '{' || c == '[') {
        jval *v = jnew(c == '{' ? J_OBJ : J_ARR);
        char close = c == '{' ? '}' : ']';
        r->pos++;
        ws(r);
        if (r->pos < r->len && r->s[r->pos] == close) {
            r->pos++;
            return v;
        }
        for (;;) {
            char *key = NULL;
            if (v->t == J_OBJ) {
                ws(r);
                size_t klen;
                if (r->pos >= r->len || r->s[r->pos] != '"') {
                    r->err = "expected a key";
                    return NULL;
                }
                r->pos++;
                if (!(key = parse_string(r, &klen))) return NULL;
                ws(r);
                if (r->pos >= r->len || r->s[r->pos] != ':') {
                    r->err = "expected ':'";
                    return NULL;
                }
                r->pos++;
            }
            jval *item = parse_value(r, depth + 1);
            if (!item) return NULL;
            jpush(v, key, item);
            ws(r);
            if (r->pos < r->len && r->s[r->pos] == ',') {
                r->pos++;
                continue;
            }
            if (r->pos < r->len && r->s[r->pos] == close) {
                r->pos++;
                return v;
            }
            r->err = "expected ',' or a closing bracket";
            return NULL;
        }
    }
    if (c == '"') {
        r->pos++;
        jval *v = jnew(J_STR);
        if (!(v->text = parse_string(r, &v->len))) return NULL;
        return v;
    }
    if (lit(r, "null")) return jnew(J_NULL);
    if (lit(r, "true")) {
        jval *v = jnew(J_BOOL);
        v->b = 1;
        return v;
    }
    if (lit(r, "false")) return jnew(J_BOOL);
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(r);
    r->err = "unexpected character";
    return NULL;
}

/* Parses a whole document; NULL with *err set on failure. */
static jval *jparse(const char *s, size_t len, const char **err) {
    reader r = {s, len, 0, NULL};
    jval *v = parse_value(&r, 0);
    if (v) {
        ws(&r);
        if (r.pos != r.len) {
            r.err = "trailing characters";
            v = NULL;
        }
    }
    *err = r.err;
    return v;
}

/* ---------- JSON writer ---------- */

typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

static void sput(sbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void sputs(sbuf *b, const char *s) { sput(b, s, strlen(s)); }

static void write_string(sbuf *b, const char *s, size_t len) {
    sput(b, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"') sput(b, "\\\"", 2);
        else if (c == '\\') sput(b, "\\\\", 2);
        else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sputs(b, esc);
        } else sput(b, (const char *)&s[i], 1);
    }
    sput(b, "\"", 1);
}

/* Compact JSON text of `v`; numbers keep their spelling. */
static void jwrite(sbuf *b, const jval *v) {
    switch (v->t) {
    case J_NULL: sputs(b, "null"); break;
    case J_BOOL: sputs(b, v->b ? "true" : "false"); break;
    case J_NUM: sputs(b, v->text); break;
    case J_STR: write_string(b, v->text, v->len); break;
    case J_ARR:
    case J_OBJ:
        sputs(b, v->t == J_ARR ? "[" : "{");
        for (size_t i = 0; i < v->n; i++) {
            if (i) sputs(b, ",");
            if (v->t == J_OBJ) {
                write_string(b, v->keys[i], strlen(v->keys[i]));
                sputs(b, ":");
            }
            jwrite(b, v->items[i]);
        }
        sputs(b, v->t == J_ARR ? "]" : "}");
        break;
    }
}

static char *jtext(const jval *v) {
    sbuf b = {0};
    if (v) jwrite(&b, v);
    else sputs(&b, "(missing)");
    return b.s;
}

/* Value equality with numbers compared by value (1.5e3 == 1500). */
static int jeq_num(const jval *a, const jval *b) {
    if (!a || !b) return a == b;
    if (a->t != b->t) return 0;
    switch (a->t) {
    case J_NULL: return 1;
    case J_BOOL: return a->b == b->b;
    case J_NUM: return strtod(a->text, NULL) == strtod(b->text, NULL);
    case J_STR: return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
    case J_ARR:
        if (a->n != b->n) return 0;
        for (size_t i = 0; i < a->n; i++)
            if (!jeq_num(a->items[i], b->items[i])) return 0;
        return 1;
    case J_OBJ:
        if (a->n != b->n) return 0;
        for (size_t i = 0; i < a->n; i++)
            if (!jeq_num(a->items[i], jget(b, a->keys[i]))) return 0;
        return 1;
    }
    return 0;
}

/* Exact equality, as serde_json's Value ==: numbers must also agree in
 * being integers (1 != 1.0). */
static int jeq_exact(const jval *a, const jval *b) {
    if (a && b && a->t == J_NUM && b->t == J_NUM) {
        uint64_t x, y;
        int ia = jas_u64(a, &x), ib = jas_u64(b, &y);
        if (ia || ib) return ia && ib && x == y;
    }
    return jeq_num(a, b);
}

/* ---------- the runner ---------- */

static char workdir[4096];
static plsm_client_t *client;
static char failure[8192];

static int fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(failure, sizeof failure, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *kind_label(int32_t kind) {
    static const char *labels[] = {"?",          "Internal", "Usage",   "NotFound",
                                   "AlreadyExists", "Busy",     "Permission", "Corrupt",
                                   "Io"};
    return kind >= 1 && kind <= 8 ? labels[kind] : "?";
}

/* A pool value with '/' is a path under the working directory. */
static char *pool_ref(const jval *input) {
    const char *pool = jas_str(jget(input, "pool"));
    if (!pool) pool = "";
    char *out;
    if (strchr(pool, '/')) {
        if (asprintf(&out, "%s/%s", workdir, pool) < 0) exit(2);
    } else {
        out = strdup(pool);
    }
    return out;
}

/* The file a pool reference names (as PoolDir::resolve). */
static char *pool_path(const char *ref) {
    char *out;
    size_t n = strlen(ref);
    int r;
    if (strchr(ref, '/')) r = asprintf(&out, "%s", ref);
    else if (n >= 9 && strcmp(ref + n - 9, ".plasmite") == 0) r = asprintf(&out, "%s/%s", workdir, ref);
    else r = asprintf(&out, "%s/%s.plasmite", workdir, ref);
    if (r < 0) exit(2);
    return out;
}

/* NULL-terminated array of the strings in a JSON array (non-strings
 * skipped); *n receives the count. */
static const char **strings(const jval *arr, size_t *n) {
    *n = 0;
    const char **out = xmalloc(((arr && arr->t == J_ARR) ? arr->n : 0) * sizeof *out + sizeof *out);
    if (arr && arr->t == J_ARR)
        for (size_t i = 0; i < arr->n; i++)
            if (arr->items[i]->t == J_STR) out[(*n)++] = arr->items[i]->text;
    out[*n] = NULL;
    return out;
}

/* Outcome of one op: a value, or an error from the library. */
typedef struct {
    jval *value;
    plsm_error_t *err;
} outcome;

static outcome ok(jval *v) { return (outcome){v, NULL}; }

/* {seq, data, tags} from an envelope the library returned. */
static jval *message_value(const uint8_t *data, size_t len) {
    const char *perr;
    jval *env = jparse((const char *)data, len, &perr);
    jval *m = jnew(J_OBJ);
    if (!env) {
        fprintf(stderr, "library returned invalid JSON (%s): %.*s\n", perr, (int)len, data);
        exit(2);
    }
    jval *meta = jget(env, "meta");
    jpush(m, "seq", jget(env, "seq"));
    jpush(m, "data", jget(env, "data"));
    jpush(m, "tags", jget(meta, "tags"));
    return m;
}

static outcome op_create(const jval *input) {
    uint64_t size = 1 << 20;
    jas_u64(jget(input, "size_bytes"), &size);
    char *ref = pool_ref(input);
    plsm_pool_t *p = NULL;
    plsm_error_t *err = NULL;
    int rc = plsm_pool_create(client, ref, size, &p, &err);
    free(ref);
    if (rc != 0) return (outcome){NULL, err};
    plsm_pool_free(p);
    return ok(jnew(J_OBJ));
}

static plsm_pool_t *open_pool(const jval *input, plsm_error_t **err) {
    char *ref = pool_ref(input);
    plsm_pool_t *p = NULL;
    plsm_pool_open(client, ref, &p, err);
    free(ref);
    return p;
}

static outcome op_append(const jval *input) {
    plsm_error_t *err = NULL;
    plsm_pool_t *p = open_pool(input, &err);
    if (!p) return (outcome){NULL, err};
    const jval *data = jget(input, "data");
    sbuf text = {0};
    if (data) jwrite(&text, data);
    else sputs(&text, "null");
    size_t ntags;
    const char **tags = strings(jget(input, "tags"), &ntags);
    uint64_t repeat = 1;
    jas_u64(jget(input, "repeat"), &repeat);
    plsm_receipt_t r = {0, 0};
    int rc = 0;
    for (uint64_t i = 0; i < repeat && rc == 0; i++)
        rc = plsm_pool_append(p, (const uint8_t *)text.s, text.n, tags, ntags,
                              PLSM_DURABILITY_FAST, &r, &err);
    plsm_pool_free(p);
    free(text.s);
    free(tags);
    if (rc != 0) return (outcome){NULL, err};
    jval *v = jnew(J_OBJ);
    jpush(v, "seq", jnum_u64(r.seq));
    return ok(v);
}

static outcome op_get(const jval *input) {
    plsm_error_t *err = NULL;
    plsm_pool_t *p = open_pool(input, &err);
    if (!p) return (outcome){NULL, err};
    uint64_t seq = 0;
    jas_u64(jget(input, "seq"), &seq);
    plsm_buf_t buf = {0};
    int rc = plsm_pool_get_json(p, seq, &buf, &err);
    plsm_pool_free(p);
    if (rc != 0) return (outcome){NULL, err};
    jval *m = message_value(buf.data, buf.len);
    plsm_buf_free(&buf);
    return ok(m);
}

static outcome op_tail(const jval *input) {
    plsm_error_t *err = NULL;
    plsm_pool_t *p = open_pool(input, &err);
    if (!p) return (outcome){NULL, err};
    plsm_tail_options_t o;
    memset(&o, 0, sizeof o);
    uint64_t timeout = 1000;
    jas_u64(jget(input, "timeout_ms"), &timeout);
    o.has_idle_timeout = 1;
    o.idle_timeout_ms = timeout;
    o.has_max = 1;
    o.max = UINT64_MAX;
    jas_u64(jget(input, "max"), &o.max);
    o.has_since_seq = (uint8_t)jas_u64(jget(input, "since_seq"), &o.since_seq);
    if (jas_u64(jget(input, "last"), &o.last)) {
        /* As the Rust runner: `last` replaces `since_seq`. */
        o.has_last = 1;
        o.has_since_seq = 0;
    }
    const char **tags = strings(jget(input, "tags"), &o.tags_len);
    const char **wheres = strings(jget(input, "where"), &o.where_len);
    o.tags = tags;
    o.where_exprs = wheres;
    /* A durable named reader: it acknowledges each message when the next
     * is read, unless manual_ack asks it to wait for plsm_stream_ack. */
    o.name = jas_str(jget(input, "name"));
    const jval *manual = jget(input, "manual_ack");
    o.manual_ack = manual && manual->t == J_BOOL && manual->b;
    uint64_t ack_after = 0;
    int has_ack_after = jas_u64(jget(input, "ack_after"), &ack_after);
    plsm_stream_t *s = NULL;
    int rc = plsm_tail_open(p, &o, &s, &err);
    plsm_pool_free(p);
    free(tags);
    free(wheres);
    if (rc != 0) return (outcome){NULL, err};
    jval *msgs = jnew(J_ARR);
    plsm_buf_t buf = {0};
    while ((rc = plsm_stream_next(s, &buf, &err)) == PLSM_STREAM_MESSAGE) {
        jpush(msgs, NULL, message_value(buf.data, buf.len));
        plsm_buf_free(&buf);
        if (has_ack_after && msgs->n == ack_after && plsm_stream_ack(s, &err) != 0) {
            rc = -1;
            break;
        }
    }
    plsm_stream_stats_t st = {0, 0, 0, 0};
    if (rc >= 0 && plsm_stream_stats(s, &st, &err) != 0) rc = -1;
    plsm_stream_free(s);
    if (rc < 0) return (outcome){NULL, err};
    jval *out = jnew(J_OBJ);
    jpush(out, "messages", msgs);
    jpush(out, "dropped", jnum_u64(st.dropped));
    return ok(out);
}

static outcome op_list_readers(const jval *input) {
    plsm_error_t *err = NULL;
    plsm_pool_t *p = open_pool(input, &err);
    if (!p) return (outcome){NULL, err};
    plsm_reader_list_t list;
    int rc = plsm_pool_readers(p, &list, &err);
    plsm_pool_free(p);
    if (rc != 0) return (outcome){NULL, err};
    jval *readers = jnew(J_ARR);
    for (size_t i = 0; i < list.len; i++) {
        jval *r = jnew(J_OBJ);
        jpush(r, "name", jstr(list.entries[i].name));
        jpush(r, "next_seq", jnum_u64(list.entries[i].next_seq));
        jpush(readers, NULL, r);
    }
    plsm_reader_list_free(&list);
    jval *v = jnew(J_OBJ);
    jpush(v, "readers", readers);
    return ok(v);
}

static outcome op_delete_reader(const jval *input) {
    plsm_error_t *err = NULL;
    plsm_pool_t *p = open_pool(input, &err);
    if (!p) return (outcome){NULL, err};
    const char *name = jas_str(jget(input, "name"));
    int rc = plsm_pool_delete_reader(p, name ? name : "", &err);
    plsm_pool_free(p);
    if (rc != 0) return (outcome){NULL, err};
    return ok(jnew(J_OBJ));
}

static outcome op_list(void) {
    plsm_pool_list_t list;
    plsm_error_t *err = NULL;
    if (plsm_pool_list(client, &list, &err) != 0) return (outcome){NULL, err};
    jval *names = jnew(J_ARR);
    for (size_t i = 0; i < list.len; i++) jpush(names, NULL, jstr(list.entries[i].name));
    plsm_pool_list_free(&list);
    jval *v = jnew(J_OBJ);
    jpush(v, "names", names);
    return ok(v);
}

static outcome op_info(const jval *input) {
    char *ref = pool_ref(input);
    plsm_pool_info_t info;
    plsm_error_t *err = NULL;
    int rc = plsm_pool_info(client, ref, &info, &err);
    free(ref);
    if (rc != 0) return (outcome){NULL, err};
    jval *v = jnew(J_OBJ);
    jpush(v, "file_size", jnum_u64(info.file_size));
    jpush(v, "oldest", info.has_oldest ? jnum_u64(info.oldest_seq) : jnew(J_NULL));
    jpush(v, "newest", info.has_newest ? jnum_u64(info.newest_seq) : jnew(J_NULL));
    plsm_pool_info_free(&info);
    return ok(v);
}

static outcome op_delete(const jval *input) {
    char *ref = pool_ref(input);
    plsm_error_t *err = NULL;
    int rc = plsm_pool_delete(client, ref, &err);
    free(ref);
    if (rc != 0) return (outcome){NULL, err};
    return ok(jnew(J_OBJ));
}

/* Runs argv, waits; returns the exit status (or -1). stdout/stderr of the
 * child go to /dev/null when `quiet`. */
static pid_t spawn(char *const argv[], int quiet_out, int quiet_err) {
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (quiet_out) dup2(null, 1);
        if (quiet_err) dup2(null, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static int wait_ok(pid_t pid) {
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) return 0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int op_spawn_poke(const jval *input) {
    const char *bin = getenv("PLASMITE_BIN");
    if (!bin || !*bin) bin = "pls";
    char *ref = pool_ref(input);
    const jval *msgs = jget(input, "messages");
    size_t n = msgs && msgs->t == J_ARR ? msgs->n : 0;
    pid_t *pids = xmalloc(n * sizeof *pids);
    for (size_t i = 0; i < n; i++) {
        char *data = jtext(jget(msgs->items[i], "data"));
        size_t ntags;
        const char **tags = strings(jget(msgs->items[i], "tags"), &ntags);
        char **argv = xmalloc((6 + 2 * ntags + 1) * sizeof *argv);
        size_t a = 0;
        argv[a++] = (char *)bin;
        argv[a++] = "--dir";
        argv[a++] = workdir;
        argv[a++] = "poke";
        argv[a++] = ref;
        argv[a++] = data;
        for (size_t t = 0; t < ntags; t++) {
            argv[a++] = "--tag";
            argv[a++] = (char *)tags[t];
        }
        argv[a] = NULL;
        pids[i] = spawn(argv, 1, 0);
        free(argv);
        free(tags);
        free(data);
    }
    int good = 1;
    for (size_t i = 0; i < n; i++)
        if (!wait_ok(pids[i])) good = 0;
    free(pids);
    free(ref);
    return good ? 0 : fail("%s poke failed (is PLASMITE_BIN set?)", bin);
}

static int op_corrupt(const jval *input) {
    char *ref = pool_ref(input);
    char *path = pool_path(ref);
    unsigned char junk[64];
    memset(junk, 0xA5, sizeof junk);
    int fd = open(path, O_WRONLY);
    int good = fd >= 0 && pwrite(fd, junk, sizeof junk, 0) == (ssize_t)sizeof junk;
    if (fd >= 0) close(fd);
    int rc = good ? 0 : fail("%s: %s", path, strerror(errno));
    free(path);
    free(ref);
    return rc;
}

static int op_deny_write(const jval *input) {
    char *ref = pool_ref(input);
    char *path = pool_path(ref);
    int rc = 0;
    if (chmod(path, 0444) != 0) {
        rc = fail("%s: %s", path, strerror(errno));
    } else {
        /* Root ignores mode bits: if the file still opens for writing, make
         * it immutable, which binds root too. */
        int fd = open(path, O_WRONLY);
        if (fd >= 0) {
            close(fd);
            char *argv[] = {"chattr", "+i", path, NULL};
            if (!wait_ok(spawn(argv, 0, 0)))
                rc = fail("mode 0444 does not stop this user and `chattr +i` failed");
        }
    }
    free(path);
    free(ref);
    return rc;
}

static int check_error(const plsm_error_t *e, const jval *want) {
    const char *kind = kind_label(e->kind);
    const char *want_kind = jas_str(jget(want, "kind"));
    if (!want_kind || strcmp(want_kind, kind) != 0)
        return fail("expected error kind %s, got %s: %s", want_kind ? want_kind : "?", kind,
                    e->message);
    const char *sub = jas_str(jget(want, "message_contains"));
    if (sub && !strstr(e->message, sub))
        return fail("error message \"%s\" lacks \"%s\"", e->message, sub);
    const jval *hp = jget(want, "has_path"), *hs = jget(want, "has_seq");
    if (hp && hp->t == J_BOOL && hp->b != (e->path != NULL))
        return fail("has_path: expected %d, got %d (%s)", hp->b, e->path != NULL, e->message);
    if (hs && hs->t == J_BOOL && hs->b != (e->has_seq != 0))
        return fail("has_seq: expected %d, got %d (%s)", hs->b, e->has_seq != 0, e->message);
    return 0;
}

/* Compares the keys an expectation gives (seq, data, tags) with a message. */
static int check_message(const jval *want, const jval *got) {
    const jval *w;
    if ((w = jget(want, "seq")) && !jeq_exact(w, jget(got, "seq")))
        return fail("seq: expected %s, got %s", jtext(w), jtext(jget(got, "seq")));
    if ((w = jget(want, "data")) && !jeq_num(w, jget(got, "data")))
        return fail("data: expected %s, got %s", jtext(w), jtext(jget(got, "data")));
    if ((w = jget(want, "tags")) && !jeq_exact(w, jget(got, "tags")))
        return fail("tags: expected %s, got %s", jtext(w), jtext(jget(got, "tags")));
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Orders readers {name, next_seq} by name. */
static int cmp_reader(const void *a, const void *b) {
    const char *x = jas_str(jget(*(const jval *const *)a, "name"));
    const char *y = jas_str(jget(*(const jval *const *)b, "name"));
    return strcmp(x ? x : "", y ? y : "");
}

static int check_value(const char *op, const jval *got, const jval *expect) {
    if (strcmp(op, "tail") == 0) {
        uint64_t min, dropped = 0;
        if (jas_u64(jget(expect, "dropped_min"), &min)) {
            jas_u64(jget(got, "dropped"), &dropped);
            if (dropped < min)
                return fail("tail: dropped (at least) expected %llu, got %llu",
                            (unsigned long long)min, (unsigned long long)dropped);
        }
        got = jget(got, "messages");
        uint64_t prev = 0, seq, count;
        for (size_t i = 0; i < got->n; i++) {
            if (!jas_u64(jget(got->items[i], "seq"), &seq)) return fail("tail: message without seq");
            if (i > 0 && seq <= prev) return fail("tail: seqs not strictly rising");
            prev = seq;
        }
        const jval *want = jget(expect, "messages");
        int ordered = want && want->t == J_ARR;
        if (!ordered && jas_u64(jget(expect, "count"), &count)) {
            if (count != got->n)
                return fail("tail: message count expected %llu, got %zu",
                            (unsigned long long)count, got->n);
            return 0;
        }
        if (!ordered) want = jget(expect, "messages_unordered");
        if (!want || want->t != J_ARR) return 0;
        if (want->n != got->n)
            return fail("tail: message count expected %zu, got %zu: %s", want->n, got->n,
                        jtext(got));
        for (size_t i = 0; i < want->n; i++) {
            if (ordered) {
                if (check_message(want->items[i], got->items[i])) return -1;
                continue;
            }
            int found = 0;
            for (size_t j = 0; j < got->n && !found; j++)
                found = check_message(want->items[i], got->items[j]) == 0;
            if (!found) return fail("tail: no message matches %s", jtext(want->items[i]));
        }
        return 0;
    }
    if (strcmp(op, "get") == 0) return check_message(expect, got);
    static const char *keys[] = {"seq", "file_size", "oldest", "newest"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const jval *w = jget(expect, keys[i]);
        if (w && !jeq_exact(w, jget(got, keys[i])))
            return fail("%s: %s expected %s, got %s", op, keys[i], jtext(w),
                        jtext(jget(got, keys[i])));
    }
    const jval *want_readers = jget(expect, "readers");
    if (want_readers) {
        jval *have = jnew(J_ARR);
        const jval *readers = jget(got, "readers");
        for (size_t i = 0; readers && readers->t == J_ARR && i < readers->n; i++)
            jpush(have, NULL, readers->items[i]);
        if (have->n > 1) qsort(have->items, have->n, sizeof *have->items, cmp_reader);
        if (!jeq_exact(want_readers, have))
            return fail("readers: expected %s, got %s", jtext(want_readers), jtext(have));
    }
    const jval *want = jget(expect, "names");
    if (want && want->t == J_ARR) {
        size_t nw, nh;
        const char **w = strings(want, &nw);
        const char **h = strings(jget(got, "names"), &nh);
        qsort(w, nw, sizeof *w, cmp_str);
        qsort(h, nh, sizeof *h, cmp_str);
        int same = nw == nh;
        for (size_t i = 0; same && i < nw; i++) same = strcmp(w[i], h[i]) == 0;
        if (!same) {
            sbuf b = {0};
            for (size_t i = 0; i < nh; i++) {
                sputs(&b, i ? "," : "");
                sputs(&b, h[i]);
            }
            fail("names: expected %s, got [%s]", jtext(want), b.s ? b.s : "");
        }
        free(w);
        free(h);
        if (!same) return -1;
    }
    return 0;
}

static int run_step(const jval *step) {
    const jval *input = jget(step, "input");
    const jval *expect = jget(step, "expect");
    const char *op = jas_str(jget(step, "op"));
    if (!op) op = "";
    outcome o;
    if (strcmp(op, "create_pool") == 0) o = op_create(input);
    else if (strcmp(op, "append") == 0) o = op_append(input);
    else if (strcmp(op, "get") == 0) o = op_get(input);
    else if (strcmp(op, "tail") == 0) o = op_tail(input);
    else if (strcmp(op, "list_pools") == 0) o = op_list();
    else if (strcmp(op, "pool_info") == 0) o = op_info(input);
    else if (strcmp(op, "delete_pool") == 0) o = op_delete(input);
    else if (strcmp(op, "list_readers") == 0) o = op_list_readers(input);
    else if (strcmp(op, "delete_reader") == 0) o = op_delete_reader(input);
    else if (strcmp(op, "spawn_poke") == 0) return op_spawn_poke(input);
    else if (strcmp(op, "corrupt_pool_header") == 0) return op_corrupt(input);
    else if (strcmp(op, "deny_write") == 0) return op_deny_write(input);
    else return fail("unknown op \"%s\"", op);

    const jval *want_err = jget(expect, "error");
    int rc;
    if (o.err && want_err) rc = check_error(o.err, want_err);
    else if (o.err) rc = fail("unexpected error: %s: %s", kind_label(o.err->kind), o.err->message);
    else if (want_err) rc = fail("expected error %s, got success %s", jtext(want_err), jtext(o.value));
    else rc = check_value(op, o.value, expect);
    plsm_error_free(o.err);
    return rc;
}

/* Deletes and recreates `dir`, first lifting any immutable attribute a
 * deny_write step left behind. */
static int fresh_dir(const char *dir) {
    struct stat st;
    if (stat(dir, &st) == 0) {
        char *chattr[] = {"chattr", "-R", "-i", (char *)dir, NULL};
        wait_ok(spawn(chattr, 1, 1));
        char *rm[] = {"rm", "-rf", (char *)dir, NULL};
        if (!wait_ok(spawn(rm, 0, 0))) return -1;
    }
    char *mk[] = {"mkdir", "-p", (char *)dir, NULL};
    return wait_ok(spawn(mk, 0, 0)) ? 0 : -1;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    sbuf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) sput(&b, chunk, n);
    fclose(f);
    *len = b.n;
    return b.s ? b.s : strdup("");
}

int main(int argc, char **argv) {
    const char *manifest;
    const char *dir_arg = NULL;
    if (argc == 2) {
        manifest = argv[1];
    } else if (argc == 4 && strcmp(argv[2], "--workdir") == 0) {
        manifest = argv[1];
        dir_arg = argv[3];
    } else {
        fprintf(stderr, "usage: conformance MANIFEST.json [--workdir DIR]\n");
        return 2;
    }
    size_t len;
    char *text = read_file(manifest, &len);
    if (!text) {
        fprintf(stderr, "%s: %s\n", manifest, strerror(errno));
        return 2;
    }
    const char *perr;
    jval *doc = jparse(text, len, &perr);
    if (!doc) {
        fprintf(stderr, "%s: invalid JSON: %s\n", manifest, perr);
        return 2;
    }
    uint64_t version;
    if (!jas_u64(jget(doc, "conformance_version"), &version) || version != 0) {
        fprintf(stderr, "%s: unsupported conformance_version\n", manifest);
        return 2;
    }
    const char *name = jas_str(jget(doc, "name"));
    if (!name) name = "manifest";
    if (dir_arg) {
        snprintf(workdir, sizeof workdir, "%s", dir_arg);
    } else {
        const char *slash = strrchr(manifest, '/');
        int dlen = slash ? (int)(slash - manifest) : 1;
        snprintf(workdir, sizeof workdir, "%.*s/work-%s", dlen, slash ? manifest : ".", name);
    }
    const jval *fresh = jget(doc, "fresh_workdir");
    if (!(fresh && fresh->t == J_BOOL && !fresh->b) && fresh_dir(workdir) != 0) {
        fprintf(stderr, "%s: cannot prepare workdir\n", workdir);
        return 2;
    }
    plsm_error_t *err = NULL;
    if (plsm_client_new(workdir, &client, &err) != 0) {
        fprintf(stderr, "%s: %s\n", workdir, err->message);
        return 2;
    }
    const jval *steps = jget(doc, "steps");
    size_t n = steps && steps->t == J_ARR ? steps->n : 0;
    for (size_t i = 0; i < n; i++) {
        const char *id = jas_str(jget(steps->items[i], "id"));
        if (run_step(steps->items[i]) != 0) {
            fprintf(stderr, "%s: step %zu (%s) failed: %s\n", name, i, id ? id : "?", failure);
            return 1;
        }
    }
    plsm_client_free(client);
    printf("%s: %zu steps passed\n", name, n);
    return 0;
}
