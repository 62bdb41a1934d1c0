package safefile

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// openUnnamed creates an unnamed regular file in dir (O_TMPFILE) with mode
// 0666 less the umask; it disappears with its last descriptor unless
// linkUnnamed names it. It fails where the kernel or the file system
// lacks O_TMPFILE.
func openUnnamed(dir string) (*os.File, error) {
	if noUnnamed {
		return nil, errors.ErrUnsupported
	}
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o666)
	if err != nil {
		return nil, &os.PathError{Op: "open O_TMPFILE", Path: dir, Err: err}
	}
	return os.NewFile(uintptr(fd), dir+"/(unnamed)"), nil
}

// noUnnamed turns openUnnamed off (tests of the named-temporary path).
var noUnnamed = false

// linkUnnamed gives the unnamed file f the name name (which must not
// exist): through /proc/self/fd, which needs no privilege, or AT_EMPTY_PATH.
func linkUnnamed(f *os.File, name string) error {
	fd := int(f.Fd())
	err := unix.Linkat(unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", fd), unix.AT_FDCWD, name, unix.AT_SYMLINK_FOLLOW)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		if err2 := unix.Linkat(fd, "", unix.AT_FDCWD, name, unix.AT_EMPTY_PATH); err2 == nil {
			return nil
		}
	}
	if err != nil {
		return &os.LinkError{Op: "linkat", Old: f.Name(), New: name, Err: err}
	}
	return nil
}

// lock takes an exclusive flock on f, held until f is closed (best
// effort: some file systems have no flock).
func lock(f *os.File) {
	unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
}

// tryLock reports whether an exclusive flock on f could be taken: no other
// open file holds one.
func tryLock(f *os.File) bool {
	return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil
}

// keepOwner gives f the owner and group of the file fi describes, where
// they differ and the process may (best effort).
func keepOwner(f *os.File, fi os.FileInfo) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	var cur unix.Stat_t
	if unix.Fstat(int(f.Fd()), &cur) != nil || (cur.Uid == st.Uid && cur.Gid == st.Gid) {
		return
	}
	f.Chown(int(st.Uid), int(st.Gid))
}

// openNoFollow opens p for reading unless it is a symbolic link.
func openNoFollow(p string) (*os.File, error) { return os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW, 0) }
