// Package safefile writes the output files of qgpu's commands and of
// package qtensor's Save functions so that nothing is lost or clobbered:
// a file is replaced atomically (a reader sees the old content or the new,
// never a part), several files are replaced all or nothing (Set), symbolic
// links are written through to their targets, an existing file keeps its
// mode, a character device or pipe is written in place instead of being
// replaced by a regular file, and a write that is killed leaves no
// temporary file behind.
package safefile
