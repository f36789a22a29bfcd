/* The studio's configuration of wabt's wasm2c runtime for 32-bit x86 guests (v86).
 *
 * studio.compile.toolchain.runtime_dir() copies Debian's /usr/include/wasm-rt.h beside the
 * translated module as wasm-rt-upstream.h and this file as wasm-rt.h, so prog.c, wasm-rt-impl.c
 * and wasi_runtime.c all see it.
 *
 * Why: on a 32-bit host wasm2c checks every load and store explicitly (a 64-bit compare of the
 * address against memory->size, which in this register-starved target means reloading the memory
 * descriptor after every store) and counts the call depth in a global on every call. Inside v86
 * every extra memory operand costs a TLB lookup of the emulated MMU: translated programs ran
 * 3.6-4.5x their native time. Instead:
 *
 *  - Linear memory lives at the start of a fixed reservation of STUDIO_WASM_RESERVE bytes (1 GiB)
 *    plus a guard region, all PROT_NONE except the memory's current size. Every load and store
 *    masks its address with STUDIO_WASM_RESERVE - 1: an access can never leave the reservation,
 *    so it can never touch the runtime, the stack or libc (the sandbox stays memory-safe).
 *    An access past the memory's size but inside the reservation hits PROT_NONE pages: SIGSEGV,
 *    reported as "out of bounds memory access" by wasi_runtime.c, exit status 134, as a trap.
 *    Trade-off: an address of 1 GiB or more wraps into the reservation instead of trapping (the
 *    spec says trap). It stays inside the module's own memory (or faults): safe, not exact.
 *  - No call-depth counter: the native stack's guard gap catches runaway recursion (SIGSEGV on
 *    an alternate signal stack, reported as "call stack exhausted"). The old counter also
 *    trapped any recursion deeper than 500 calls, which native programs do without trouble.
 *  - The memory is mmap'd, so the kernel zeroes it lazily (zig's calloc memset the 16 MiB that
 *    zig's wasm-ld gives a module, at every start).
 *
 * Build with -DSTUDIO_WASM_CHECKED=1 to get upstream's explicit checks back (exact traps). */
#ifndef STUDIO_WASM_RT_H_
#define STUDIO_WASM_RT_H_

#ifndef STUDIO_WASM_CHECKED
#define STUDIO_WASM_CHECKED 0
#endif

#define STUDIO_WASM_RESERVE 0x40000000u /* 1 GiB: a power of two, the mask is this - 1 */
/* With STUDIO_WASM_FIXED_BASE the reservation sits at a fixed address, so an access is
 * BASE + (addr & mask): no load of the memory's base, which a store could have changed (the
 * compiler must assume so), before each access. One memory per module (a second one fails). */
#ifndef STUDIO_WASM_FIXED_BASE
#define STUDIO_WASM_FIXED_BASE 1 /* bench/bench_wasm_speed.py: sort+hash 1.93x -> 1.41x, mix 1.57x -> 1.07x */
#endif
#define STUDIO_WASM_BASE 0x40000000
#define STUDIO_WASM_GUARD 0x10000u      /* past the reservation: catches an 8-byte access at its end */

#if !STUDIO_WASM_CHECKED
/* prog.c's MEMCHECK becomes empty and the depth counter off; upstream's signal handler (which
 * reserves 8 GiB, impossible here) is never installed: wasi_runtime.c has its own. */
#define WASM_RT_MEMCHECK_SIGNAL_HANDLER 1
#define WASM_RT_SKIP_SIGNAL_RECOVERY 1
#ifdef WASM_RT_IMPL_H_
/* Inside wasm-rt-impl.c: its allocator (calloc/realloc, or the 8 GiB reservation) is renamed out
 * of the way; wasi_runtime.c defines the real ones over the 1 GiB reservation. */
#define wasm_rt_allocate_memory wasm_rt_allocate_memory_upstream_unused
#define wasm_rt_grow_memory wasm_rt_grow_memory_upstream_unused
#define wasm_rt_free_memory wasm_rt_free_memory_upstream_unused
/* the renamed 8 GiB reservation truncates on 32 bits: dead code, its warning is noise */
#pragma clang diagnostic ignored "-Wconstant-conversion"
#endif
#endif

#include "wasm-rt-upstream.h"

#if !STUDIO_WASM_CHECKED
/* wasm2c 1.0.32 writes every load as wasm_rt_memcpy(&result, &mem->data[addr], n) and every store
 * as wasm_rt_memcpy(&mem->data[addr], &wrapped, n), inside functions whose parameters are `mem`
 * and `addr`. The copy goes through the masked address instead. The argument texts are compared
 * at compile time (the comparisons fold away); any other use links against a function that does
 * not exist, so a wasm2c that writes its accesses differently fails to build instead of running
 * unchecked. */
void studio_wasm2c_access_not_recognised(void);
#if STUDIO_WASM_FIXED_BASE
/* The base as a symbol at an absolute address (wasi_runtime.c sets it to STUDIO_WASM_BASE), not as
 * a literal: the compiler folds a symbol into each access's displacement, `mov 0x40000000(%eax)`,
 * where it kept a literal in a register (one fewer free register in a 7-register target, and
 * saved/restored in every function). The interpreter of bench_wasm_speed: 9% fewer instructions. */
#ifndef STUDIO_WASM_BASE_SYMBOL
#define STUDIO_WASM_BASE_SYMBOL 1
#endif
#if STUDIO_WASM_BASE_SYMBOL
extern uint8_t studio_wasm_base[];
#define STUDIO_WASM_AT (studio_wasm_base + ((uint32_t)(addr) & (STUDIO_WASM_RESERVE - 1u)))
#else
#define STUDIO_WASM_AT ((uint8_t *)(uintptr_t)STUDIO_WASM_BASE + ((uint32_t)(addr) & (STUDIO_WASM_RESERVE - 1u)))
#endif
#elif !defined(STUDIO_WASM_UNSAFE_NO_MASK) /* for bench/bench_wasm_speed.py's measurement only */
#define STUDIO_WASM_AT (mem->data + ((uint32_t)(addr) & (STUDIO_WASM_RESERVE - 1u)))
#else
#define STUDIO_WASM_AT (mem->data + (uint32_t)(addr))
#endif
#undef wasm_rt_memcpy
#define wasm_rt_memcpy(d, s, n)                                                                   \
  (__builtin_strcmp(#d, "&result") == 0 && __builtin_strcmp(#s, "&mem->data[addr]") == 0         \
       ? (void)__builtin_memcpy((d), STUDIO_WASM_AT, (n))                                         \
   : __builtin_strcmp(#d, "&mem->data[addr]") == 0 && __builtin_strcmp(#s, "&wrapped") == 0      \
       ? (void)__builtin_memcpy(STUDIO_WASM_AT, (s), (n))                                         \
       : studio_wasm2c_access_not_recognised())
#endif

#endif /* STUDIO_WASM_RT_H_ */
