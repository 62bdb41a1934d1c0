//go:build !linux

package safefile

import (
	"errors"
	"os"
)

// Outside Linux temporary files are always named; stale ones are not
// removed (no lock tells whether their writer is gone).

func openUnnamed(dir string) (*os.File, error) { return nil, errors.ErrUnsupported }

func linkUnnamed(f *os.File, name string) error { return errors.ErrUnsupported }

func lock(f *os.File) {}

func tryLock(f *os.File) bool { return false }

func keepOwner(f *os.File, fi os.FileInfo) {}

func openNoFollow(p string) (*os.File, error) { return os.Open(p) }
