package plasmite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func testClient(t *testing.T) (*Client, string) {
	t.Helper()
	dir := t.TempDir()
	c, err := NewClient(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, dir
}

func create(t *testing.T, c *Client, name string) *Pool {
	t.Helper()
	p, err := c.CreatePool(name, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// wantKind checks err is an *Error of kind k (through errors.As).
func wantKind(t *testing.T, err error, k ErrorKind) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want a *plasmite.Error of kind %v, got %v (%T)", k, err, err)
	}
	if e.Kind != k {
		t.Fatalf("want kind %v, got %v: %v", k, e.Kind, e)
	}
	return e
}

func TestRoundTrip(t *testing.T) {
	c, dir := testClient(t)
	p := create(t, c, "chat")
	env, err := p.AppendJSON([]byte(`{ "from": "alice", "n": 1.5e3 }`), []string{"greeting"}, DurabilityFlush)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(env, []byte(`{"data":{"from":"alice","n":1.5e3},"meta":{"tags":["greeting"]},"seq":1,"time":"`)) {
		t.Fatalf("envelope %s", env)
	}
	r, err := p.Append(map[string]interface{}{"msg": "héllo ✓"}, nil, DurabilityFast)
	if err != nil || r.Seq != 2 || time.Since(r.Time) > time.Minute {
		t.Fatalf("append: %+v %v", r, err)
	}
	r, err = p.Append(json.RawMessage(`{"raw":true}`), []string{"a", "b"}, DurabilityFast)
	if err != nil || r.Seq != 3 {
		t.Fatalf("append raw: %+v %v", r, err)
	}
	m, err := p.Get(2)
	if err != nil {
		t.Fatal(err)
	}
	if m.Seq != 2 || string(m.Data) != `{"msg":"héllo ✓"}` || len(m.Tags) != 0 {
		t.Fatalf("get: %+v", m)
	}
	m, err = p.Get(3)
	if err != nil || strings.Join(m.Tags, ",") != "a,b" {
		t.Fatalf("get 3: %+v %v", m, err)
	}
	env, err = p.GetJSON(1)
	if err != nil || !bytes.Contains(env, []byte(`"seq":1`)) {
		t.Fatalf("get json: %s %v", env, err)
	}

	info, err := p.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.FileSize != 1<<20 || info.Oldest == nil || info.Oldest.Seq != 1 || info.Newest.Seq != 3 ||
		info.Path != filepath.Join(dir, "chat.plasmite") {
		t.Fatalf("info: %+v", info)
	}
	info2, err := c.PoolInfo("chat")
	if err != nil || info2.Newest.Seq != 3 {
		t.Fatalf("client info: %+v %v", info2, err)
	}

	// A path ref (with '/') works as well as a name.
	p2, err := c.OpenPool(filepath.Join(dir, "chat.plasmite"))
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	if _, err := p2.GetJSON(3); err != nil {
		t.Fatal(err)
	}
}

func TestErrorKinds(t *testing.T) {
	c, dir := testClient(t)
	p := create(t, c, "keep")
	if _, err := p.Append(map[string]int{"v": 1}, nil, DurabilityFast); err != nil {
		t.Fatal(err)
	}

	// Creating an existing pool never truncates it.
	_, err := c.CreatePool("keep", 0)
	e := wantKind(t, err, ErrorAlreadyExists)
	if e.Path == "" || e.Hint == "" {
		t.Fatalf("want path and hint: %+v", e)
	}
	if _, err := p.GetJSON(1); err != nil {
		t.Fatal(err)
	}

	_, err = c.OpenPool("nope")
	e = wantKind(t, err, ErrorNotFound)
	if !strings.Contains(e.Message, "not found") || !strings.HasSuffix(e.Path, "nope.plasmite") || e.Seq != nil {
		t.Fatalf("%+v", e)
	}
	if KindOf(fmt.Errorf("wrapped: %w", err)) != ErrorNotFound {
		t.Fatal("KindOf through wrapping")
	}
	if !strings.HasPrefix(err.Error(), "plasmite: NotFound: ") {
		t.Fatalf("Error(): %s", err)
	}
	_, err = c.PoolInfo("nope")
	wantKind(t, err, ErrorNotFound)
	wantKind(t, c.DeletePool("nope"), ErrorNotFound)

	_, err = p.GetJSON(42)
	e = wantKind(t, err, ErrorNotFound)
	if e.Seq == nil || *e.Seq != 42 {
		t.Fatalf("want seq 42: %+v", e)
	}

	type namedErr struct {
		name string
		err  error
	}
	var usage []namedErr
	add := func(name string, err error) { usage = append(usage, namedErr{name, err}) }
	_, err = NewClient("")
	add("empty dir", err)
	_, err = NewClient("a\x00b")
	add("NUL in dir", err)
	_, err = c.CreatePool("..", 0)
	add("bad name", err)
	_, err = c.CreatePool("tiny", 100)
	add("too small", err)
	_, err = c.OpenPool("bad\xff")
	add("non-UTF-8 ref", err)
	_, err = p.AppendJSON([]byte(`{"a":`), nil, DurabilityFast)
	add("bad JSON", err)
	_, err = p.AppendJSON([]byte(`[1,2]`), nil, DurabilityFast)
	add("array", err)
	_, err = p.AppendJSON(nil, nil, DurabilityFast)
	add("empty", err)
	_, err = p.Append("just a string", nil, DurabilityFast)
	add("non-object", err)
	_, err = p.Append(make(chan int), nil, DurabilityFast)
	add("unencodable", err)
	_, err = p.Append(json.RawMessage(`{"a":1}`), []string{"x\x00y"}, DurabilityFast)
	add("NUL in tag", err)
	_, err = p.Append(json.RawMessage(`{"a":1}`), []string{"bad\xff"}, DurabilityFast)
	add("non-UTF-8 tag", err)
	_, err = p.Append(json.RawMessage(`{"a":1}`), nil, Durability(7))
	add("bad durability", err)
	_, err = p.OpenStream(TailOptions{Where: []string{".data.i >"}})
	add("bad where", err)
	_, err = p.OpenStream(TailOptions{SinceSeq: 2, Last: 1})
	add("since and last", err)
	for _, u := range usage {
		if KindOf(u.err) != ErrorUsage {
			t.Errorf("%s: want Usage, got %v", u.name, u.err)
		}
	}

	// Corrupt header: Corrupt with a path; listing shows it with its error.
	create(t, c, "broken")
	f, err := os.OpenFile(filepath.Join(dir, "broken.plasmite"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(bytes.Repeat([]byte{0xA5}, 64))
	f.Close()
	_, err = c.OpenPool("broken")
	if e := wantKind(t, err, ErrorCorrupt); e.Path == "" {
		t.Fatal("corrupt without path")
	}
	list, err := c.ListPools()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "broken" || KindOf(list[0].Err) != ErrorCorrupt ||
		list[1].Name != "keep" || list[1].Err != nil || list[1].Info.FileSize != 1<<20 {
		t.Fatalf("list: %+v", list)
	}
	if err := c.DeletePool("broken"); err != nil {
		t.Fatal(err)
	}
	list, _ = c.ListPools()
	if len(list) != 1 {
		t.Fatalf("after delete: %+v", list)
	}
}

func TestClosedHandles(t *testing.T) {
	c, _ := testClient(t)
	p := create(t, c, "x")
	s, err := p.OpenStream(TailOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	p.Close()
	if _, err := p.GetJSON(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("pool: %v", err)
	}
	if _, err := p.Append(json.RawMessage(`{}`), nil, DurabilityFast); !errors.Is(err, ErrClosed) {
		t.Fatalf("pool append: %v", err)
	}
	// The stream keeps its pool open by itself.
	if env, err := s.poll(0); env != nil || err != nil {
		t.Fatalf("stream after pool close: %s %v", env, err)
	}
	s.Close()
	if _, err := s.NextJSON(); !errors.Is(err, ErrClosed) {
		t.Fatalf("stream: %v", err)
	}
	c.Close()
	if _, err := c.OpenPool("x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("client: %v", err)
	}
	if _, err := c.ListPools(); !errors.Is(err, ErrClosed) {
		t.Fatalf("client list: %v", err)
	}
}

func fill(t *testing.T, p *Pool) {
	t.Helper()
	for i := 1; i <= 10; i++ {
		kind := "odd"
		if i%2 == 0 {
			kind = "even"
		}
		tags := []string{kind}
		if i >= 8 {
			tags = append(tags, "big")
		}
		if _, err := p.Append(map[string]interface{}{"i": i, "kind": kind}, tags, DurabilityFast); err != nil {
			t.Fatal(err)
		}
	}
}

// seqs drains a stream with NextJSON.
func seqs(t *testing.T, s *Stream) []uint64 {
	t.Helper()
	defer s.Close()
	var out []uint64
	for {
		m, err := s.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m.Seq)
	}
}

func TestStreamFilters(t *testing.T) {
	c, _ := testClient(t)
	p := create(t, c, "events")
	fill(t, p)
	idle := 50 * time.Millisecond
	cases := []struct {
		name string
		opts TailOptions
		want string
	}{
		{"max", TailOptions{MaxMessages: 3}, "[1 2 3]"},
		{"since", TailOptions{SinceSeq: 8, IdleTimeout: idle}, "[8 9 10]"},
		{"tags and", TailOptions{Tags: []string{"even", "big"}, IdleTimeout: idle}, "[8 10]"},
		{"where and", TailOptions{Where: []string{".data.i >= 5", `.data.kind == "odd"`}, IdleTimeout: idle}, "[5 7 9]"},
		{"last matches", TailOptions{Last: 2, Tags: []string{"odd"}, IdleTimeout: idle}, "[7 9]"},
		{"only new", TailOptions{OnlyNew: true, IdleTimeout: idle}, "[]"},
	}
	for _, tc := range cases {
		s, err := p.OpenStream(tc.opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := fmt.Sprint(seqs(t, s)); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}

	// A predicate with a non-boolean result fails at the first message.
	s, err := p.OpenStream(TailOptions{Where: []string{".data.i"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.NextJSON()
	wantKind(t, err, ErrorUsage)
	s.Close()

	// Stats.
	s, _ = p.OpenStream(TailOptions{MaxMessages: 4})
	seqs(t, s)
	if _, err := s.Stats(); !errors.Is(err, ErrClosed) {
		t.Fatal("stats after close")
	}
	// Stats count what was returned, not what a batch fetched ahead; data
	// with a "seq" key does not confuse them.
	p.Append(json.RawMessage(`{"a":1,"seq":99}`), nil, DurabilityFast)
	s, _ = p.OpenStream(TailOptions{SinceSeq: 9})
	s.NextJSON()
	st, err := s.Stats()
	if err != nil || st.Delivered != 1 || st.NextSeq != 10 {
		t.Fatalf("stats: %+v %v", st, err)
	}
	s.NextJSON()
	st, _ = s.Stats()
	if st.Delivered != 2 || st.NextSeq != 11 {
		t.Fatalf("stats: %+v", st)
	}
	s.NextJSON()
	st, _ = s.Stats()
	if st.Delivered != 3 || st.NextSeq != 12 {
		t.Fatalf("stats: %+v", st)
	}
	s.Close()
}

func TestIdleTimeoutRestartsPerMessage(t *testing.T) {
	c, _ := testClient(t)
	p := create(t, c, "idle")
	s, err := p.OpenStream(TailOptions{IdleTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := 0; i < 3; i++ {
			time.Sleep(100 * time.Millisecond)
			p.Append(json.RawMessage(`{"late":1}`), nil, DurabilityFast)
		}
	}()
	start := time.Now()
	got := seqs(t, s)
	took := time.Since(start)
	// Three messages 100 ms apart, then 500 ms of silence: longer than the
	// idle timeout in total, but never idle that long until the end.
	if len(got) != 3 || took < 800*time.Millisecond || took > 5*time.Second {
		t.Fatalf("got %v after %v", got, took)
	}
}

func TestTailContextCancel(t *testing.T) {
	c, _ := testClient(t)
	p := create(t, c, "live")
	ctx, cancel := context.WithCancel(context.Background())
	msgs, errs := p.Tail(ctx, TailOptions{})
	if _, err := p.Append(json.RawMessage(`{"n":1}`), nil, DurabilityFast); err != nil {
		t.Fatal(err)
	}
	select {
	case env := <-msgs:
		if !bytes.Contains(env, []byte(`"n":1`)) {
			t.Fatalf("got %s", env)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
	}
	// Nothing more comes; cancelling must end the tail promptly.
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	cancel()
	for range msgs {
		t.Fatal("unexpected message")
	}
	err := <-errs
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("cancellation took %v", d)
	}
	if _, ok := <-errs; ok {
		t.Fatal("error channel not closed")
	}

	// A deadline ends it too, and a tail with nothing ahead ends cleanly
	// by idle timeout with no error.
	ctx, cancel = context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	msgs, errs = p.Tail(ctx, TailOptions{OnlyNew: true})
	for range msgs {
	}
	if err := <-errs; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want DeadlineExceeded, got %v", err)
	}
	msgs, errs = p.Tail(context.Background(), TailOptions{OnlyNew: true, IdleTimeout: 50 * time.Millisecond})
	for range msgs {
	}
	if err := <-errs; err != nil {
		t.Fatalf("idle end: %v", err)
	}
	// An open error arrives on the error channel.
	msgs, errs = p.Tail(context.Background(), TailOptions{Where: []string{"("}})
	for range msgs {
	}
	wantKind(t, <-errs, ErrorUsage)
}

func TestCloseUnblocksNext(t *testing.T) {
	c, _ := testClient(t)
	p := create(t, c, "block")
	s, err := p.OpenStream(TailOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := s.NextJSON()
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	s.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("want ErrClosed, got %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock NextJSON")
	}
}

func TestConcurrentAppends(t *testing.T) {
	c, _ := testClient(t)
	p := create(t, c, "many")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if _, err := p.Append(map[string]int{"g": g, "i": i}, nil, DurabilityFast); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	s, _ := p.OpenStream(TailOptions{IdleTimeout: 50 * time.Millisecond})
	got := seqs(t, s)
	if len(got) != 800 || got[0] != 1 || got[799] != 800 {
		t.Fatalf("got %d messages", len(got))
	}
}

// A writer in another OS process (the pls binary) wakes a Tail here.
func TestTailSeesAnotherProcess(t *testing.T) {
	bin := os.Getenv("PLASMITE_BIN")
	if bin == "" {
		t.Skip("PLASMITE_BIN (the pls binary) is not set; bindings/go/test.sh sets it")
	}
	c, dir := testClient(t)
	p := create(t, c, "shared")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	msgs, errs := p.Tail(ctx, TailOptions{Tags: []string{"from-pls"}, MaxMessages: 2})
	time.Sleep(50 * time.Millisecond)
	for i := 1; i <= 3; i++ {
		tag := "from-pls"
		if i == 2 {
			tag = "other"
		}
		cmd := exec.Command(bin, "--dir", dir, "poke", "shared", fmt.Sprintf(`{"i":%d}`, i), "--tag", tag)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pls poke: %v: %s", err, out)
		}
	}
	var got []string
	for env := range msgs {
		m, err := ParseMessage(env)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(m.Data))
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != `{"i":1} {"i":3}` {
		t.Fatalf("got %v", got)
	}
}

func TestDefaultClient(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PLASMITE_DIR", dir)
	c, err := NewDefaultClient()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := c.CreatePool("d", 0)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if _, err := os.Stat(filepath.Join(dir, "d.plasmite")); err != nil {
		t.Fatal(err)
	}
}
