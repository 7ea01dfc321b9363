{
  "targets": [
    {
      "target_name": "kiln_agent",
      "sources": [
        "src/addon.cc",
        "src/libbpf_log.cc",
        "src/doctor.cc",
        "src/bpf_session.cc",
        "src/event_watch.cc",
        "src/span_capture.cc",
        "src/span_session.cc",
        "src/sched_capture.cc",
        "src/retransmit_capture.cc",
        "src/signal_session.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "../../bpf/.output"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags_cc": ["-iquote", "<(module_root_dir)/../../bpf", "-std=c++20", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2", "-Wall", "-Wextra", "-Wno-missing-field-initializers", "-Wno-unused-parameter"],
      "ldflags": ["-Wl,-z,relro,-z,now"],
      "libraries": ["<!@(pkg-config --libs libbpf)"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
