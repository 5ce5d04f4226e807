{
  "targets": [
    {
      "target_name": "tlens_native",
      "sources": [
        "native/addon.c",
        "native/threadpool.c",
        "native/gemm.c",
        "native/gemm_core.c",
        "native/ops.c",
        "native/ops_generic.c",
        "native/ops_avx2.c",
        "native/ops_avx512.c",
        "native/grad.c"
      ],
      "cflags": ["-O3", "-std=gnu11", "-fno-math-errno", "-fno-trapping-math", "-pthread", "-Wall", "-Wno-unused-function"],
      "cflags!": ["-O2", "-O0"],
      "ldflags": ["-pthread"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-std=gnu11"] }
    }
  ]
}
