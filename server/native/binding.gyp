{
  "targets": [
    {
      "target_name": "kiln_server",
      "sources": ["src/addon.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags_cc": ["-std=c++20", "-O2", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2", "-Wall", "-Wextra", "-Wno-missing-field-initializers", "-Wno-unused-parameter"],
      "ldflags": ["-Wl,-z,relro,-z,now"],
      "libraries": ["<!@(pkg-config --libs libdeflate)"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
