// The kernels' thread pool on wasm, single-threaded: every task runs on the calling thread, in order.
#include "../threadpool.h"

int tl_num_threads(void) { return 1; }

void tl_parallel_for(int n_tasks, tl_task_fn fn, void *ctx) {
  for (int t = 0; t < n_tasks; t++) fn(ctx, t, 0);
}
