package glrt

// hazards tracks shader accesses to buffers since the last glMemoryBarrier, so
// that barriers go exactly where the GL memory model needs them:
//
//   - Shader writes to a storage buffer are incoherent: a later dispatch reading
//     the buffer as an SSBO needs GL_SHADER_STORAGE_BARRIER_BIT, as a UBO needs
//     GL_UNIFORM_BARRIER_BIT, and glGetBufferSubData / glCopyBufferSubData /
//     glBufferSubData touching it need GL_BUFFER_UPDATE_BARRIER_BIT.
//   - Two dispatches may overlap on real GPUs (radeonsi, for one, does not wait
//     between dispatches unless told to), so a dispatch that writes a buffer an
//     earlier unbarriered dispatch read or wrote (WAR, WAW) also needs
//     GL_SHADER_STORAGE_BARRIER_BIT.
//   - Writes by GL commands (glBufferSubData, glCopyBufferSubData,
//     glClearBufferSubData) are ordered with later commands by GL itself and
//     need no barrier before a dispatch reads them.
//
// It is keyed by GL buffer name and works on whole buffers (not ranges), which
// can only add barriers, never drop one.
type hazards struct {
	// pending maps a buffer written by a shader to the barrier bits that have
	// not been issued since that write.
	pending map[uint32]uint32
	// reads holds buffers read by a shader since the last storage barrier.
	reads map[uint32]struct{}
}

// use is one buffer binding of a dispatch.
type use struct {
	id      uint32
	uniform bool // bound as a UBO (read only)
	write   bool // the shader may write it
}

const pendingAll = glSHADER_STORAGE_BARRIER_BIT | glUNIFORM_BARRIER_BIT | glBUFFER_UPDATE_BARRIER_BIT

func newHazards() hazards {
	return hazards{pending: map[uint32]uint32{}, reads: map[uint32]struct{}{}}
}

// dispatch returns the barrier bits to issue before a dispatch with these
// bindings (0: none), and records the dispatch's accesses.
func (h *hazards) dispatch(uses []use) uint32 {
	var bits uint32
	for _, u := range uses {
		p := h.pending[u.id]
		if u.uniform {
			bits |= p & glUNIFORM_BARRIER_BIT // RAW through a UBO
		} else {
			bits |= p & glSHADER_STORAGE_BARRIER_BIT // RAW or WAW through an SSBO
		}
		if u.write {
			if _, ok := h.reads[u.id]; ok {
				bits |= glSHADER_STORAGE_BARRIER_BIT // WAR
			}
		}
	}
	if bits != 0 {
		h.barrier(bits)
	}
	for _, u := range uses {
		h.reads[u.id] = struct{}{}
		if u.write {
			h.pending[u.id] = pendingAll
		}
	}
	return bits
}

// host returns the barrier bits to issue before a GL command (buffer upload,
// download or copy) reads or writes the buffer, and records the barrier.
func (h *hazards) host(id uint32) uint32 {
	bits := h.pending[id] & glBUFFER_UPDATE_BARRIER_BIT
	if bits != 0 {
		h.barrier(bits)
	}
	return bits
}

// barrier records that glMemoryBarrier(bits) was issued.
func (h *hazards) barrier(bits uint32) {
	for id, p := range h.pending {
		if p &^= bits; p == 0 {
			delete(h.pending, id)
		} else {
			h.pending[id] = p
		}
	}
	if bits&glSHADER_STORAGE_BARRIER_BIT != 0 {
		clear(h.reads)
	}
}

// forget drops a deleted buffer.
func (h *hazards) forget(id uint32) {
	delete(h.pending, id)
	delete(h.reads, id)
}
