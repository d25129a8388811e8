// bench/go/echo: the Go peer of the echo benchmark — a goroutine per
// connection copying what it reads back to the client. Run with
// GOMAXPROCS=1. Standard library only; builds with GO111MODULE=off.
// Usage: echo -port N
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
)

// serve echoes one connection until it closes.
func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 16384)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1")
	flag.Parse()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go echo:", err)
		os.Exit(1)
	}
	fmt.Printf("go_echo listening on 127.0.0.1:%d\n", *port)
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go serve(c)
	}
}
