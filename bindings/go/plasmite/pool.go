package plasmite

/*
#include <stdlib.h>
#include "plasmite.h"
*/
import "C"

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Pool is an open pool. Safe for concurrent use; Close it when done
// (streams opened from it stay usable).
type Pool struct {
	mu  sync.RWMutex
	ptr *C.plsm_pool_t
}

func newPool(ptr *C.plsm_pool_t) *Pool {
	p := &Pool{ptr: ptr}
	runtime.SetFinalizer(p, (*Pool).Close)
	return p
}

// Close closes the pool handle. Closing twice is harmless.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ptr != nil {
		C.plsm_pool_free(p.ptr)
		p.ptr = nil
		runtime.SetFinalizer(p, nil)
	}
	return nil
}

func (p *Pool) with(f func(*C.plsm_pool_t) error) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.ptr == nil {
		return ErrClosed
	}
	return f(p.ptr)
}

// Receipt is what an append returns: the message's seq and append time.
type Receipt struct {
	Seq  uint64
	Time time.Time
}

// emptyByte stands in for the data pointer of an empty slice (C refuses
// NULL; the library then reports the empty input as a Usage error).
var emptyByte [1]byte

func bytesPtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return (*C.uint8_t)(unsafe.Pointer(&emptyByte[0]))
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

// AppendJSON appends one message whose data is the JSON object text data
// (stored compact, key order and number spelling kept) and returns the
// stored message's envelope, {"data":…,"meta":{"tags":[…]},"seq":N,
// "time":"…"}.
func (p *Pool) AppendJSON(data []byte, tags []string, d Durability) ([]byte, error) {
	ctags, ntags, free, err := cStrings(tags, "tags")
	if err != nil {
		return nil, err
	}
	defer free()
	var out []byte
	err = p.with(func(h *C.plsm_pool_t) error {
		var buf C.plsm_buf_t
		var cerr *C.plsm_error_t
		if C.plsm_pool_append_json(h, bytesPtr(data), C.size_t(len(data)), ctags, ntags,
			C.uint32_t(d), &buf, &cerr) != 0 {
			return takeError(cerr)
		}
		out = C.GoBytes(unsafe.Pointer(buf.data), C.int(buf.len))
		C.plsm_buf_free(&buf)
		return nil
	})
	runtime.KeepAlive(data)
	return out, err
}

// Append appends one message and returns its seq and time. v is encoded
// with encoding/json, except that []byte and json.RawMessage are taken as
// JSON text as they are. The data must be a JSON object.
func (p *Pool) Append(v interface{}, tags []string, d Durability) (Receipt, error) {
	var data []byte
	switch x := v.(type) {
	case []byte:
		data = x
	case json.RawMessage:
		data = x
	default:
		var err error
		if data, err = json.Marshal(v); err != nil {
			return Receipt{}, &Error{Kind: ErrorUsage, Message: "cannot encode data: " + err.Error()}
		}
	}
	ctags, ntags, free, err := cStrings(tags, "tags")
	if err != nil {
		return Receipt{}, err
	}
	defer free()
	var r C.plsm_receipt_t
	err = p.with(func(h *C.plsm_pool_t) error {
		var cerr *C.plsm_error_t
		if C.plsm_pool_append(h, bytesPtr(data), C.size_t(len(data)), ctags, ntags,
			C.uint32_t(d), &r, &cerr) != 0 {
			return takeError(cerr)
		}
		return nil
	})
	runtime.KeepAlive(data)
	if err != nil {
		return Receipt{}, err
	}
	return Receipt{Seq: uint64(r.seq), Time: time.Unix(0, int64(r.time_ns)).UTC()}, nil
}

// GetJSON returns the envelope of the message seq. A message never written
// or already evicted is an ErrorNotFound error with Seq set.
func (p *Pool) GetJSON(seq uint64) ([]byte, error) {
	var out []byte
	err := p.with(func(h *C.plsm_pool_t) error {
		var buf C.plsm_buf_t
		var cerr *C.plsm_error_t
		if C.plsm_pool_get_json(h, C.uint64_t(seq), &buf, &cerr) != 0 {
			return takeError(cerr)
		}
		out = C.GoBytes(unsafe.Pointer(buf.data), C.int(buf.len))
		C.plsm_buf_free(&buf)
		return nil
	})
	return out, err
}

// Get returns the message seq, parsed.
func (p *Pool) Get(seq uint64) (*Message, error) {
	env, err := p.GetJSON(seq)
	if err != nil {
		return nil, err
	}
	return ParseMessage(env)
}

// Info reports what the pool retains right now.
func (p *Pool) Info() (PoolInfo, error) {
	var info PoolInfo
	err := p.with(func(h *C.plsm_pool_t) error {
		var ci C.plsm_pool_info_t
		var cerr *C.plsm_error_t
		if C.plsm_pool_handle_info(h, &ci, &cerr) != 0 {
			return takeError(cerr)
		}
		info = infoFromC(&ci)
		C.plsm_pool_info_free(&ci)
		return nil
	})
	return info, err
}

// TailOptions say where a stream starts, which messages it keeps and when
// it ends. The zero value reads every retained message, then follows the
// pool until closed or cancelled.
//
// With a Name the stream is a durable named reader: its position is kept in
// the pool file, so the next stream of that name (in this process or any
// other, after a crash too) resumes right after the last message it
// acknowledged. See Name and ManualAck.
type TailOptions struct {
	// SinceSeq starts at the first retained message with seq >= SinceSeq
	// (0: the oldest).
	SinceSeq uint64
	// Last, when > 0, starts at the last Last messages that pass the
	// filters. Not together with SinceSeq or OnlyNew.
	Last uint64
	// OnlyNew starts after the newest message: only messages appended from
	// now on.
	OnlyNew bool
	// MaxMessages ends the stream after this many messages (0: no limit).
	MaxMessages uint64
	// Tags keeps only messages carrying every one of them.
	Tags []string
	// Where keeps only messages every one of these jq predicates accepts,
	// as `pls peek --where` (e.g. `.data.level == "error"`).
	Where []string
	// IdleTimeout ends the stream when no message has been delivered for
	// this long, counted from the open, then from each message (0: never).
	IdleTimeout time.Duration
	// Buffer is the capacity of the channel Tail returns (default 64). A
	// named Tail ignores it: its channel is unbuffered (see Pool.Tail).
	Buffer int
	// Name, when not empty, makes the stream a durable named reader: 1 to
	// 32 bytes of A-Z a-z 0-9 . _ - (anything else is a Usage error when
	// the stream opens). The first stream of a name creates the reader
	// where SinceSeq, Last or OnlyNew say; later streams of that name
	// ignore those options and resume right after its last acknowledged
	// message. Messages the ring evicted while the reader was away count
	// in StreamStats.Dropped. A pool has a few reader slots (Pool.Readers
	// lists them, Pool.DeleteReader frees one); when all are taken, opening
	// a new name is a Busy error.
	Name string
	// ManualAck, with a Name, stores the reader's position only when
	// Stream.Ack is called. The zero value (false) acknowledges each
	// message when the next one is asked for (Stream.NextJSON and friends),
	// so a loop that reads, handles and reads again is at-least-once with
	// no Ack calls: the message in hand when the process dies or the
	// stream is closed comes again to the next stream of that name.
	// Ignored without a Name. Pool.Tail refuses it (its consumer has no
	// Stream to call Ack on).
	ManualAck bool
}

// pollSlice bounds each wait inside the library, so that Close and context
// cancellation are noticed promptly. Messages still arrive at once: the
// library sleeps on the pool's futex, which a writer wakes.
const pollSlice = 50 * time.Millisecond

// Stream reads a pool in order, as TailOptions say. Reads are for one
// goroutine at a time; Close may be called from any goroutine and makes a
// blocked read return ErrClosed.
//
// A named stream (TailOptions.Name) is the way to consume a pool
// at-least-once: with automatic acknowledgement (the default) a message is
// acknowledged only when the caller asks for the next one, and with
// ManualAck only when the caller calls Ack. It fetches one message per
// library call (an unnamed stream fetches batches), so that the library
// never holds, and acknowledges, a message the caller has not been given.
type Stream struct {
	mu     sync.Mutex
	ptr    *C.plsm_stream_t
	closed int32 // atomic: set by Close before it takes mu
	// batch is the most messages one library call fetches: 1 for a named
	// stream, whose acknowledgement covers everything the library
	// delivered.
	batch C.size_t
	// lines is the unread rest of the last batch: a Go copy of its JSON
	// Lines, of which the envelopes handed out are slices. Only the reading
	// goroutine touches it.
	lines []byte
}

// Batch limits of one plsm_stream_poll_lines call: one cgo call and one
// lock per batch instead of per message. Under 32 KiB a batch's Go copy is
// a small allocation; at 64 KiB each took the heap lock (10 % of a read).
const (
	batchMessages = 1024
	batchBytes    = 24 << 10
)

// OpenStream opens a stream over the pool. With opts.Name it opens (or
// creates) that durable named reader: see TailOptions.Name.
func (p *Pool) OpenStream(opts TailOptions) (*Stream, error) {
	return p.openStream(opts, opts.ManualAck)
}

// openStream is OpenStream with the library's acknowledgement mode of a
// named stream chosen by the caller (Tail acknowledges by itself).
func (p *Pool) openStream(opts TailOptions, manualAck bool) (*Stream, error) {
	if opts.Last > 0 && (opts.SinceSeq > 0 || opts.OnlyNew) || opts.SinceSeq > 0 && opts.OnlyNew {
		return nil, usageError("SinceSeq, Last and OnlyNew cannot be combined")
	}
	ctags, ntags, freeTags, err := cStrings(opts.Tags, "tags")
	if err != nil {
		return nil, err
	}
	defer freeTags()
	cwhere, nwhere, freeWhere, err := cStrings(opts.Where, "where")
	if err != nil {
		return nil, err
	}
	defer freeWhere()
	var o C.plsm_tail_options_t
	if opts.SinceSeq > 0 {
		o.has_since_seq, o.since_seq = 1, C.uint64_t(opts.SinceSeq)
	}
	if opts.Last > 0 || opts.OnlyNew {
		o.has_last, o.last = 1, C.uint64_t(opts.Last)
	}
	if opts.MaxMessages > 0 {
		o.has_max, o.max = 1, C.uint64_t(opts.MaxMessages)
	}
	if opts.IdleTimeout > 0 {
		ms := opts.IdleTimeout.Milliseconds()
		if ms == 0 {
			ms = 1
		}
		o.has_idle_timeout, o.idle_timeout_ms = 1, C.uint64_t(ms)
	}
	o.tags, o.tags_len = ctags, ntags
	o.where_exprs, o.where_len = cwhere, nwhere
	batch := C.size_t(batchMessages)
	if opts.Name != "" {
		cname, err := cString(opts.Name, "reader name")
		if err != nil {
			return nil, err
		}
		defer C.free(unsafe.Pointer(cname))
		o.name = cname
		if manualAck {
			o.manual_ack = 1
		}
		// The library acknowledges everything it has returned (a whole
		// batch, on the next read or on plsm_stream_ack). Fetching one
		// message at a time keeps that to what the caller was given: Ack
		// never covers a message still queued here, and a crash brings
		// back only the message in hand, not the rest of a batch.
		batch = 1
	}
	var ptr *C.plsm_stream_t
	err = p.with(func(h *C.plsm_pool_t) error {
		var cerr *C.plsm_error_t
		if C.plsm_tail_open(h, &o, &ptr, &cerr) != 0 {
			return takeError(cerr)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s := &Stream{ptr: ptr, batch: batch}
	runtime.SetFinalizer(s, (*Stream).Close)
	return s, nil
}

// Close frees the stream; a read blocked in another goroutine returns
// ErrClosed within a poll slice. Closing twice is harmless. Closing a named
// stream acknowledges nothing: the message last returned (and, with
// ManualAck, every one since the last Ack) comes again to the next stream
// of that name.
func (s *Stream) Close() error {
	atomic.StoreInt32(&s.closed, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr != nil {
		C.plsm_stream_free(s.ptr)
		s.ptr = nil
		runtime.SetFinalizer(s, nil)
	}
	return nil
}

// poll waits at most wait for the next message: its envelope, or nil when
// nothing came (pending), or io.EOF at the end.
func (s *Stream) poll(wait time.Duration) ([]byte, error) {
	// The rest of a batch is the reading goroutine's own (Close leaves it
	// alone): no lock needed to hand out the next envelope.
	if len(s.lines) > 0 && atomic.LoadInt32(&s.closed) == 0 {
		return s.take(), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil || atomic.LoadInt32(&s.closed) != 0 {
		return nil, ErrClosed
	}
	if len(s.lines) == 0 {
		var view C.plsm_view_t
		var count C.size_t
		var cerr *C.plsm_error_t
		switch C.plsm_stream_poll_lines(s.ptr, C.int64_t(wait.Milliseconds()), s.batch, batchBytes,
			&view, &count, &cerr) {
		case C.PLSM_STREAM_MESSAGE:
			// One Go copy per batch (the C buffer is reused by the next
			// call); each envelope is a slice of it. An allocation per
			// message cost more than the rest of the read.
			s.lines = C.GoBytes(unsafe.Pointer(view.data), C.int(view.len))
		case C.PLSM_STREAM_PENDING:
			return nil, nil
		case C.PLSM_STREAM_END:
			return nil, io.EOF
		default:
			return nil, takeError(cerr)
		}
	}
	return s.take(), nil
}

// take cuts the next envelope off the current batch, which is not empty.
func (s *Stream) take() []byte {
	i := bytes.IndexByte(s.lines, '\n')
	if i < 0 {
		i = len(s.lines)
	}
	// Capacity ends with the envelope: an append by the caller copies
	// rather than overwriting the next one.
	env := s.lines[:i:i]
	if i < len(s.lines) {
		i++
	}
	s.lines = s.lines[i:]
	return env
}

// NextJSON waits for the next message and returns its envelope, or io.EOF
// once the stream is over (MaxMessages reached, or IdleTimeout passed). On
// a named stream without ManualAck, calling it acknowledges the message it
// returned last. The envelope is the caller's to keep; it shares memory
// with the others of its batch (about 24 KiB), which stays allocated while
// any of them is referenced.
func (s *Stream) NextJSON() ([]byte, error) {
	for {
		env, err := s.poll(pollSlice)
		if env != nil || err != nil {
			return env, err
		}
	}
}

// NextJSONContext is NextJSON that also returns ctx.Err() when ctx ends
// first.
func (s *Stream) NextJSONContext(ctx context.Context) ([]byte, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		env, err := s.poll(pollSlice)
		if env != nil || err != nil {
			return env, err
		}
	}
}

// Next is NextJSON, parsed.
func (s *Stream) Next() (*Message, error) {
	env, err := s.NextJSON()
	if err != nil {
		return nil, err
	}
	return ParseMessage(env)
}

// StreamStats are a stream's counters.
type StreamStats struct {
	Delivered uint64 // messages delivered so far
	// Dropped counts messages writers evicted before the stream could read
	// them: overtaken by the ring while reading, and, for a named stream,
	// missed while the reader was away (between its last acknowledged
	// message and the oldest still retained when it reopened).
	Dropped uint64
	Damaged uint64 // damaged frames stepped over
	NextSeq uint64 // the seq read next (resume later with SinceSeq)
}

// Stats reports the stream's counters.
func (s *Stream) Stats() (StreamStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return StreamStats{}, ErrClosed
	}
	var st C.plsm_stream_stats_t
	var cerr *C.plsm_error_t
	if C.plsm_stream_stats(s.ptr, &st, &cerr) != 0 {
		return StreamStats{}, takeError(cerr)
	}
	out := StreamStats{uint64(st.delivered), uint64(st.dropped), uint64(st.damaged), uint64(st.next_seq)}
	// Messages fetched in the current batch but not yet returned are not
	// delivered yet, and the first of them is the one read next.
	if queued := bytes.Count(s.lines, []byte{'\n'}); queued > 0 {
		out.Delivered -= uint64(queued)
		out.NextSeq = envelopeSeq(s.lines[:bytes.IndexByte(s.lines, '\n')])
	}
	return out, nil
}

// envelopeSeq reads the seq of an envelope without parsing it: the last
// `,"seq":` is the envelope's own (data and tags come before it, the time
// string after it holds none).
func envelopeSeq(env []byte) uint64 {
	key := []byte(`,"seq":`)
	i := bytes.LastIndex(env, key)
	if i < 0 {
		return 0
	}
	var n uint64
	for _, c := range env[i+len(key):] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}

// Ack acknowledges every message the stream has returned so far: for a
// named stream it stores the reader's position in the pool (one atomic
// store, no system call; it survives the process, not a power cut), so the
// next stream of that name starts after them. Needed with
// TailOptions.ManualAck; without it, it acknowledges the message in hand
// early. Does nothing for an unnamed stream. It waits for a read in
// progress in another goroutine (at most a poll slice, 50 ms).
func (s *Stream) Ack() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return ErrClosed
	}
	var cerr *C.plsm_error_t
	if C.plsm_stream_ack(s.ptr, &cerr) != 0 {
		return takeError(cerr)
	}
	return nil
}

// AckThrough acknowledges the messages of a named stream up to and
// including seq, never past what the stream delivered (it may move the
// stored position back): for a consumer that hands messages on and learns
// later which ones were handled. It does nothing for an unnamed stream.
func (s *Stream) AckThrough(seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return ErrClosed
	}
	var cerr *C.plsm_error_t
	if C.plsm_stream_ack_through(s.ptr, C.uint64_t(seq), &cerr) != 0 {
		return takeError(cerr)
	}
	return nil
}

// Reader is a durable named reader of a pool (see TailOptions.Name) and its
// position.
type Reader struct {
	Name string
	// NextSeq is the seq the reader reads next: every message before it
	// is acknowledged.
	NextSeq uint64
	// Acked is when it last acknowledged (its creation, until it does).
	Acked time.Time
	// Created is when it was created.
	Created time.Time
}

// Readers lists the pool's durable named readers and their positions.
func (p *Pool) Readers() ([]Reader, error) {
	var out []Reader
	err := p.with(func(h *C.plsm_pool_t) error {
		var list C.plsm_reader_list_t
		var cerr *C.plsm_error_t
		if C.plsm_pool_readers(h, &list, &cerr) != 0 {
			return takeError(cerr)
		}
		defer C.plsm_reader_list_free(&list)
		out = make([]Reader, 0, int(list.len))
		if list.len == 0 {
			return nil
		}
		for _, r := range unsafe.Slice(list.entries, int(list.len)) {
			out = append(out, Reader{
				Name:    C.GoString(r.name),
				NextSeq: uint64(r.next_seq),
				Acked:   time.Unix(0, int64(r.acked_ns)).UTC(),
				Created: time.Unix(0, int64(r.created_ns)).UTC(),
			})
		}
		return nil
	})
	return out, err
}

// DeleteReader forgets the durable named reader name: the next stream of
// that name starts afresh, where its options say. No such reader is an
// ErrorNotFound error (with the pool's path); Busy when the pool's writer
// lock cannot be taken. A stream of that name still open stores nothing
// more.
func (p *Pool) DeleteReader(name string) error {
	cname, err := cString(name, "reader name")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cname))
	return p.with(func(h *C.plsm_pool_t) error {
		var cerr *C.plsm_error_t
		if C.plsm_pool_delete_reader(h, cname, &cerr) != 0 {
			return takeError(cerr)
		}
		return nil
	})
}

// Tail streams the pool's messages (envelopes) on a channel until the
// stream ends (MaxMessages, IdleTimeout) or ctx is cancelled. Both channels
// are closed when it stops; the error channel then holds at most one
// error: ctx.Err() on cancellation, or what the library reported (a bad
// jq predicate, for example). Filtering happens in the library.
//
// A named Tail (opts.Name) keeps its position in the pool and is
// at-least-once, like a Stream: the channel is unbuffered (opts.Buffer is
// ignored) and a message is acknowledged once the consumer has received the
// next one, which a loop that receives, handles and receives again does
// only after handling it. So the message being handled when the process
// dies or ctx is cancelled comes again to the next Tail of that name, as
// does the last one of a Tail that ended (MaxMessages, IdleTimeout): the
// sender cannot tell when the consumer finished it. A consumer that hands
// messages to other goroutines must track them itself: use OpenStream with
// ManualAck and Stream.AckThrough. opts.ManualAck is a Usage error here.
func (p *Pool) Tail(ctx context.Context, opts TailOptions) (<-chan []byte, <-chan error) {
	named := opts.Name != ""
	buffer := opts.Buffer
	if buffer <= 0 {
		buffer = 64
	}
	if named {
		buffer = 0
	}
	out := make(chan []byte, buffer)
	errs := make(chan error, 1)
	var s *Stream
	var err error
	if named && opts.ManualAck {
		err = usageError("a named Tail acknowledges by itself: ManualAck needs OpenStream and Stream.Ack")
	} else {
		// A named Tail acknowledges by itself, after each handover.
		s, err = p.openStream(opts, true)
	}
	if err != nil {
		errs <- err
		close(out)
		close(errs)
		return out, errs
	}
	go func() {
		defer close(errs)
		defer close(out)
		defer s.Close()
		// For a named Tail: the stream's next seq just after the last
		// message handed over was read (named streams read one at a time).
		var handed uint64
		for {
			if err := ctx.Err(); err != nil {
				errs <- err
				return
			}
			env, err := s.poll(pollSlice)
			if err == io.EOF {
				return
			}
			if err != nil {
				errs <- err
				return
			}
			if env == nil {
				continue
			}
			select {
			case out <- env:
			case <-ctx.Done():
				errs <- ctx.Err()
				return
			}
			if named {
				// The consumer took this message, so it is done with the one
				// before (the channel is unbuffered).
				if handed > 0 {
					if err := s.AckThrough(handed - 1); err != nil {
						errs <- err
						return
					}
				}
				st, err := s.Stats()
				if err != nil {
					errs <- err
					return
				}
				handed = st.NextSeq
			}
		}
	}()
	return out, errs
}
