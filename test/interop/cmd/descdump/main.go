// descdump writes the file descriptors that the Go code of SPIRE's peers was compiled from (spire-api-sdk and
// grpc-go's health service, as linked into this module), one binary FileDescriptorSet per proto path, so a test
// can compare them with what protoc makes of our proto/ files. json_name is cleared: protoc -o leaves it out.
// Usage: descdump -out DIR spire/api/types/entry.proto ...   (writes DIR/<path with / as _>.pb)
package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	_ "github.com/spiffe/spire-api-sdk/proto/spire/api/agent/debug/v1"
	_ "github.com/spiffe/spire-api-sdk/proto/spire/api/agent/delegatedidentity/v1"
	_ "github.com/spiffe/spire-api-sdk/proto/spire/api/agent/logger/v1"
	_ "github.com/spiffe/spire-api-sdk/proto/spire/api/server/agent/v1"
	_ "github.com/spiffe/spire-api-sdk/proto/spire/api/server/bundle/v1"
	_ "github.com/spiffe/spire-api-sdk/proto/spire/api/server/debug/v1"
	_ "github.com/spiffe/spire-api-sdk/proto/spire/api/server/entry/v1"
	_ "github.com/spiffe/spire-api-sdk/proto/spire/api/server/localauthority/v1"
	_ "github.com/spiffe/spire-api-sdk/proto/spire/api/server/logger/v1"
	_ "github.com/spiffe/spire-api-sdk/proto/spire/api/server/svid/v1"
	_ "github.com/spiffe/spire-api-sdk/proto/spire/api/server/trustdomain/v1"
	_ "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/spire-cvm/spire-cvm/test/interop/internal/wl"
)

func main() {
	out := flag.String("out", "", "output folder (required)")
	flag.Parse()
	for _, path := range flag.Args() {
		fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
		if err != nil {
			wl.Fatalf("%s is not linked into descdump: %v", path, err)
		}
		fdp := protodesc.ToFileDescriptorProto(fd)
		for _, m := range fdp.MessageType {
			clearJSONNames(m)
		}
		b, err := proto.Marshal(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{fdp}})
		if err != nil {
			wl.Fatalf("marshal %s: %v", path, err)
		}
		name := filepath.Join(*out, strings.ReplaceAll(path, "/", "_")+".pb")
		if err := os.WriteFile(name, b, 0o644); err != nil {
			wl.Fatalf("write %s: %v", name, err)
		}
	}
}

func clearJSONNames(m *descriptorpb.DescriptorProto) {
	for _, f := range m.Field {
		f.JsonName = nil
	}
	for _, n := range m.NestedType {
		clearJSONNames(n)
	}
}
