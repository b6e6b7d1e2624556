package plasmite

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nextSeq returns the seq of the next message of s, failing on anything
// else.
func nextSeq(t *testing.T, s *Stream) uint64 {
	t.Helper()
	m, err := s.Next()
	if err != nil {
		t.Fatalf("next: %v", err)
	}
	return m.Seq
}

// readerPos is the NextSeq of the named reader name (0 when absent).
func readerPos(t *testing.T, p *Pool, name string) uint64 {
	t.Helper()
	list, err := p.Readers()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range list {
		if r.Name == name {
			return r.NextSeq
		}
	}
	return 0
}

// openNamed opens a stream closed at the test's end. One that would follow
// the pool forever gets an idle timeout, so a failing test cannot hang.
func openNamed(t *testing.T, p *Pool, opts TailOptions) *Stream {
	t.Helper()
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = 2 * time.Second
	}
	s, err := p.OpenStream(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestNamedStreamResumesAfterAck(t *testing.T) {
	c, _ := testClient(t)
	p := create(t, c, "jobs")
	fill(t, p)
	idle := 100 * time.Millisecond
	// The first stream of a name starts where its options say...
	s := openNamed(t, p, TailOptions{Name: "worker", SinceSeq: 3, MaxMessages: 3})
	if got := fmt.Sprint(seqs(t, s)); got != "[3 4 5]" {
		t.Fatalf("first: %s", got)
	}
	// ...running into MaxMessages asked for more, so 5 is acknowledged.
	if pos := readerPos(t, p, "worker"); pos != 6 {
		t.Fatalf("position %d, want 6", pos)
	}
	// Later ones ignore the start options and resume after the last ack.
	s = openNamed(t, p, TailOptions{Name: "worker", SinceSeq: 1, IdleTimeout: idle})
	if got := fmt.Sprint(seqs(t, s)); got != "[6 7 8 9 10]" {
		t.Fatalf("resumed: %s", got)
	}
	// Filters apply to the named stream as to any other.
	p.Append(map[string]int{"i": 11}, []string{"odd"}, DurabilityFast)
	p.Append(map[string]int{"i": 12}, []string{"even"}, DurabilityFast)
	s = openNamed(t, p, TailOptions{Name: "worker", Tags: []string{"even"}, IdleTimeout: idle})
	if got := fmt.Sprint(seqs(t, s)); got != "[12]" {
		t.Fatalf("filtered: %s", got)
	}
	if pos := readerPos(t, p, "worker"); pos != 13 {
		t.Fatalf("position %d, want 13", pos)
	}
	// An unnamed stream neither reads nor moves a reader.
	s = openNamed(t, p, TailOptions{Last: 1, IdleTimeout: idle})
	if got := fmt.Sprint(seqs(t, s)); got != "[12]" {
		t.Fatalf("unnamed: %s", got)
	}
	if list, _ := p.Readers(); len(list) != 1 {
		t.Fatalf("readers: %+v", list)
	}
}

func TestNamedAutoVersusManualAck(t *testing.T) {
	c, _ := testClient(t)
	p := create(t, c, "jobs")
	fill(t, p)

	// Automatic: a message is acknowledged when the next is asked for, and
	// the stream fetches nothing ahead of what it returned.
	auto := openNamed(t, p, TailOptions{Name: "auto"})
	if seq := nextSeq(t, auto); seq != 1 {
		t.Fatalf("auto first %d", seq)
	}
	if pos := readerPos(t, p, "auto"); pos != 1 {
		t.Fatalf("auto: 1 is in hand, position %d", pos)
	}
	if st, _ := auto.Stats(); st.Delivered != 1 || st.NextSeq != 2 {
		t.Fatalf("auto stats %+v", st)
	}
	nextSeq(t, auto)
	if pos := readerPos(t, p, "auto"); pos != 2 {
		t.Fatalf("auto: after asking for 2, position %d", pos)
	}
	// Ack acknowledges the message in hand early.
	if err := auto.Ack(); err != nil {
		t.Fatal(err)
	}
	if pos := readerPos(t, p, "auto"); pos != 3 {
		t.Fatalf("auto: after Ack, position %d", pos)
	}

	// Manual: nothing is stored until Ack, which covers all returned.
	manual := openNamed(t, p, TailOptions{Name: "manual", ManualAck: true})
	for want := uint64(1); want <= 4; want++ {
		if seq := nextSeq(t, manual); seq != want {
			t.Fatalf("manual read %d, want %d", seq, want)
		}
	}
	if pos := readerPos(t, p, "manual"); pos != 1 {
		t.Fatalf("manual: nothing acked yet, position %d", pos)
	}
	if err := manual.Ack(); err != nil {
		t.Fatal(err)
	}
	if pos := readerPos(t, p, "manual"); pos != 5 {
		t.Fatalf("manual: after Ack, position %d", pos)
	}
	nextSeq(t, manual)
	nextSeq(t, manual)
	manual.Close()
	// 5 and 6 were never acknowledged: they come again.
	manual = openNamed(t, p, TailOptions{Name: "manual", ManualAck: true, MaxMessages: 1})
	if got := fmt.Sprint(seqs(t, manual)); got != "[5]" {
		t.Fatalf("manual again: %s", got)
	}
	if err := manual.Ack(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ack after Close: %v", err)
	}

	// Ack on an unnamed stream does nothing, successfully.
	plain := openNamed(t, p, TailOptions{MaxMessages: 1})
	nextSeq(t, plain)
	if err := plain.Ack(); err != nil {
		t.Fatal(err)
	}
	// ManualAck without a Name is ignored.
	plain = openNamed(t, p, TailOptions{ManualAck: true, SinceSeq: 10, MaxMessages: 1})
	if got := fmt.Sprint(seqs(t, plain)); got != "[10]" {
		t.Fatalf("ManualAck alone: %s", got)
	}
	if list, _ := p.Readers(); len(list) != 2 {
		t.Fatalf("readers: %+v", list)
	}
}

// The message in hand when a named stream is closed (or its process dies)
// was not acknowledged: the next stream of that name gets it again.
func TestNamedAtLeastOnceForMessageInHand(t *testing.T) {
	c, _ := testClient(t)
	p := create(t, c, "jobs")
	fill(t, p)
	s := openNamed(t, p, TailOptions{Name: "w"})
	nextSeq(t, s)
	if seq := nextSeq(t, s); seq != 2 {
		t.Fatalf("got %d", seq)
	}
	s.Close()
	s = openNamed(t, p, TailOptions{Name: "w", MaxMessages: 2})
	if got := fmt.Sprint(seqs(t, s)); got != "[2 3]" {
		t.Fatalf("after close: %s", got)
	}
	// A read cut short by Close from another goroutine acknowledges
	// nothing more either.
	s = openNamed(t, p, TailOptions{Name: "w", SinceSeq: 4})
	if seq := nextSeq(t, s); seq != 4 {
		t.Fatalf("got %d", seq)
	}
	s.Close()
	if _, err := s.NextJSON(); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	if pos := readerPos(t, p, "w"); pos != 4 {
		t.Fatalf("position %d, want 4 (4 still in hand)", pos)
	}
}

func TestReadersAndDeleteReader(t *testing.T) {
	c, _ := testClient(t)
	p := create(t, c, "jobs")
	fill(t, p)
	if list, err := p.Readers(); err != nil || len(list) != 0 || list == nil {
		t.Fatalf("no readers: %#v %v", list, err)
	}
	before := time.Now()
	openNamed(t, p, TailOptions{Name: "b.reader_2", Last: 2}).Close()
	s := openNamed(t, p, TailOptions{Name: "a-reader", ManualAck: true})
	nextSeq(t, s)
	nextSeq(t, s)
	time.Sleep(10 * time.Millisecond)
	if err := s.Ack(); err != nil {
		t.Fatal(err)
	}
	list, err := p.Readers()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Reader{}
	for _, r := range list {
		byName[r.Name] = r
	}
	a, b := byName["a-reader"], byName["b.reader_2"]
	if len(list) != 2 || a.NextSeq != 3 || b.NextSeq != 9 {
		t.Fatalf("readers: %+v", list)
	}
	slack := time.Second
	for _, r := range list {
		if r.Created.Before(before.Add(-slack)) || r.Created.After(time.Now().Add(slack)) ||
			r.Created.Location() != time.UTC || r.Acked.Before(r.Created) {
			t.Fatalf("times of %+v (test began %v)", r, before)
		}
	}
	if !a.Acked.After(a.Created) {
		t.Fatalf("a-reader acknowledged after its creation: %+v", a)
	}
	if !b.Acked.Equal(b.Created) {
		t.Fatalf("b.reader_2 never acknowledged: %+v", b)
	}

	if err := p.DeleteReader("b.reader_2"); err != nil {
		t.Fatal(err)
	}
	e := wantKind(t, p.DeleteReader("b.reader_2"), ErrorNotFound)
	if e.Path == "" || !strings.Contains(e.Message, "b.reader_2") {
		t.Fatalf("not found: %+v", e)
	}
	wantKind(t, p.DeleteReader("never"), ErrorNotFound)
	wantKind(t, p.DeleteReader("nul\x00byte"), ErrorUsage)
	if list, _ := p.Readers(); len(list) != 1 || list[0].Name != "a-reader" {
		t.Fatalf("after delete: %+v", list)
	}
	// A deleted reader starts afresh, where its options now say.
	s = openNamed(t, p, TailOptions{Name: "b.reader_2", MaxMessages: 1})
	if got := fmt.Sprint(seqs(t, s)); got != "[1]" {
		t.Fatalf("afresh: %s", got)
	}
	// A stream still open on a deleted reader stores nothing.
	s = openNamed(t, p, TailOptions{Name: "a-reader"})
	nextSeq(t, s)
	if err := p.DeleteReader("a-reader"); err != nil {
		t.Fatal(err)
	}
	nextSeq(t, s)
	if pos := readerPos(t, p, "a-reader"); pos != 0 {
		t.Fatalf("deleted reader came back at %d", pos)
	}
	p.Close()
	if _, err := p.Readers(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Readers on closed pool: %v", err)
	}
	if err := p.DeleteReader("x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("DeleteReader on closed pool: %v", err)
	}
}

func TestNamedBadNameIsUsage(t *testing.T) {
	c, _ := testClient(t)
	p := create(t, c, "jobs")
	for _, name := range []string{"no spaces", strings.Repeat("x", 33), "slash/y", "é", "nul\x00"} {
		_, err := p.OpenStream(TailOptions{Name: name})
		wantKind(t, err, ErrorUsage)
		msgs, errs := p.Tail(context.Background(), TailOptions{Name: name})
		for range msgs {
			t.Fatal("message from a bad name")
		}
		wantKind(t, <-errs, ErrorUsage)
	}
	// 32 bytes is the longest name.
	openNamed(t, p, TailOptions{Name: strings.Repeat("x", 32), IdleTimeout: time.Millisecond}).Close()
	if list, _ := p.Readers(); len(list) != 1 {
		t.Fatalf("readers: %+v", list)
	}
}

// A reader the ring lapped while it was away learns how much it missed.
func TestNamedLappedReaderReportsDropped(t *testing.T) {
	c, _ := testClient(t)
	p, err := c.CreatePool("small", 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Append(map[string]int{"first": 1}, nil, DurabilityFast)
	s := openNamed(t, p, TailOptions{Name: "slow", MaxMessages: 1})
	if got := fmt.Sprint(seqs(t, s)); got != "[1]" {
		t.Fatalf("joined: %s", got)
	}
	pad := map[string]string{"pad": strings.Repeat("x", 200)}
	for i := 0; i < 2000; i++ {
		if _, err := p.Append(pad, nil, DurabilityFast); err != nil {
			t.Fatal(err)
		}
	}
	info, _ := p.Info()
	s = openNamed(t, p, TailOptions{Name: "slow", MaxMessages: 1})
	m, err := s.Next()
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if m.Seq != info.Oldest.Seq || st.Dropped != info.Oldest.Seq-2 || st.Dropped < 1000 {
		t.Fatalf("got seq %d, %+v; oldest retained %d", m.Seq, st, info.Oldest.Seq)
	}
}

// A named Tail acknowledges what its consumer has received from the
// channel, and nothing it has not.
func TestNamedTailChannelAcksWhatWasHandled(t *testing.T) {
	c, _ := testClient(t)
	p := create(t, c, "jobs")
	fill(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgs, errs := p.Tail(ctx, TailOptions{Name: "chan", Buffer: 100})
	m, err := ParseMessage(<-msgs)
	if err != nil || m.Seq != 1 {
		t.Fatalf("first: %+v %v", m, err)
	}
	// 1 is being handled: nothing is acknowledged, and a buffered channel
	// would have taken 2..10 by now.
	time.Sleep(150 * time.Millisecond)
	if pos := readerPos(t, p, "chan"); pos != 1 {
		t.Fatalf("position %d while 1 is in hand", pos)
	}
	if m, err := ParseMessage(<-msgs); err != nil || m.Seq != 2 {
		t.Fatalf("second: %+v %v", m, err)
	}
	// Receiving 2 means 1 was handled.
	deadline := time.Now().Add(5 * time.Second)
	for readerPos(t, p, "chan") != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("2 was received but the position is %d", readerPos(t, p, "chan"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Cancelled while 2 is in hand: 2 comes again.
	cancel()
	for range msgs {
	}
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("want Canceled, got %v", err)
	}
	msgs, errs = p.Tail(context.Background(), TailOptions{Name: "chan", MaxMessages: 3})
	var got []uint64
	for env := range msgs {
		got = append(got, envelopeSeq(env))
	}
	if err := <-errs; err != nil || fmt.Sprint(got) != "[2 3 4]" {
		t.Fatalf("resumed: %v %v", got, err)
	}
	// The Tail ended with 4 received; whether it was handled, the sender
	// cannot know: 4 comes again.
	if pos := readerPos(t, p, "chan"); pos != 4 {
		t.Fatalf("position %d after a Tail that ended on 4", pos)
	}
	// ManualAck cannot work through a channel.
	msgs, errs = p.Tail(context.Background(), TailOptions{Name: "chan", ManualAck: true})
	for range msgs {
		t.Fatal("message from a refused Tail")
	}
	wantKind(t, <-errs, ErrorUsage)
}

func TestStreamAckThrough(t *testing.T) {
	c, _ := testClient(t)
	p := create(t, c, "jobs")
	fill(t, p)
	s, err := p.OpenStream(TailOptions{Name: "handoff", ManualAck: true, IdleTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 5; i++ {
		if _, err := s.NextJSON(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AckThrough(3); err != nil {
		t.Fatal(err)
	}
	if pos := readerPos(t, p, "handoff"); pos != 4 {
		t.Fatalf("position %d after AckThrough(3)", pos)
	}
	// Never past what was delivered.
	if err := s.AckThrough(1000); err != nil {
		t.Fatal(err)
	}
	if pos := readerPos(t, p, "handoff"); pos != 6 {
		t.Fatalf("position %d after AckThrough(1000) with 5 delivered", pos)
	}
	s.Close()
	if err := s.AckThrough(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// consumerEnv names the pool directory when this test binary runs as the
// consumer process of TestNamedReaderSurvivesSIGKILL.
const consumerEnv = "PLASMITE_GO_TEST_CONSUMER_DIR"

// TestHelperNamedConsumer is not a test: run with consumerEnv set (by
// TestNamedReaderSurvivesSIGKILL), it reads the named reader "consumer" of
// the pool "jobs", printing "seq N" for each message before it handles it
// (a short sleep), and "done" when the pool stays idle.
func TestHelperNamedConsumer(t *testing.T) {
	dir := os.Getenv(consumerEnv)
	if dir == "" {
		t.Skip("the consumer process of TestNamedReaderSurvivesSIGKILL")
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "consumer:", err)
		os.Exit(3)
	}
	c, err := NewClient(dir)
	if err != nil {
		fail(err)
	}
	p, err := c.OpenPool("jobs")
	if err != nil {
		fail(err)
	}
	s, err := p.OpenStream(TailOptions{Name: "consumer", IdleTimeout: 500 * time.Millisecond})
	if err != nil {
		fail(err)
	}
	for {
		env, err := s.NextJSON()
		if err == io.EOF {
			os.Stdout.WriteString("done\n")
			os.Exit(0)
		}
		if err != nil {
			fail(err)
		}
		// One write per line, unbuffered: what the parent reads is what
		// this process got to before it was killed.
		os.Stdout.WriteString("seq " + strconv.FormatUint(envelopeSeq(env), 10) + "\n")
		time.Sleep(200 * time.Microsecond)
	}
}

// A consumer process SIGKILLed mid-stream, again and again, misses nothing:
// each restart resumes at the message in hand when it died (or the one
// after it), so the printed seqs cover every message in order.
func TestNamedReaderSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	c, dir := testClient(t)
	p := create(t, c, "jobs")
	appendN := func(n int) {
		for i := 0; i < n; i++ {
			if _, err := p.Append(map[string]int{"i": i}, nil, DurabilityFast); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendN(2000)
	const kills = 6
	var runs [][]uint64
	for run := 0; run <= kills; run++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperNamedConsumer$")
		cmd.Env = append(os.Environ(), consumerEnv+"="+dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAt := 200 + 37*run // lines read from this run before the kill
		var got []uint64
		done := false
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if line == "done" {
				done = true
				continue
			}
			if !strings.HasPrefix(line, "seq ") {
				continue // the testing package's own output
			}
			seq, err := strconv.ParseUint(strings.TrimPrefix(line, "seq "), 10, 64)
			if err != nil {
				t.Fatalf("run %d: bad line %q", run, line)
			}
			got = append(got, seq)
			if run < kills && len(got) == killAt {
				cmd.Process.Kill() // SIGKILL; keep reading what it printed
			}
		}
		err = cmd.Wait()
		if run < kills {
			ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if done || !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("run %d was not killed mid-stream (done=%v, %v): %s", run, done, err, stderr.Bytes())
			}
		} else if err != nil || !done {
			t.Fatalf("last run: %v (done=%v): %s", err, done, stderr.Bytes())
		}
		if len(got) == 0 {
			t.Fatalf("run %d printed nothing: %s", run, stderr.Bytes())
		}
		runs = append(runs, got)
		if run < kills {
			appendN(100) // messages keep coming while the consumer is down
		}
	}
	total := uint64(2000 + 100*kills)

	seen := map[uint64]bool{}
	var last uint64
	for r, got := range runs {
		first := got[0]
		// It resumes at the message in hand when the last run died, or
		// the one after it: no gap, at most one message again.
		if r == 0 && first != 1 || r > 0 && first != last && first != last+1 {
			t.Fatalf("run %d starts at %d after run %d ended at %d", r, first, r-1, last)
		}
		for i, seq := range got {
			if i > 0 && seq != got[i-1]+1 {
				t.Fatalf("run %d: %d after %d", r, seq, got[i-1])
			}
			seen[seq] = true
		}
		last = got[len(got)-1]
	}
	if last != total || uint64(len(seen)) != total {
		t.Fatalf("covered %d distinct seqs ending at %d, want 1..%d", len(seen), last, total)
	}
	var spans []string
	for _, r := range runs {
		spans = append(spans, fmt.Sprintf("%d-%d", r[0], r[len(r)-1]))
	}
	t.Logf("%d kills; the runs read seqs %s", kills, strings.Join(spans, " "))
}
