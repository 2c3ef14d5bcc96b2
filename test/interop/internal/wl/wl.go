// Package wl holds what the interop clients share: the Workload API address flag and the exit-on-error helper.
package wl

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// Flags common to every client.
type Flags struct {
	Socket  string
	Timeout time.Duration
}

// Register adds -socket and -timeout to the default flag set.
func Register() *Flags {
	f := &Flags{}
	flag.StringVar(&f.Socket, "socket", os.Getenv("SPIFFE_ENDPOINT_SOCKET"),
		"Workload API socket: a path, or unix:///path (default $SPIFFE_ENDPOINT_SOCKET)")
	flag.DurationVar(&f.Timeout, "timeout", 30*time.Second, "give up after this long")
	return f
}

// Addr is the socket as a unix:// address.
func (f *Flags) Addr() string {
	if strings.Contains(f.Socket, "://") {
		return f.Socket
	}
	return "unix://" + f.Socket
}

// Context returns a context that ends after -timeout.
func (f *Flags) Context() (context.Context, context.CancelFunc) {
	if f.Socket == "" {
		Fatalf("no Workload API socket: pass -socket or set SPIFFE_ENDPOINT_SOCKET")
	}
	return context.WithTimeout(context.Background(), f.Timeout)
}

// SourceOpt points a go-spiffe source at the socket.
func (f *Flags) SourceOpt() workloadapi.SourceOption {
	return workloadapi.WithClientOptions(workloadapi.WithAddr(f.Addr()))
}

// ClientOpt points a go-spiffe client call at the socket.
func (f *Flags) ClientOpt() workloadapi.ClientOption {
	return workloadapi.WithAddr(f.Addr())
}

// Fatalf prints "error: ..." to stderr and exits 1.
func Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "error: "+format+"\n", args...)
	os.Exit(1)
}
