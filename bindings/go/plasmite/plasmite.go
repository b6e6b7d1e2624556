// Package plasmite is the Go binding of Plasmite: durable interprocess
// messaging through memory-mapped pool files.
//
// It calls libplasmite through cgo (the C ABI declared in plasmite.h) and
// uses only the standard library. Build with pkg-config finding
// plasmite.pc (bindings/c/install.sh installs it):
//
//	PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig go build
//
// A Client is a pool directory; a Pool appends and reads messages; a Stream
// or Pool.Tail reads them in order, with tag and jq filters applied by the
// library. Every method is safe for concurrent use except a Stream's reads,
// which one goroutine at a time should make. Errors from the library are
// *Error values carrying a Kind; using a closed handle returns ErrClosed.
//
// A stream opened with TailOptions.Name is a durable named reader: its
// position is kept in the pool file, so a consumer that restarts, even
// after being killed, resumes right after the last message it
// acknowledged (at-least-once delivery). Pool.Readers lists the readers
// and Pool.DeleteReader forgets one.
package plasmite

/*
#cgo pkg-config: plasmite
#include <stdlib.h>
#include "plasmite.h"
*/
import "C"

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// ErrorKind is the stable category of an Error (the numbering of the C ABI
// and of the pls exit codes).
type ErrorKind int

// The error kinds.
const (
	ErrorInternal      ErrorKind = 1 // a bug or an unexpected condition
	ErrorUsage         ErrorKind = 2 // bad input: an argument, invalid JSON, an option
	ErrorNotFound      ErrorKind = 3 // the pool or message does not exist
	ErrorAlreadyExists ErrorKind = 4 // the pool already exists
	ErrorBusy          ErrorKind = 5 // something else holds the resource; retry
	ErrorPermission    ErrorKind = 6 // the operating system refused access
	ErrorCorrupt       ErrorKind = 7 // the pool file is damaged or not a pool
	ErrorIO            ErrorKind = 8 // any other I/O failure
)

var kindNames = map[ErrorKind]string{
	ErrorInternal: "Internal", ErrorUsage: "Usage", ErrorNotFound: "NotFound",
	ErrorAlreadyExists: "AlreadyExists", ErrorBusy: "Busy", ErrorPermission: "Permission",
	ErrorCorrupt: "Corrupt", ErrorIO: "Io",
}

// String is the kind's stable name, as in JSON error envelopes ("NotFound").
func (k ErrorKind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("ErrorKind(%d)", int(k))
}

// Error is an error reported by the library.
type Error struct {
	Kind    ErrorKind
	Message string
	Path    string  // the file concerned, or ""
	Hint    string  // what to do about it, or ""
	Seq     *uint64 // the message seq concerned, if any
	Offset  *uint64 // the ring offset concerned, if any
}

// Error renders "plasmite: Kind: message (path)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("plasmite: ")
	b.WriteString(e.Kind.String())
	b.WriteString(": ")
	b.WriteString(e.Message)
	if e.Path != "" {
		b.WriteString(" (")
		b.WriteString(e.Path)
		b.WriteString(")")
	}
	return b.String()
}

// KindOf is the Kind of err if it is (or wraps) an *Error, else 0.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// ErrClosed is returned by every method of a Client, Pool or Stream that
// has been closed.
var ErrClosed = errors.New("plasmite: handle is closed")

// Durability says how durable an append is when it returns.
type Durability uint32

const (
	// DurabilityFast returns once the message is in the shared page cache:
	// it survives the process, not a power cut.
	DurabilityFast Durability = C.PLSM_DURABILITY_FAST
	// DurabilityFlush returns once the message is on disk (fdatasync).
	DurabilityFlush Durability = C.PLSM_DURABILITY_FLUSH
)

// takeError converts a C error to *Error and frees it.
func takeError(e *C.plsm_error_t) error {
	if e == nil {
		return &Error{Kind: ErrorInternal, Message: "call failed without an error"}
	}
	defer C.plsm_error_free(e)
	out := &Error{Kind: ErrorKind(e.kind), Message: C.GoString(e.message)}
	if e.path != nil {
		out.Path = C.GoString(e.path)
	}
	if e.hint != nil {
		out.Hint = C.GoString(e.hint)
	}
	if e.has_seq != 0 {
		s := uint64(e.seq)
		out.Seq = &s
	}
	if e.has_offset != 0 {
		o := uint64(e.offset)
		out.Offset = &o
	}
	return out
}

func usageError(format string, args ...interface{}) error {
	return &Error{Kind: ErrorUsage, Message: fmt.Sprintf(format, args...)}
}

// cString copies s to C memory; a NUL inside s (which C would silently cut
// at) is a Usage error. Free the result with C.free.
func cString(s, what string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, usageError("%s contains a NUL byte", what)
	}
	return C.CString(s), nil
}

// cStrings is a C array of C strings; free it with the returned function.
func cStrings(list []string, what string) (**C.char, C.size_t, func(), error) {
	if len(list) == 0 {
		return nil, 0, func() {}, nil
	}
	ptrSize := unsafe.Sizeof((*C.char)(nil))
	arr := unsafe.Slice((**C.char)(C.malloc(C.size_t(uintptr(len(list))*ptrSize))), len(list))
	n := 0
	free := func() {
		for i := 0; i < n; i++ {
			C.free(unsafe.Pointer(arr[i]))
		}
		C.free(unsafe.Pointer(&arr[0]))
	}
	for i, s := range list {
		c, err := cString(s, fmt.Sprintf("%s[%d]", what, i))
		if err != nil {
			free()
			return nil, 0, nil, err
		}
		arr[i] = c
		n++
	}
	return &arr[0], C.size_t(len(list)), free, nil
}

// Client is a pool directory: pools are created in it, opened from it,
// listed and deleted. Close it when done (pools opened through it stay
// usable).
type Client struct {
	mu  sync.RWMutex
	ptr *C.plsm_client_t
}

// NewClient opens the pool directory dir (it need not exist yet; creating
// a pool creates it). An empty dir is a Usage error: see NewDefaultClient.
func NewClient(dir string) (*Client, error) {
	cdir, err := cString(dir, "pool directory")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cdir))
	return newClient(cdir)
}

// NewDefaultClient opens the default pool directory: $PLASMITE_DIR, else
// ~/.plasmite/pools.
func NewDefaultClient() (*Client, error) {
	return newClient(nil)
}

func newClient(cdir *C.char) (*Client, error) {
	var ptr *C.plsm_client_t
	var cerr *C.plsm_error_t
	if C.plsm_client_new(cdir, &ptr, &cerr) != 0 {
		return nil, takeError(cerr)
	}
	c := &Client{ptr: ptr}
	runtime.SetFinalizer(c, (*Client).Close)
	return c, nil
}

// Close frees the client. Closing twice is harmless.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ptr != nil {
		C.plsm_client_free(c.ptr)
		c.ptr = nil
		runtime.SetFinalizer(c, nil)
	}
	return nil
}

// with runs f with the live handle, or returns ErrClosed.
func (c *Client) with(f func(*C.plsm_client_t) error) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return ErrClosed
	}
	return f(c.ptr)
}

// withRef runs f with the live handle and ref as a C string.
func (c *Client) withRef(ref string, f func(*C.plsm_client_t, *C.char) error) error {
	cref, err := cString(ref, "pool ref")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cref))
	return c.with(func(p *C.plsm_client_t) error { return f(p, cref) })
}

// CreatePool creates a pool of sizeBytes (0 means 1 MiB) and opens it. ref
// is a name in the client's directory, or a path when it contains "/". An
// existing pool is never replaced: that is an ErrorAlreadyExists error.
func (c *Client) CreatePool(ref string, sizeBytes uint64) (*Pool, error) {
	var ptr *C.plsm_pool_t
	err := c.withRef(ref, func(h *C.plsm_client_t, cref *C.char) error {
		var cerr *C.plsm_error_t
		if C.plsm_pool_create(h, cref, C.uint64_t(sizeBytes), &ptr, &cerr) != 0 {
			return takeError(cerr)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return newPool(ptr), nil
}

// OpenPool opens an existing pool by name or path.
func (c *Client) OpenPool(ref string) (*Pool, error) {
	var ptr *C.plsm_pool_t
	err := c.withRef(ref, func(h *C.plsm_client_t, cref *C.char) error {
		var cerr *C.plsm_error_t
		if C.plsm_pool_open(h, cref, &ptr, &cerr) != 0 {
			return takeError(cerr)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return newPool(ptr), nil
}

// PoolInfo reports what the pool ref retains right now.
func (c *Client) PoolInfo(ref string) (PoolInfo, error) {
	var info PoolInfo
	err := c.withRef(ref, func(h *C.plsm_client_t, cref *C.char) error {
		var ci C.plsm_pool_info_t
		var cerr *C.plsm_error_t
		if C.plsm_pool_info(h, cref, &ci, &cerr) != 0 {
			return takeError(cerr)
		}
		info = infoFromC(&ci)
		C.plsm_pool_info_free(&ci)
		return nil
	})
	return info, err
}

// ListPools lists the pools of the directory, sorted by name (a missing
// directory lists as empty). A pool that cannot be read is listed with Err
// set.
func (c *Client) ListPools() ([]PoolEntry, error) {
	var out []PoolEntry
	err := c.with(func(h *C.plsm_client_t) error {
		var list C.plsm_pool_list_t
		var cerr *C.plsm_error_t
		if C.plsm_pool_list(h, &list, &cerr) != 0 {
			return takeError(cerr)
		}
		defer C.plsm_pool_list_free(&list)
		if list.len == 0 {
			return nil
		}
		entries := unsafe.Slice(list.entries, int(list.len))
		out = make([]PoolEntry, 0, len(entries))
		for i := range entries {
			e := &entries[i]
			pe := PoolEntry{Name: C.GoString(e.name), Path: C.GoString(e.path)}
			if e.error != nil {
				// The list owns its errors: copy, do not free.
				pe.Err = copyError(e.error)
			} else {
				pe.Info = infoFromC(&e.info)
			}
			out = append(out, pe)
		}
		return nil
	})
	return out, err
}

func copyError(e *C.plsm_error_t) error {
	out := &Error{Kind: ErrorKind(e.kind), Message: C.GoString(e.message)}
	if e.path != nil {
		out.Path = C.GoString(e.path)
	}
	if e.hint != nil {
		out.Hint = C.GoString(e.hint)
	}
	return out
}

// DeletePool deletes a pool file. Processes that have it open keep reading
// their mapping until they close it.
func (c *Client) DeletePool(ref string) error {
	return c.withRef(ref, func(h *C.plsm_client_t, cref *C.char) error {
		var cerr *C.plsm_error_t
		if C.plsm_pool_delete(h, cref, &cerr) != 0 {
			return takeError(cerr)
		}
		return nil
	})
}

// Bound is the seq and append time of a message at one end of a pool.
type Bound struct {
	Seq  uint64
	Time time.Time
}

// PoolInfo is what a pool retains.
type PoolInfo struct {
	Path          string
	FileSize      uint64
	IndexOffset   uint64
	IndexCapacity uint64
	RingOffset    uint64
	RingSize      uint64
	MaxPayload    uint64 // largest message payload (tags plus data) accepted
	Created       time.Time
	Count         uint64 // the seq span from oldest to newest
	UsedBytes     uint64
	Oldest        *Bound // nil when the pool is empty
	Newest        *Bound // nil when the pool is empty
}

// PoolEntry is one pool of a listing.
type PoolEntry struct {
	Name string
	Path string
	Info PoolInfo // zero when Err is set
	Err  error    // why the pool could not be read, or nil
}

func infoFromC(ci *C.plsm_pool_info_t) PoolInfo {
	info := PoolInfo{
		FileSize:      uint64(ci.file_size),
		IndexOffset:   uint64(ci.index_offset),
		IndexCapacity: uint64(ci.index_capacity),
		RingOffset:    uint64(ci.ring_offset),
		RingSize:      uint64(ci.ring_size),
		MaxPayload:    uint64(ci.max_payload),
		Created:       time.Unix(0, int64(ci.created_ns)).UTC(),
		Count:         uint64(ci.count),
		UsedBytes:     uint64(ci.used_bytes),
	}
	if ci.path != nil {
		info.Path = C.GoString(ci.path)
	}
	if ci.has_oldest != 0 {
		info.Oldest = &Bound{uint64(ci.oldest_seq), time.Unix(0, int64(ci.oldest_time_ns)).UTC()}
	}
	if ci.has_newest != 0 {
		info.Newest = &Bound{uint64(ci.newest_seq), time.Unix(0, int64(ci.newest_time_ns)).UTC()}
	}
	return info
}

// Message is a message read from a pool.
type Message struct {
	Seq  uint64
	Time time.Time
	Tags []string
	Data json.RawMessage // the data object as stored: compact, key order kept
}

type envelope struct {
	Data json.RawMessage `json:"data"`
	Meta struct {
		Tags []string `json:"tags"`
	} `json:"meta"`
	Seq  uint64 `json:"seq"`
	Time string `json:"time"`
}

// ParseMessage parses an envelope, {"data":…,"meta":{"tags":[…]},"seq":N,
// "time":"RFC 3339"}, as GetJSON, NextJSON and Tail return it.
func ParseMessage(envelopeJSON []byte) (*Message, error) {
	var e envelope
	if err := json.Unmarshal(envelopeJSON, &e); err != nil {
		return nil, fmt.Errorf("plasmite: bad envelope: %w", err)
	}
	t, err := time.Parse(time.RFC3339Nano, e.Time)
	if err != nil {
		return nil, fmt.Errorf("plasmite: bad envelope time: %w", err)
	}
	if e.Meta.Tags == nil {
		e.Meta.Tags = []string{}
	}
	return &Message{Seq: e.Seq, Time: t, Tags: e.Meta.Tags, Data: e.Data}, nil
}
