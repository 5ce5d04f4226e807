// Single-threaded stand-in for <pthread.h> in the wasm build (wasi-libc's single-thread target has none): the
// shared kernels only use once-initialisation and a mutex, which are trivial on one thread.
#ifndef TL_WASM_PTHREAD_H
#define TL_WASM_PTHREAD_H
typedef int pthread_once_t;
typedef int pthread_mutex_t;
#define PTHREAD_ONCE_INIT 0
#define PTHREAD_MUTEX_INITIALIZER 0
static inline int pthread_once(pthread_once_t *once, void (*init)(void)) {
  if (!*once) {
    *once = 1;
    init();
  }
  return 0;
}
static inline int pthread_mutex_lock(pthread_mutex_t *m) { (void)m; return 0; }
static inline int pthread_mutex_unlock(pthread_mutex_t *m) { (void)m; return 0; }
#endif
