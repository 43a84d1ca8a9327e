{
  "targets": [
    {
      "target_name": "tunstack_tun",
      "sources": ["stack/link/tun/native/tun.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS"]
    }
  ]
}
