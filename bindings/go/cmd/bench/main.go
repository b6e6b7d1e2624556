// Command bench measures the Go binding on the workload shared by every
// binding (see bindings/bench/): a 64 MiB pool, N = 200,000 appends of a
// 100-byte data object {"i":<i>,"pad":"xx…"}, one call each, no tags,
// durability fast; then reading all N from the oldest through a Stream,
// each message as its envelope bytes. It prints one JSON line.
//
// Appends pass the data as JSON text (json.RawMessage), the way a
// throughput-minded Go program would; append_marshal_per_s is the same
// with a struct encoded by encoding/json on every call, and
// tail_chan_per_s reads through Pool.Tail's channel instead of a Stream.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"plasmite.dev/plasmite/bindings/go/plasmite"
)

const n = 200000

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// data is the compact JSON object for i, exactly 100 bytes.
func data(buf []byte, i int) []byte {
	buf = append(buf[:0], `{"i":`...)
	buf = strconv.AppendInt(buf, int64(i), 10)
	buf = append(buf, `,"pad":"`...)
	for len(buf) < 100-2 {
		buf = append(buf, 'x')
	}
	return append(buf, `"}`...)
}

type record struct {
	I   int    `json:"i"`
	Pad string `json:"pad"`
}

func run() error {
	// PLASMITE_BENCH_CPUPROFILE=FILE writes a CPU profile of the run.
	if path := os.Getenv("PLASMITE_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	dir, err := os.MkdirTemp("", "plasmite-go-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	client, err := plasmite.NewClient(dir)
	if err != nil {
		return err
	}
	defer client.Close()

	appendRate, err := appendAll(client, "bench", func(p *plasmite.Pool, buf []byte, i int) ([]byte, error) {
		buf = data(buf, i)
		_, err := p.Append(json.RawMessage(buf), nil, plasmite.DurabilityFast)
		return buf, err
	})
	if err != nil {
		return err
	}
	marshalRate, err := appendAll(client, "marshal", func(p *plasmite.Pool, buf []byte, i int) ([]byte, error) {
		digits := len(strconv.Itoa(i))
		_, err := p.Append(record{I: i, Pad: strings.Repeat("x", 85-digits)}, nil, plasmite.DurabilityFast)
		return buf, err
	})
	if err != nil {
		return err
	}

	pool, err := client.OpenPool("bench")
	if err != nil {
		return err
	}
	defer pool.Close()
	s, err := pool.OpenStream(plasmite.TailOptions{MaxMessages: n})
	if err != nil {
		return err
	}
	start := time.Now()
	count, bytes := 0, 0
	for {
		env, err := s.NextJSON()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		count++
		bytes += len(env)
	}
	readRate := float64(count) / time.Since(start).Seconds()
	s.Close()
	if count != n || bytes < n*100 {
		return fmt.Errorf("read %d messages (%d bytes), want %d", count, bytes, n)
	}

	start = time.Now()
	msgs, errs := pool.Tail(context.Background(), plasmite.TailOptions{MaxMessages: n, Buffer: 1024})
	count = 0
	for range msgs {
		count++
	}
	if err := <-errs; err != nil {
		return err
	}
	tailRate := float64(count) / time.Since(start).Seconds()
	if count != n {
		return fmt.Errorf("tail read %d messages, want %d", count, n)
	}

	out, err := json.Marshal(map[string]interface{}{
		"lang":                 "go",
		"append_per_s":         round(appendRate),
		"read_per_s":           round(readRate),
		"n":                    n,
		"read_form":            "envelope bytes ([]byte) from Stream.NextJSON",
		"append_marshal_per_s": round(marshalRate),
		"tail_chan_per_s":      round(tailRate),
	})
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}

func round(x float64) float64 { return float64(int64(x*10)) / 10 }

func appendAll(c *plasmite.Client, name string, one func(*plasmite.Pool, []byte, int) ([]byte, error)) (float64, error) {
	p, err := c.CreatePool(name, 64<<20)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	if len(data(nil, n)) != 100 {
		return 0, fmt.Errorf("data is not 100 bytes")
	}
	buf := make([]byte, 0, 128)
	start := time.Now()
	for i := 0; i < n; i++ {
		if buf, err = one(p, buf, i); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
