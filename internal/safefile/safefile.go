package safefile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrPath marks errors about an output path itself: a directory, a block
// device or socket, a missing or unwritable directory, a symbolic-link
// loop, a name written twice in one Set. Programs report these as bad
// arguments; other errors (a full disk, an I/O error, the write function's
// own) are failures of valid work.
var ErrPath = errors.New("unusable output path")

// maxLinks bounds the symbolic links followed from an output path (the
// kernel's limit).
const maxLinks = 40

// Write creates or replaces the file at path with what write produces,
// atomically: a Set of one file.
func Write(path string, write func(io.Writer) error) error {
	var s Set
	if err := s.Add(path, write); err != nil {
		return err
	}
	return s.Commit()
}

// Set writes several output files all or nothing. Add writes each file's
// content to a temporary file in its target's directory; Commit then
// renames them over their targets, or, if any step fails, leaves every
// target as it was. Abort (or an error from Add) discards the set.
//
// For each path:
//   - A symbolic link is followed (up to 40 links) and its final target
//     is replaced; the link itself stays.
//   - A regular file keeps its permission bits (and, where the process may
//     set them, its owner and group). A new file gets mode 0666 less the
//     process umask, like os.Create.
//   - A character device or a named pipe (/dev/null, /dev/stdout) is
//     written in place, without a temporary file, after every renamed file
//     of the set is in place; such a write cannot be undone.
//   - A directory, block device or socket is refused (ErrPath).
//
// No temporary file outlives the process that made it: on Linux the
// content is first written to an unnamed file (O_TMPFILE), which gets a
// name only for the moment of the rename. Where that is not available the
// temporary is named ".NAME.tmp-DIGITS" and locked (flock) while in use,
// and the next write of the same target removes such files whose writer
// is gone.
type Set struct {
	files []*file
	done  bool
}

type file struct {
	path    string      // as given
	target  string      // path with its symbolic links followed
	stat    os.FileInfo // the target's (nil: it does not exist yet)
	through bool        // a character device or pipe, written in place at Commit
	write   func(io.Writer) error
	f       *os.File // the temporary file, open (and locked) until the set ends
	tmp     string   // its name ("" while unnamed)
	backup  string   // a second name of the replaced file while Commit runs
	renamed bool     // Commit moved tmp over target
}

// Add prepares path for the set: for a regular (or new) file it writes the
// content with write (buffered, then fsynced) into a temporary file; for a
// character device or pipe it keeps write for Commit. Any error, or a
// panic in write, aborts the whole set.
func (s *Set) Add(path string, write func(io.Writer) error) (err error) {
	if s.done {
		return fmt.Errorf("write %s: safefile: the set was already committed or aborted", path)
	}
	ok := false
	defer func() {
		if !ok {
			s.Abort()
		}
	}()
	fl, err := s.prepare(path)
	if err != nil {
		return err
	}
	fl.write = write
	s.files = append(s.files, fl)
	if !fl.through {
		if err := fl.fill(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	ok = true
	return nil
}

// prepare resolves path, checks its target and (for a file) creates the
// temporary file.
func (s *Set) prepare(path string) (*file, error) {
	pathErr := func(format string, args ...any) error {
		return fmt.Errorf("write %s: %w: %s", path, ErrPath, fmt.Sprintf(format, args...))
	}
	if path == "" {
		return nil, pathErr("empty file name")
	}
	target, err := resolve(path)
	if err != nil {
		return nil, pathErr("%v", err)
	}
	fl := &file{path: path, target: target}
	fi, err := os.Stat(target)
	switch {
	case err == nil:
		m := fi.Mode()
		switch {
		case m.IsRegular():
		case m&os.ModeCharDevice != 0, m&os.ModeNamedPipe != 0:
			fl.through = true
		case m.IsDir():
			return nil, pathErr("%s is a directory", target)
		default:
			return nil, pathErr("%s is not a regular file, character device or pipe (%v)", target, m.Type())
		}
		fl.stat = fi
	case errors.Is(err, fs.ErrNotExist):
	default:
		return nil, pathErr("%v", err)
	}
	for _, o := range s.files {
		if o.target == target || (o.stat != nil && fl.stat != nil && os.SameFile(o.stat, fl.stat)) {
			return nil, pathErr("the same file as %s, written twice", o.path)
		}
	}
	if fl.through {
		return fl, nil
	}
	dir, base := splitPath(target)
	if di, err := os.Stat(dir); err != nil {
		return nil, pathErr("directory %s: %v", dir, errors.Unwrap(err))
	} else if !di.IsDir() {
		return nil, pathErr("%s is not a directory", dir)
	}
	removeStale(dir, base)
	f, err := openUnnamed(dir)
	if err != nil {
		f, fl.tmp, err = createNamed(dir, base)
		if err != nil {
			return nil, osErr(path, err)
		}
	}
	fl.f = f
	lock(f)
	return fl, nil
}

// osErr wraps an error of the file system about path, marking those that
// say the path cannot be written (rather than that writing failed) with
// ErrPath.
func osErr(path string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ENOENT, syscall.ENOTDIR, syscall.EACCES, syscall.EPERM, syscall.ENAMETOOLONG,
			syscall.ELOOP, syscall.EISDIR, syscall.EROFS, syscall.EXDEV:
			return fmt.Errorf("write %s: %w: %v", path, ErrPath, err)
		}
	}
	return fmt.Errorf("write %s: %w", path, err)
}

// splitPath returns the directory (never "") and the last element of p.
func splitPath(p string) (dir, base string) {
	dir, base = filepath.Split(p)
	if dir == "" {
		dir = "."
	}
	return dir, base
}

// resolve follows the symbolic links of path's last element and returns
// the path of the file they lead to (which may not exist yet).
func resolve(path string) (string, error) {
	p := path
	for range maxLinks {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return p, nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return p, nil
		}
		t, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(t) {
			// Relative to the link's directory, joined without cleaning so
			// that ".." means what it means to the kernel.
			dir, _ := filepath.Split(p)
			t = dir + t
		}
		p = t
	}
	return "", fmt.Errorf("%s: more than %d symbolic links", path, maxLinks)
}

// fill writes the content into the temporary file, gives it the replaced
// file's mode and owner, and syncs it.
func (fl *file) fill() error {
	bw := bufio.NewWriterSize(fl.f, 1<<16)
	if err := fl.write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if fl.stat != nil {
		keepOwner(fl.f, fl.stat)
		if err := fl.f.Chmod(fl.stat.Mode().Perm()); err != nil {
			return err
		}
	}
	if err := fl.f.Sync(); err != nil {
		return fmt.Errorf("fsync: %w", err)
	}
	return nil
}

// tmpPrefix is the name prefix of base's temporary files: ".BASE.tmp-"
// (BASE cut to 200 bytes, so that the name fits the 255-byte limit).
func tmpPrefix(base string) string {
	if len(base) > 200 {
		base = base[:200]
	}
	return "." + base + ".tmp-"
}

// tmpName returns a fresh temporary name for base in dir.
func tmpName(dir, base string) string {
	return filepath.Join(dir, tmpPrefix(base)+strconv.FormatUint(rand.Uint64(), 10))
}

// isTmpName reports whether name is one of base's temporary names: the
// prefix, then only digits (also the names os.CreateTemp gave earlier
// versions).
func isTmpName(name, base string) bool {
	digits, ok := strings.CutPrefix(name, tmpPrefix(base))
	if !ok || digits == "" || len(digits) > 20 {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// createNamed creates a new temporary file for base in dir, mode 0666 less
// the umask.
func createNamed(dir, base string) (*os.File, string, error) {
	for range 100 {
		name := tmpName(dir, base)
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", fmt.Errorf("no unused temporary name in %s", dir)
}

// removeStale removes base's temporary files in dir whose writer has gone
// (a killed write), as far as locks can tell.
func removeStale(dir, base string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, n := range names {
		if !isTmpName(n, base) {
			continue
		}
		p := filepath.Join(dir, n)
		f, err := openNoFollow(p)
		if err != nil {
			continue
		}
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && tryLock(f) {
			os.Remove(p) // nobody holds it: its writer is gone
		}
		f.Close()
	}
}

// Commit renames every temporary file over its target, then writes the
// devices and pipes. If a rename fails, the targets already replaced are
// restored (from a second name each kept until the end) and the new files
// removed, so the set changes nothing. Commit ends the set.
func (s *Set) Commit() error {
	if s.done {
		return errors.New("safefile: the set was already committed or aborted")
	}
	defer s.Abort()
	for _, fl := range s.files {
		if fl.through || fl.tmp != "" {
			continue
		}
		if err := fl.name(); err != nil {
			return osErr(fl.path, err)
		}
	}
	for _, fl := range s.files {
		if fl.through {
			continue
		}
		if fl.stat != nil {
			b := tmpName(splitPath(fl.target))
			if os.Link(fl.target, b) == nil {
				fl.backup = b
			}
		}
		if err := os.Rename(fl.tmp, fl.target); err != nil {
			s.rollback()
			return osErr(fl.path, err)
		}
		fl.tmp, fl.renamed = "", true
	}
	dirs := map[string]bool{}
	for _, fl := range s.files {
		if dir, _ := splitPath(fl.target); !fl.through && !dirs[dir] {
			dirs[dir] = true
			if d, err := os.Open(dir); err == nil {
				d.Sync() // best effort: some file systems cannot sync a directory
				d.Close()
			}
		}
	}
	for _, fl := range s.files {
		if fl.through {
			if err := fl.writeThrough(); err != nil {
				return fmt.Errorf("write %s: %w", fl.path, err)
			}
		}
	}
	return nil
}

// name links an unnamed temporary file into its directory, or, where that
// fails, copies it into a named one.
func (fl *file) name() error {
	dir, base := splitPath(fl.target)
	for range 100 {
		n := tmpName(dir, base)
		err := linkUnnamed(fl.f, n)
		if err == nil {
			fl.tmp = n
			return nil
		}
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	f, n, err := createNamed(dir, base)
	if err != nil {
		return err
	}
	lock(f)
	old := fl.f
	fl.f, fl.tmp = f, n
	defer old.Close()
	if _, err := old.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := io.Copy(f, old); err != nil {
		return err
	}
	if fi, err := old.Stat(); err == nil {
		keepOwner(f, fi)
		if err := f.Chmod(fi.Mode().Perm()); err != nil {
			return err
		}
	}
	return f.Sync()
}

// rollback undoes the renames of a failed Commit.
func (s *Set) rollback() {
	for i := len(s.files) - 1; i >= 0; i-- {
		fl := s.files[i]
		if !fl.renamed {
			continue
		}
		if fl.backup != "" {
			if os.Rename(fl.backup, fl.target) == nil {
				fl.backup = ""
			}
		} else if fl.stat == nil {
			os.Remove(fl.target)
		}
		fl.renamed = false
	}
}

// writeThrough writes a device or pipe in place.
func (fl *file) writeThrough() error {
	f, err := os.OpenFile(fl.target, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return err
	} else if fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s became a regular file", ErrPath, fl.target)
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := fl.write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// Abort discards the set: it closes and removes the temporary files and
// the second names Commit made. Safe to call twice, and after Commit.
func (s *Set) Abort() {
	for _, fl := range s.files {
		if fl.f != nil {
			if fl.tmp != "" {
				os.Remove(fl.tmp) // before Close: the lock keeps cleaners off
			}
			fl.f.Close()
			fl.f, fl.tmp = nil, ""
		}
		if fl.backup != "" {
			os.Remove(fl.backup)
			fl.backup = ""
		}
	}
	s.done = true
}

// Same reports whether the paths a and b name the same existing file
// (through symbolic and hard links).
func Same(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(fa, fb)
}
