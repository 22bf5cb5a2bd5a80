# The bench build of the addon: the same sources and flags as the root binding.gyp, plus
# native/bench/ (benchmark-only entry points such as memoryPassBench) under NT_BENCH. Built by
# scripts/bench/optim.js on first use into scripts/bench/native/build/; never shipped.
{
  "variables": {
    "nt_cflags": ["-O3", "-fno-math-errno", "-fno-trapping-math", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"]
  },
  "targets": [
    {
      "target_name": "nt_avx2",
      "type": "static_library",
      "include_dirs": ["../../../native/include", "../../../native"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "<@(nt_cflags)", "-fPIC"],
      "conditions": [
        ["target_arch=='x64'", {
          "sources": ["<!@(node ../../list-sources.js avx2 --prefix=../../../)"],
          "cflags_cc": ["-mavx2", "-mfma"],
          "defines": ["NT_HAVE_AVX2_KERNELS"]
        }, {
          "sources": ["../../empty.cc"]
        }]
      ]
    },
    {
      "target_name": "nt_avx512",
      "type": "static_library",
      "include_dirs": ["../../../native/include", "../../../native"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "<@(nt_cflags)", "-fPIC"],
      "conditions": [
        ["target_arch=='x64'", {
          "sources": ["<!@(node ../../list-sources.js avx512 --prefix=../../../)"],
          "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma", "-mprefer-vector-width=512"],
          "defines": ["NT_HAVE_AVX512_KERNELS"]
        }, {
          "sources": ["../../empty.cc"]
        }]
      ]
    },
    {
      "target_name": "nodetrain",
      "dependencies": ["nt_avx2", "nt_avx512"],
      "sources": ["<!@(node ../../list-sources.js core --prefix=../../../)", "<!@(node ../../list-sources.js bench --prefix=../../../)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "../../../native/include", "../../../native"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "NT_BENCH"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "<@(nt_cflags)", "-pthread"],
      "ldflags": ["-pthread"],
      "conditions": [["target_arch=='x64'", { "defines": ["NT_HAVE_AVX2_KERNELS", "NT_HAVE_AVX512_KERNELS"] }]]
    }
  ]
}
