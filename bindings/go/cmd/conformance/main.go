// Command conformance is the Go runner of the conformance manifests in
// spec/conformance/.
//
// Usage: conformance MANIFEST.json [--workdir DIR]. Exits 0 when every step
// passes, 1 naming the first failing step, 2 on a bad manifest or bad
// arguments. The rules are those of spec/conformance/README.md and of the
// Rust runner (tests/src/bin/plasmite-conformance.rs); every call goes
// through the Go binding.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"plasmite.dev/plasmite/bindings/go/plasmite"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	var manifest, workdir string
	switch {
	case len(args) == 1:
		manifest = args[0]
	case len(args) == 3 && args[1] == "--workdir":
		manifest, workdir = args[0], args[2]
	default:
		fmt.Fprintln(os.Stderr, "usage: conformance MANIFEST.json [--workdir DIR]")
		return 2
	}
	text, err := os.ReadFile(manifest)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var doc struct {
		Version      *json.Number `json:"conformance_version"`
		Name         string       `json:"name"`
		FreshWorkdir *bool        `json:"fresh_workdir"`
		Steps        []step       `json:"steps"`
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", manifest, err)
		return 2
	}
	if doc.Version == nil || doc.Version.String() != "0" {
		fmt.Fprintf(os.Stderr, "%s: unsupported conformance_version\n", manifest)
		return 2
	}
	name := doc.Name
	if name == "" {
		name = "manifest"
	}
	if workdir == "" {
		workdir = filepath.Join(filepath.Dir(manifest), "work-"+name)
	}
	if doc.FreshWorkdir == nil || *doc.FreshWorkdir {
		if err := freshDir(workdir); err != nil {
			fmt.Fprintf(os.Stderr, "%s: cannot prepare workdir: %v\n", workdir, err)
			return 2
		}
	}
	client, err := plasmite.NewClient(workdir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer client.Close()
	r := &runner{client: client, workdir: workdir}
	for i, s := range doc.Steps {
		if err := r.step(s); err != nil {
			fmt.Fprintf(os.Stderr, "%s: step %d (%s) failed: %v\n", name, i, s.ID, err)
			return 1
		}
	}
	fmt.Printf("%s: %d steps passed\n", name, len(doc.Steps))
	return 0
}

// freshDir deletes and recreates dir, first lifting any immutable attribute
// a deny_write step left behind (root cannot delete such files otherwise).
func freshDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		exec.Command("chattr", "-R", "-i", dir).Run() // absent chattr: nothing to lift
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	return os.MkdirAll(dir, 0o755)
}

type step struct {
	ID     string                     `json:"id"`
	Op     string                     `json:"op"`
	Input  map[string]json.RawMessage `json:"input"`
	Expect map[string]json.RawMessage `json:"expect"`
}

type runner struct {
	client  *plasmite.Client
	workdir string
}

// value decodes a JSON value with numbers as json.Number.
func value(raw json.RawMessage) interface{} {
	if raw == nil {
		return nil
	}
	var v interface{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil
	}
	return v
}

func str(in map[string]json.RawMessage, key string) string {
	s, _ := value(in[key]).(string)
	return s
}

// u64 is a non-negative integer field (as serde_json's as_u64).
func u64(in map[string]json.RawMessage, key string) (uint64, bool) {
	n, ok := value(in[key]).(json.Number)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(n.String(), 10, 64)
	return v, err == nil
}

func strs(raw json.RawMessage) []string {
	list, _ := value(raw).([]interface{})
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// poolRef: a pool value with '/' is a path under the working directory.
func (r *runner) poolRef(in map[string]json.RawMessage) string {
	p := str(in, "pool")
	if strings.Contains(p, "/") {
		return filepath.Join(r.workdir, p)
	}
	return p
}

// poolPath is the file a ref names (as PoolDir::resolve).
func (r *runner) poolPath(ref string) string {
	switch {
	case strings.Contains(ref, "/"):
		return ref
	case strings.HasSuffix(ref, ".plasmite"):
		return filepath.Join(r.workdir, ref)
	default:
		return filepath.Join(r.workdir, ref+".plasmite")
	}
}

// msg is a message as compared: seq, data and tags as decoded JSON.
type msg map[string]interface{}

func fromEnvelope(env []byte) (msg, error) {
	m, err := plasmite.ParseMessage(env)
	if err != nil {
		return nil, err
	}
	tags := make([]interface{}, len(m.Tags))
	for i, t := range m.Tags {
		tags[i] = t
	}
	return msg{"seq": json.Number(strconv.FormatUint(m.Seq, 10)), "data": value(m.Data), "tags": tags}, nil
}

func (r *runner) step(s step) error {
	var got interface{}
	var err error
	switch s.Op {
	case "create_pool":
		got, err = r.create(s.Input)
	case "append":
		got, err = r.append(s.Input)
	case "get":
		got, err = r.get(s.Input)
	case "tail":
		got, err = r.tail(s.Input)
	case "list_pools":
		got, err = r.list()
	case "pool_info":
		got, err = r.info(s.Input)
	case "delete_pool":
		got, err = map[string]interface{}{}, r.client.DeletePool(r.poolRef(s.Input))
	case "list_readers":
		got, err = r.readers(s.Input)
	case "delete_reader":
		got, err = r.deleteReader(s.Input)
	case "spawn_poke":
		return r.spawnPoke(s.Input)
	case "corrupt_pool_header":
		return r.corrupt(s.Input)
	case "deny_write":
		return r.denyWrite(s.Input)
	default:
		return fmt.Errorf("unknown op %q", s.Op)
	}
	wantErr, expectsErr := s.Expect["error"]
	switch {
	case err != nil && expectsErr:
		return checkError(err, wantErr)
	case err != nil:
		return fmt.Errorf("unexpected error: %v", err)
	case expectsErr:
		return fmt.Errorf("expected error %s, got success %v", wantErr, got)
	}
	return checkValue(s.Op, got, s.Expect)
}

func (r *runner) create(in map[string]json.RawMessage) (interface{}, error) {
	size, ok := u64(in, "size_bytes")
	if !ok {
		size = 1 << 20
	}
	p, err := r.client.CreatePool(r.poolRef(in), size)
	if err != nil {
		return nil, err
	}
	p.Close()
	return map[string]interface{}{}, nil
}

func (r *runner) append(in map[string]json.RawMessage) (interface{}, error) {
	p, err := r.client.OpenPool(r.poolRef(in))
	if err != nil {
		return nil, err
	}
	defer p.Close()
	data := in["data"]
	if data == nil {
		data = json.RawMessage("null")
	}
	repeat, ok := u64(in, "repeat")
	if !ok {
		repeat = 1
	}
	var seq uint64
	for i := uint64(0); i < repeat; i++ {
		rc, err := p.Append(data, strs(in["tags"]), plasmite.DurabilityFast)
		if err != nil {
			return nil, err
		}
		seq = rc.Seq
	}
	return map[string]interface{}{"seq": json.Number(strconv.FormatUint(seq, 10))}, nil
}

func (r *runner) get(in map[string]json.RawMessage) (interface{}, error) {
	p, err := r.client.OpenPool(r.poolRef(in))
	if err != nil {
		return nil, err
	}
	defer p.Close()
	seq, _ := u64(in, "seq")
	env, err := p.GetJSON(seq)
	if err != nil {
		return nil, err
	}
	return fromEnvelope(env)
}

func (r *runner) tail(in map[string]json.RawMessage) (interface{}, error) {
	p, err := r.client.OpenPool(r.poolRef(in))
	if err != nil {
		return nil, err
	}
	defer p.Close()
	timeout, ok := u64(in, "timeout_ms")
	if !ok {
		timeout = 1000
	}
	opts := plasmite.TailOptions{
		Tags:        strs(in["tags"]),
		Where:       strs(in["where"]),
		IdleTimeout: time.Duration(timeout) * time.Millisecond,
	}
	max, hasMax := u64(in, "max")
	if hasMax && max > 0 {
		opts.MaxMessages = max
	}
	if n, ok := u64(in, "last"); ok {
		// As the Rust runner: `last` replaces `since_seq`.
		opts.Last, opts.OnlyNew = n, n == 0
	} else if s, ok := u64(in, "since_seq"); ok {
		opts.SinceSeq = s
	}
	// A durable named reader: acknowledging each message when the next is
	// read, unless manual_ack asks it to wait for Ack.
	opts.Name = str(in, "name")
	opts.ManualAck, _ = value(in["manual_ack"]).(bool)
	ackAfter, hasAckAfter := u64(in, "ack_after")
	s, err := p.OpenStream(opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	out := tailResult{msgs: []msg{}}
	if hasMax && max == 0 {
		return out, nil // max 0 delivers nothing (MaxMessages 0 means no limit)
	}
	for {
		env, err := s.NextJSON()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		m, err := fromEnvelope(env)
		if err != nil {
			return nil, err
		}
		out.msgs = append(out.msgs, m)
		if hasAckAfter && uint64(len(out.msgs)) == ackAfter {
			if err := s.Ack(); err != nil {
				return nil, err
			}
		}
	}
	st, err := s.Stats()
	if err != nil {
		return nil, err
	}
	out.dropped = st.Dropped
	return out, nil
}

// tailResult is what a tail step read, and the stream's drop count.
type tailResult struct {
	msgs    []msg
	dropped uint64
}

func (r *runner) readers(in map[string]json.RawMessage) (interface{}, error) {
	p, err := r.client.OpenPool(r.poolRef(in))
	if err != nil {
		return nil, err
	}
	defer p.Close()
	list, err := p.Readers()
	if err != nil {
		return nil, err
	}
	readers := []interface{}{}
	for _, rd := range list {
		readers = append(readers, map[string]interface{}{
			"name":     rd.Name,
			"next_seq": json.Number(strconv.FormatUint(rd.NextSeq, 10)),
		})
	}
	return map[string]interface{}{"readers": readers}, nil
}

func (r *runner) deleteReader(in map[string]json.RawMessage) (interface{}, error) {
	p, err := r.client.OpenPool(r.poolRef(in))
	if err != nil {
		return nil, err
	}
	defer p.Close()
	return map[string]interface{}{}, p.DeleteReader(str(in, "name"))
}

func (r *runner) list() (interface{}, error) {
	entries, err := r.client.ListPools()
	if err != nil {
		return nil, err
	}
	names := []interface{}{}
	for _, e := range entries {
		names = append(names, e.Name)
	}
	return map[string]interface{}{"names": names}, nil
}

func (r *runner) info(in map[string]json.RawMessage) (interface{}, error) {
	info, err := r.client.PoolInfo(r.poolRef(in))
	if err != nil {
		return nil, err
	}
	bound := func(b *plasmite.Bound) interface{} {
		if b == nil {
			return nil
		}
		return json.Number(strconv.FormatUint(b.Seq, 10))
	}
	return map[string]interface{}{
		"file_size": json.Number(strconv.FormatUint(info.FileSize, 10)),
		"oldest":    bound(info.Oldest),
		"newest":    bound(info.Newest),
	}, nil
}

func (r *runner) spawnPoke(in map[string]json.RawMessage) error {
	bin := os.Getenv("PLASMITE_BIN")
	if bin == "" {
		bin = "pls"
	}
	ref := r.poolRef(in)
	var msgs []struct {
		Data json.RawMessage `json:"data"`
		Tags []string        `json:"tags"`
	}
	if err := json.Unmarshal(in["messages"], &msgs); err != nil {
		return fmt.Errorf("messages: %v", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(msgs))
	cmds := make([]*exec.Cmd, len(msgs))
	for i, m := range msgs {
		var data bytes.Buffer
		if err := json.Compact(&data, m.Data); err != nil {
			return err
		}
		args := []string{"--dir", r.workdir, "poke", ref, data.String()}
		for _, t := range m.Tags {
			args = append(args, "--tag", t)
		}
		cmds[i] = exec.Command(bin, args...)
		cmds[i].Stderr = os.Stderr
	}
	// Started all at once, then waited for.
	for i, c := range cmds {
		if err := c.Start(); err != nil {
			return fmt.Errorf("cannot run %s: %v", bin, err)
		}
		wg.Add(1)
		go func(i int, c *exec.Cmd) {
			defer wg.Done()
			errs[i] = c.Wait()
		}(i, c)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("%s poke: %v", bin, err)
		}
	}
	return nil
}

func (r *runner) corrupt(in map[string]json.RawMessage) error {
	path := r.poolPath(r.poolRef(in))
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteAt(bytes.Repeat([]byte{0xA5}, 64), 0)
	return err
}

func (r *runner) denyWrite(in map[string]json.RawMessage) error {
	path := r.poolPath(r.poolRef(in))
	if err := os.Chmod(path, 0o444); err != nil {
		return err
	}
	// Root ignores mode bits: if the file still opens for writing, make it
	// immutable, which binds root too.
	if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
		f.Close()
		if err := exec.Command("chattr", "+i", path).Run(); err != nil {
			return errors.New("mode 0444 does not stop this user and `chattr +i` failed")
		}
	}
	return nil
}

func checkError(err error, raw json.RawMessage) error {
	var want struct {
		Kind            string `json:"kind"`
		MessageContains string `json:"message_contains"`
		HasPath         *bool  `json:"has_path"`
		HasSeq          *bool  `json:"has_seq"`
	}
	if e := json.Unmarshal(raw, &want); e != nil {
		return e
	}
	var pe *plasmite.Error
	if !errors.As(err, &pe) {
		return fmt.Errorf("expected a plasmite error, got %v", err)
	}
	if pe.Kind.String() != want.Kind {
		return fmt.Errorf("expected error kind %s, got %s: %v", want.Kind, pe.Kind, pe)
	}
	if want.MessageContains != "" && !strings.Contains(pe.Message, want.MessageContains) {
		return fmt.Errorf("error message %q lacks %q", pe.Message, want.MessageContains)
	}
	if want.HasPath != nil && *want.HasPath != (pe.Path != "") {
		return fmt.Errorf("has_path: expected %v, got %v (%v)", *want.HasPath, pe.Path != "", pe)
	}
	if want.HasSeq != nil && *want.HasSeq != (pe.Seq != nil) {
		return fmt.Errorf("has_seq: expected %v, got %v (%v)", *want.HasSeq, pe.Seq != nil, pe)
	}
	return nil
}

func checkValue(op string, got interface{}, expect map[string]json.RawMessage) error {
	switch op {
	case "tail":
		res := got.(tailResult)
		if min, ok := u64(expect, "dropped_min"); ok && res.dropped < min {
			return fmt.Errorf("tail: dropped (at least) expected %d, got %d", min, res.dropped)
		}
		msgs := res.msgs
		var prev uint64
		for i, m := range msgs {
			seq, _ := strconv.ParseUint(m["seq"].(json.Number).String(), 10, 64)
			if i > 0 && seq <= prev {
				return fmt.Errorf("tail: seqs not strictly rising")
			}
			prev = seq
		}
		ordered := true
		raw, ok := expect["messages"]
		if count, hasCount := u64(expect, "count"); !ok && hasCount {
			if count != uint64(len(msgs)) {
				return fmt.Errorf("tail: message count expected %d, got %d", count, len(msgs))
			}
			return nil
		}
		if !ok {
			raw, ok = expect["messages_unordered"]
			ordered = false
		}
		if !ok {
			return nil
		}
		want, _ := value(raw).([]interface{})
		if len(want) != len(msgs) {
			return fmt.Errorf("tail: message count expected %d, got %d", len(want), len(msgs))
		}
		for i, w := range want {
			wm, _ := w.(map[string]interface{})
			if ordered {
				if err := checkMessage(wm, msgs[i]); err != nil {
					return err
				}
				continue
			}
			found := false
			for _, g := range msgs {
				if checkMessage(wm, g) == nil {
					found = true
					break
				}
			}
			if !found {
				return fmt.Errorf("tail: no message matches %v", w)
			}
		}
		return nil
	case "get":
		want := map[string]interface{}{}
		for k, v := range expect {
			want[k] = value(v)
		}
		return checkMessage(want, got.(msg))
	}
	g := got.(map[string]interface{})
	for _, key := range []string{"seq", "file_size", "oldest", "newest"} {
		if raw, ok := expect[key]; ok {
			if w := value(raw); !exactEqual(w, g[key]) {
				return fmt.Errorf("%s: %s expected %v, got %v", op, key, w, g[key])
			}
		}
	}
	if raw, ok := expect["readers"]; ok {
		have, _ := g["readers"].([]interface{})
		sort.SliceStable(have, func(i, j int) bool {
			a, _ := have[i].(map[string]interface{})["name"].(string)
			b, _ := have[j].(map[string]interface{})["name"].(string)
			return a < b
		})
		if want := value(raw); !exactEqual(want, have) {
			return fmt.Errorf("readers: expected %v, got %v", want, have)
		}
	}
	if raw, ok := expect["names"]; ok {
		want := strs(raw)
		var have []string
		for _, n := range g["names"].([]interface{}) {
			have = append(have, n.(string))
		}
		sort.Strings(want)
		sort.Strings(have)
		if strings.Join(want, "\x00") != strings.Join(have, "\x00") || len(want) != len(have) {
			return fmt.Errorf("names: expected %v, got %v", want, have)
		}
	}
	return nil
}

// checkMessage compares the keys an expectation gives (seq, data, tags).
func checkMessage(want map[string]interface{}, got msg) error {
	if w, ok := want["seq"]; ok && !exactEqual(w, got["seq"]) {
		return fmt.Errorf("seq: expected %v, got %v", w, got["seq"])
	}
	if w, ok := want["data"]; ok && !valueEqual(w, got["data"]) {
		return fmt.Errorf("data: expected %v, got %v", w, got["data"])
	}
	if w, ok := want["tags"]; ok && !exactEqual(w, got["tags"]) {
		return fmt.Errorf("tags: expected %v, got %v", w, got["tags"])
	}
	return nil
}

// valueEqual compares JSON values with numbers by value (1.5e3 == 1500).
func valueEqual(a, b interface{}) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		fx, e1 := x.Float64()
		fy, e2 := y.Float64()
		return e1 == nil && e2 == nil && fx == fy
	case []interface{}:
		y, ok := b.([]interface{})
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !valueEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]interface{}:
		y, ok := b.(map[string]interface{})
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !valueEqual(v, w) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(a, b)
	}
}

// exactEqual is serde_json's Value ==: integers must be equal integers.
func exactEqual(a, b interface{}) bool {
	x, xok := a.(json.Number)
	y, yok := b.(json.Number)
	if xok && yok {
		xi, e1 := strconv.ParseUint(x.String(), 10, 64)
		yi, e2 := strconv.ParseUint(y.String(), 10, 64)
		if e1 == nil || e2 == nil {
			return e1 == nil && e2 == nil && xi == yi
		}
	}
	return valueEqual(a, b)
}
