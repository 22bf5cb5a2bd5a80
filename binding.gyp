{
  "variables": {
    "nt_cflags": ["-O3", "-fno-math-errno", "-fno-trapping-math", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"]
  },
  "targets": [
    {
      "target_name": "nt_avx2",
      "type": "static_library",
      "include_dirs": ["native/include", "native"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "<@(nt_cflags)", "-fPIC"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES"
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 1 }
      },
      "conditions": [
        ["target_arch=='x64'", {
          "sources": ["<!@(node scripts/list-sources.js avx2)"],
          "cflags_cc": ["-mavx2", "-mfma"],
          "defines": ["NT_HAVE_AVX2_KERNELS"]
        }, {
          "sources": ["scripts/empty.cc"]
        }]
      ]
    },
    {
      "target_name": "nt_avx512",
      "type": "static_library",
      "include_dirs": ["native/include", "native"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "<@(nt_cflags)", "-fPIC"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES"
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 1 }
      },
      "conditions": [
        ["target_arch=='x64'", {
          "sources": ["<!@(node scripts/list-sources.js avx512)"],
          "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma", "-mprefer-vector-width=512"],
          "defines": ["NT_HAVE_AVX512_KERNELS"]
        }, {
          "sources": ["scripts/empty.cc"]
        }]
      ]
    },
    {
      "target_name": "nodetrain",
      "dependencies": ["nt_avx2", "nt_avx512"],
      "sources": ["<!@(node scripts/list-sources.js core)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native/include", "native"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "<@(nt_cflags)", "-pthread"],
      "ldflags": ["-pthread", "-static-libstdc++", "-static-libgcc"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES"
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 1 }
      },
      "conditions": [
        ["target_arch=='x64'", { "defines": ["NT_HAVE_AVX2_KERNELS", "NT_HAVE_AVX512_KERNELS"] }],
        ["OS=='linux' and target_arch=='x64'", { "ldflags": ["@<(module_root_dir)/native/cpu/glibc_compat.ldflags"] }]
      ]
    }
  ]
}
