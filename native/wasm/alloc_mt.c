// The heap of the threaded wasm build: malloc/free/posix_memalign safe to call from any thread (a spin lock), in
// place of wasi-libc's single-threaded dlmalloc. Small blocks come in power-of-two classes (64 B .. 1 MiB) kept on
// free lists; larger ones are whole 64 KiB pages reused first-fit. Blocks are never split or merged: the kernels
// allocate few, long-lived blocks (GEMM scratch that only grows, packed weights).
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define HDR 64                 // header before every block (keeps 64-byte alignment)
#define SMALL_CLASSES 15       // 64 B << c, c < 15: up to 1 MiB
#define PAGE 65536

typedef struct blk {
  size_t size;       // usable bytes after the header
  int cls;           // class, or -1 for a large block
  struct blk *next;  // on a free list
} blk;

static atomic_flag lock = ATOMIC_FLAG_INIT;
static blk *free_small[SMALL_CLASSES];
static blk *free_large;
static uintptr_t top;  // end of the heap (0 until first use)

extern unsigned char __heap_base;

static void acquire(void) {
  while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire)) {
  }
}
static void release(void) { atomic_flag_clear_explicit(&lock, memory_order_release); }

// Takes `bytes` from the end of the heap, growing the memory as needed; 0 when it cannot grow.
static uintptr_t carve(size_t bytes) {
  if (!top) top = ((uintptr_t)&__heap_base + HDR - 1) & ~(uintptr_t)(HDR - 1);
  uintptr_t end = top + bytes;
  if (end < top) return 0;
  size_t have = __builtin_wasm_memory_size(0) * (size_t)PAGE;
  if (end > have) {
    size_t pages = (end - have + PAGE - 1) / PAGE;
    if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return 0;
  }
  uintptr_t p = top;
  top = end;
  return p;
}

static blk *alloc_block(size_t n) {
  blk *b = NULL;
  if (n <= ((size_t)64 << (SMALL_CLASSES - 1))) {
    int c = 0;
    while (((size_t)64 << c) < n) c++;
    if (free_small[c]) {
      b = free_small[c];
      free_small[c] = b->next;
    } else {
      uintptr_t p = carve(HDR + ((size_t)64 << c));
      if (!p) return NULL;
      b = (blk *)p;
      b->size = (size_t)64 << c;
      b->cls = c;
    }
  } else {
    for (blk **pp = &free_large; *pp; pp = &(*pp)->next)
      if ((*pp)->size >= n) {
        b = *pp;
        *pp = b->next;
        break;
      }
    if (!b) {
      size_t size = (n + HDR + PAGE - 1) / PAGE * PAGE - HDR;
      uintptr_t p = carve(HDR + size);
      if (!p) return NULL;
      b = (blk *)p;
      b->size = size;
      b->cls = -1;
    }
  }
  return b;
}

void *malloc(size_t n) {
  acquire();
  blk *b = alloc_block(n ? n : 1);
  release();
  return b ? (unsigned char *)b + HDR : NULL;
}

void free(void *p) {
  if (!p) return;
  blk *b = (blk *)((unsigned char *)p - HDR);
  if (b->cls == -2) b = *(blk **)((unsigned char *)p - sizeof(blk *) - sizeof(int) * 2);  // see posix_memalign
  acquire();
  if (b->cls >= 0) {
    b->next = free_small[b->cls];
    free_small[b->cls] = b;
  } else {
    b->next = free_large;
    free_large = b;
  }
  release();
}

// Alignments above 64 bytes: a block with room to align, and a small forwarding header just before the aligned
// pointer (cls -2, then the real block) so that free finds it.
int posix_memalign(void **out, size_t align, size_t n) {
  if (align <= HDR) {
    *out = malloc(n);
    return *out ? 0 : 12;
  }
  unsigned char *raw = malloc(n + align + HDR);
  if (!raw) return 12;
  uintptr_t a = ((uintptr_t)raw + HDR + align - 1) & ~(uintptr_t)(align - 1);
  blk *fwd = (blk *)(a - HDR);
  fwd->cls = -2;
  *(blk **)(a - sizeof(blk *) - sizeof(int) * 2) = (blk *)(raw - HDR);
  *out = (void *)a;
  return 0;
}
