{
  "targets": [
    {
      "target_name": "tlens_native",
      "sources": [
        "native/addon.c",
        "native/threadpool.c",
        "native/napi_args.c",
        "native/gemm.c",
        "native/gemm_core.c",
        "native/gemm_matrix.c",
        "native/gemm_pack.c",
        "native/gemm_scratch.c",
        "native/gemm_config.c",
        "native/gemm_kern_generic.c",
        "native/gemm_kern_avx2.c",
        "native/gemm_kern_avx512.c",
        "native/gemm_bf16.c",
        "native/gemm_bf16_kern.c",
        "native/gemm_bf16_amx.c",
        "native/gemm_bf16_napi.c",
        "native/ops.c",
        "native/ops_isa.c",
        "native/ops_dims.c",
        "native/ops_elementwise.c",
        "native/ops_reduce.c",
        "native/ops_rows.c",
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
