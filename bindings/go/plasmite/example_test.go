package plasmite_test

import (
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"plasmite.dev/plasmite/bindings/go/plasmite"
)

// A durable named reader: a consumer that stops (or crashes) resumes where
// it left off, and the message it had in hand comes again.
func Example_namedReader() {
	dir, err := os.MkdirTemp("", "plasmite-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	client, err := plasmite.NewClient(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	pool, err := client.CreatePool("jobs", 0)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	for i := 1; i <= 4; i++ {
		pool.Append(map[string]int{"job": i}, nil, plasmite.DurabilityFast)
	}

	consume := func(limit int) {
		s, err := pool.OpenStream(plasmite.TailOptions{Name: "worker", IdleTimeout: 100 * time.Millisecond})
		if err != nil {
			log.Fatal(err)
		}
		defer s.Close()
		for n := 0; n < limit; n++ {
			m, err := s.Next() // acknowledges the message returned before
			if err == io.EOF {
				return
			}
			if err != nil {
				log.Fatal(err)
			}
			fmt.Println("handling", string(m.Data))
		}
	}
	consume(2) // stops while handling job 2: it is not acknowledged
	consume(10)

	readers, err := pool.Readers()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(readers[0].Name, "reads next", readers[0].NextSeq)
	// Output:
	// handling {"job":1}
	// handling {"job":2}
	// handling {"job":2}
	// handling {"job":3}
	// handling {"job":4}
	// worker reads next 5
}

// With ManualAck a consumer acknowledges when it chooses: here after each
// batch of two is committed somewhere else.
func ExampleStream_Ack() {
	dir, err := os.MkdirTemp("", "plasmite-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	client, _ := plasmite.NewClient(dir)
	defer client.Close()
	pool, err := client.CreatePool("events", 0)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	for i := 1; i <= 5; i++ {
		pool.Append(map[string]int{"n": i}, nil, plasmite.DurabilityFast)
	}
	s, err := pool.OpenStream(plasmite.TailOptions{Name: "batcher", ManualAck: true, MaxMessages: 3})
	if err != nil {
		log.Fatal(err)
	}
	var batch []uint64
	for {
		m, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		if batch = append(batch, m.Seq); len(batch) == 2 {
			fmt.Println("committed", batch)
			s.Ack() // 1 and 2 are done
			batch = nil
		}
	}
	s.Close() // 3 was read but never acknowledged

	s, _ = pool.OpenStream(plasmite.TailOptions{Name: "batcher", ManualAck: true, MaxMessages: 1})
	defer s.Close()
	m, _ := s.Next()
	fmt.Println("resumes at", m.Seq)
	// Output:
	// committed [1 2]
	// resumes at 3
}
