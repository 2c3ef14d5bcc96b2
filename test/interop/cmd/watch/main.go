// watch follows the Workload API X.509 stream with go-spiffe's WatchX509Context and prints one line per
// update. It exits 0 once it has seen -rotations leaf changes for the same SPIFFE ID, 1 on timeout.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/spire-cvm/spire-cvm/test/interop/internal/wl"
)

type watcher struct {
	want    int
	updates int
	seen    map[string]string // SPIFFE ID -> leaf fingerprint
	rotated int
	done    func()
}

func (w *watcher) OnX509ContextUpdate(c *workloadapi.X509Context) {
	w.updates++
	for _, s := range c.SVIDs {
		sum := sha256.Sum256(s.Certificates[0].Raw)
		fp := hex.EncodeToString(sum[:8])
		prev, known := w.seen[s.ID.String()]
		event := "new"
		if known && prev != fp {
			event = "rotated"
			w.rotated++
		} else if known {
			event = "same"
		}
		w.seen[s.ID.String()] = fp
		fmt.Printf("update=%d spiffe_id=%s leaf=%s not_after=%s event=%s\n", w.updates, s.ID, fp,
			s.Certificates[0].NotAfter.UTC().Format(time.RFC3339), event)
	}
	if w.rotated >= w.want {
		fmt.Printf("rotations=%d\n", w.rotated)
		w.done()
	}
}

func (w *watcher) OnX509ContextWatchError(err error) {
	fmt.Fprintf(os.Stderr, "watch error: %v\n", err)
}

func main() {
	f := wl.Register()
	want := flag.Int("rotations", 1, "exit 0 after this many leaf rotations")
	flag.Parse()
	ctx, cancel := f.Context()
	defer cancel()
	w := &watcher{want: *want, seen: map[string]string{}, done: cancel}
	_ = workloadapi.WatchX509Context(ctx, w, f.ClientOpt())
	if w.rotated < w.want {
		wl.Fatalf("saw %d rotation(s) in %s, wanted %d", w.rotated, f.Timeout, w.want)
	}
}
