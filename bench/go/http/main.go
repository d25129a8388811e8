// bench/go/http: the Go peer of the HTTP benchmark — net/http answering
// every request with the fixed 13-byte body "Hello, World!". Run with
// GOMAXPROCS=1. Standard library only; builds with GO111MODULE=off.
// Usage: http -port N
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1")
	flag.Parse()
	body := []byte("Hello, World!")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go http:", err)
		os.Exit(1)
	}
	fmt.Printf("go_http listening on 127.0.0.1:%d\n", *port)
	if err := http.Serve(ln, h); err != nil {
		fmt.Fprintln(os.Stderr, "go http:", err)
		os.Exit(1)
	}
}
