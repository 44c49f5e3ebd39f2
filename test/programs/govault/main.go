// main.go - the memory pattern of HashiCorp Vault and OpenBao with
// integrated storage, as a static Go program (go-vault.py): lock all
// memory, present and future, at start (as Vault's mlock does), then map
// a database file read-only and shared (as bbolt does) and read one
// byte per MiB of it; then allocate a heap buffer (-heap MiB, a cache)
// and write one byte per MiB of it (-stride: per that many MiB). It prints "ready" and how long the
// mmap took, then
// holds everything until its stdin closes, so the test can read its
// Locked: figure.
//
//	govault [-onfault] [-heap MIB] [-stride MIB] -db FILE
//
// -onfault adds MCL_ONFAULT to the mlockall flags itself: the kernel's
// own lock-on-fault, the reference the test compares with.
package main

import (
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"
)

const mclOnfault = 4 // MCL_ONFAULT, Linux 4.4

func main() {
	onfault := flag.Bool("onfault", false, "add MCL_ONFAULT to mlockall")
	db := flag.String("db", "", "the database file to map")
	heap := flag.Int("heap", 0, "MiB of heap to allocate and touch")
	stride := flag.Int("stride", 1, "MiB between two pages read or written")
	flag.Parse()

	flags := syscall.MCL_CURRENT | syscall.MCL_FUTURE
	if *onfault {
		flags |= mclOnfault
	}
	if err := syscall.Mlockall(flags); err != nil {
		fmt.Fprintln(os.Stderr, "govault: mlockall:", err)
		os.Exit(1)
	}
	f, err := os.Open(*db)
	if err != nil {
		fmt.Fprintln(os.Stderr, "govault:", err)
		os.Exit(1)
	}
	st, err := f.Stat()
	if err != nil {
		fmt.Fprintln(os.Stderr, "govault:", err)
		os.Exit(1)
	}
	t0 := time.Now()
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()),
		syscall.PROT_READ, syscall.MAP_SHARED)
	took := time.Since(t0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "govault: mmap:", err)
		os.Exit(1)
	}
	sum := 0
	step := *stride << 20
	for off := 0; off < len(data); off += step {
		sum += int(data[off])
	}
	cache := make([]byte, *heap<<20)
	for off := 0; off < len(cache); off += step {
		cache[off] = 1
	}
	fmt.Printf("mmap_ms=%.3f pages_read=%d sum=%d heap_mib=%d\nready\n",
		float64(took.Microseconds())/1000, (len(data)+step-1)/step, sum,
		len(cache)>>20)
	buf := make([]byte, 1)
	os.Stdin.Read(buf)
}
