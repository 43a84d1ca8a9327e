/*
 * tunstack_tun: the Node-API addon behind stack/link/tun (replaces the unpublished `tuntap2`).
 *
 * It opens /dev/net/tun (IFF_TUN | IFF_NO_PI, optionally IFF_VNET_HDR with a 10-byte
 * virtio_net_hdr and TUNSETOFFLOAD), watches the non-blocking fd with a libuv uv_poll on the
 * thread's own loop (no reader thread, no thread-pool reads) and, per readiness wakeup, reads
 * every ready packet (up to batchMax) into slots of one ArrayBuffer shared with JS, then makes ONE
 * call into JS with the count. JS owns the slot bookkeeping (a free stack in a shared Int32Array:
 * slots it holds as zero-copy mbuf clusters are not on it); when the stack is empty the i-th packet
 * of a batch goes to overflow slot ringSlots+i, which JS copies out before returning. Writes are
 * batched the same way: JS lays packets out in a shared tx ArrayBuffer and calls write(count) once.
 * Everything runs on the JS thread, so the shared arrays need no synchronisation.
 *
 * JS API (see tun-native.ts for the typed view):
 *   open(name, vnetHdr, offloadFlags) -> { handle, name, offload }   throws Error{code, errno, syscall}
 *   start(handle, rx: ArrayBuffer, ctl: Int32Array, meta: Int32Array, tx: ArrayBuffer,
 *         txMeta: Int32Array, slotSize, ringSlots, batchMax, onBatch(count, errno))
 *   write(handle, count) -> packets written (errors counted in ctl)
 *   close(handle)
 */

#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/ioctl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#endif

/* ctl[] layout, shared with tun-native.ts (CTL_*). */
#define CTL_FREE_COUNT 0   /* entries on the free-slot stack */
#define CTL_TX_ERRNO 1     /* errno of the last failed write */
#define CTL_TX_ERRORS 2    /* failed writes, cumulative */
#define CTL_RX_ERRNO 3     /* errno of the last failed read */
#define CTL_RX_WAKEUPS 4   /* readiness wakeups that read at least one packet, cumulative */
#define CTL_FREE_BASE 8    /* the free-slot stack: ctl[CTL_FREE_BASE .. +count) */

#define VNET_HDR_LEN 10

typedef struct tun_s {
  int fd;
  int vnet;
  napi_env env;
  uv_poll_t *poll;          /* NULL until start; freed by its close callback */
  int polling;
  napi_ref cb_ref, rx_ref, ctl_ref, meta_ref, tx_ref, txmeta_ref;
  napi_async_context actx;
  uint8_t *rx;
  size_t rx_len;
  int32_t *ctl;
  size_t ctl_n;
  int32_t *meta;
  size_t meta_n;
  uint8_t *tx;
  size_t tx_len;
  int32_t *txmeta;
  size_t txmeta_n;
  uint32_t slot_size, ring_slots, batch_max;
} tun_t;

/* ---- errors ---- */

static const char *errno_code(int e) {
  switch (e) {
    case ENOENT: return "ENOENT";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EBUSY: return "EBUSY";
    case EINVAL: return "EINVAL";
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    case EEXIST: return "EEXIST";
    case ENOMEM: return "ENOMEM";
    case EBADF: return "EBADF";
    case ENOTSUP: return "ENOTSUP";
    default: return "EUNKNOWN";
  }
}

/* Throws an Error with .code, .errno and .syscall, like Node's own system errors. */
static void throw_sys(napi_env env, int e, const char *syscall, const char *detail) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s %s: %s", syscall, detail ? detail : "", strerror(e));
  napi_value m, code, err, v;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, errno_code(e), NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, m, &err);
  napi_create_int32(env, e, &v);
  napi_set_named_property(env, err, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, err, "syscall", v);
  napi_throw(env, err);
}

#define CHECK(call)                                                     \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      bool pending_ = false;                                            \
      napi_is_exception_pending(env, &pending_);                        \
      if (!pending_) napi_throw_error(env, NULL, "napi call failed: " #call); \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

/* ---- handle lifetime ---- */

static void on_poll_closed(uv_handle_t *h) { free(h); }

/* Stops polling and drops every reference to JS memory; closes the fd. Idempotent. */
static void tun_shutdown(tun_t *t, napi_env env, int delete_refs) {
  if (t->poll != NULL) {
    uv_poll_stop(t->poll);
    t->poll->data = NULL;
    uv_close((uv_handle_t *)t->poll, on_poll_closed);
    t->poll = NULL;
  }
  t->polling = 0;
  if (t->fd >= 0) {
    close(t->fd);
    t->fd = -1;
  }
  if (delete_refs) {
    napi_ref *refs[] = {&t->cb_ref, &t->rx_ref, &t->ctl_ref, &t->meta_ref, &t->tx_ref, &t->txmeta_ref};
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
      if (*refs[i] != NULL) {
        napi_delete_reference(env, *refs[i]);
        *refs[i] = NULL;
      }
    }
    if (t->actx != NULL) {
      napi_async_destroy(env, t->actx);
      t->actx = NULL;
    }
  }
  t->rx = NULL; t->ctl = NULL; t->meta = NULL; t->tx = NULL; t->txmeta = NULL;
}

static void tun_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  tun_t *t = (tun_t *)data;
  /* References are owned by env and go with it at teardown; delete them only if still valid. */
  tun_shutdown(t, env, 0);
  free(t);
}

static tun_t *get_tun(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, NULL, "not a TUN handle");
    return NULL;
  }
  return (tun_t *)p;
}

/* ---- open ---- */

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "open(name, vnetHdr, offloadFlags)");
    return NULL;
  }
  char name[64];
  size_t name_len = 0;
  CHECK(napi_get_value_string_utf8(env, argv[0], name, sizeof name, &name_len));
  bool vnet = false;
  CHECK(napi_get_value_bool(env, argv[1], &vnet));
  uint32_t want_offload = 0;
  CHECK(napi_get_value_uint32(env, argv[2], &want_offload));

#ifdef __linux__
  if (name_len >= IFNAMSIZ) {
    throw_sys(env, EINVAL, "TUNSETIFF", "(interface name longer than 15 bytes)");
    return NULL;
  }
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    throw_sys(env, errno, "open", "/dev/net/tun");
    return NULL;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name, name_len);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    throw_sys(env, e, "TUNSETIFF", name);
    return NULL;
  }
  uint32_t offload = 0;
  if (vnet) {
    int sz = VNET_HDR_LEN;
    if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
      int e = errno;
      close(fd);
      throw_sys(env, e, "TUNSETVNETHDRSZ", name);
      return NULL;
    }
    /* Offloads are best effort: without them the header stays and carries no offload. */
    if (want_offload != 0 && ioctl(fd, TUNSETOFFLOAD, (unsigned long)want_offload) == 0) offload = want_offload;
  }
  tun_t *t = (tun_t *)calloc(1, sizeof *t);
  if (t == NULL) {
    close(fd);
    throw_sys(env, ENOMEM, "calloc", "");
    return NULL;
  }
  t->fd = fd;
  t->vnet = vnet ? 1 : 0;
  t->env = env;
  napi_value out, handle, v;
  CHECK(napi_create_object(env, &out));
  if (napi_create_external(env, t, tun_finalize, NULL, &handle) != napi_ok) {
    close(fd);
    free(t);
    napi_throw_error(env, NULL, "napi_create_external failed");
    return NULL;
  }
  CHECK(napi_set_named_property(env, out, "handle", handle));
  CHECK(napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &v));
  CHECK(napi_set_named_property(env, out, "name", v));
  CHECK(napi_create_uint32(env, offload, &v));
  CHECK(napi_set_named_property(env, out, "offload", v));
  return out;
#else
  (void)vnet; (void)want_offload;
  throw_sys(env, ENOTSUP, "open", "/dev/net/tun (TUN devices are supported on Linux only)");
  return NULL;
#endif
}

/* ---- receive ---- */

static void call_js(tun_t *t, int count, int err) {
  napi_env env = t->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, argv[2], result;
  if (napi_get_reference_value(env, t->cb_ref, &cb) == napi_ok && cb != NULL) {
    napi_get_global(env, &recv); /* napi_make_callback converts recv to an object */
    napi_create_int32(env, count, &argv[0]);
    napi_create_int32(env, err, &argv[1]);
    napi_status s = napi_make_callback(env, t->actx, recv, cb, 2, argv, &result);
    if (s != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value exc;
        napi_get_and_clear_last_exception(env, &exc);
        napi_fatal_exception(env, exc);   /* to process 'uncaughtException', as an event handler would */
      }
    }
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  (void)events;
  tun_t *t = (tun_t *)h->data;
  if (t == NULL || t->fd < 0 || t->rx == NULL) return;
  int count = 0, err = 0;
  if (status < 0) {
    err = -status;
  } else {
    const uint32_t total = t->ring_slots + t->batch_max;
    while ((uint32_t)count < t->batch_max) {
      int32_t nfree = t->ctl[CTL_FREE_COUNT];
      int32_t slot;
      int from_ring = 0;
      if (nfree > 0 && (size_t)(CTL_FREE_BASE + nfree - 1) < t->ctl_n) {
        slot = t->ctl[CTL_FREE_BASE + nfree - 1];
        from_ring = 1;
      } else {
        slot = (int32_t)(t->ring_slots + (uint32_t)count);
      }
      if (slot < 0 || (uint32_t)slot >= total) {
        err = EINVAL; /* JS corrupted the free stack: stop rather than write out of bounds */
        break;
      }
      if (from_ring) t->ctl[CTL_FREE_COUNT] = nfree - 1;
      ssize_t n = read(t->fd, t->rx + (size_t)slot * t->slot_size, t->slot_size);
      if (n <= 0) {
        int e = n < 0 ? errno : 0;
        if (from_ring) t->ctl[CTL_FREE_COUNT] = nfree; /* the slot was not used: still on the stack */
        if (e == EINTR) continue;
        if (e != 0 && e != EAGAIN && e != EWOULDBLOCK) err = e;
        break;
      }
      t->meta[2 * count] = slot;
      t->meta[2 * count + 1] = (int32_t)n;
      count++;
    }
  }
  if (err != 0) {
    /* A hard error (device gone, EBADFD) would make the level-triggered poll spin: stop here. */
    t->ctl[CTL_RX_ERRNO] = err;
    if (t->poll != NULL) uv_poll_stop(t->poll);
    t->polling = 0;
  }
  if (count == 0 && err == 0) return;
  if (count > 0) t->ctl[CTL_RX_WAKEUPS]++;
  call_js(t, count, err);
}

static int get_typed_int32(napi_env env, napi_value v, int32_t **data, size_t *n) {
  napi_typedarray_type type;
  size_t len, off;
  void *p;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &len, &p, &ab, &off) != napi_ok || type != napi_int32_array) return 0;
  *data = (int32_t *)p;
  *n = len;
  return 1;
}

static int get_arraybuffer(napi_env env, napi_value v, uint8_t **data, size_t *n) {
  bool is_ab = false;
  if (napi_is_arraybuffer(env, v, &is_ab) != napi_ok || !is_ab) return 0;
  void *p;
  if (napi_get_arraybuffer_info(env, v, &p, n) != napi_ok) return 0;
  *data = (uint8_t *)p;
  return 1;
}

static napi_value js_start(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 10) {
    napi_throw_type_error(env, NULL, "start(handle, rx, ctl, meta, tx, txMeta, slotSize, ringSlots, batchMax, onBatch)");
    return NULL;
  }
  tun_t *t = get_tun(env, argv[0]);
  if (t == NULL) return NULL;
  if (t->fd < 0) { throw_sys(env, EBADF, "start", "(device closed)"); return NULL; }
  if (t->poll != NULL) { napi_throw_error(env, NULL, "start: already started"); return NULL; }
  uint32_t slot_size, ring_slots, batch_max;
  CHECK(napi_get_value_uint32(env, argv[6], &slot_size));
  CHECK(napi_get_value_uint32(env, argv[7], &ring_slots));
  CHECK(napi_get_value_uint32(env, argv[8], &batch_max));
  uint8_t *rx, *tx;
  int32_t *ctl, *meta, *txmeta;
  size_t rx_len, ctl_n, meta_n, tx_len, txmeta_n;
  if (!get_arraybuffer(env, argv[1], &rx, &rx_len) || !get_typed_int32(env, argv[2], &ctl, &ctl_n) ||
      !get_typed_int32(env, argv[3], &meta, &meta_n) || !get_arraybuffer(env, argv[4], &tx, &tx_len) ||
      !get_typed_int32(env, argv[5], &txmeta, &txmeta_n)) {
    napi_throw_type_error(env, NULL, "start: rx/tx must be ArrayBuffers, ctl/meta/txMeta Int32Arrays");
    return NULL;
  }
  if (slot_size == 0 || batch_max == 0 ||
      (uint64_t)(ring_slots + batch_max) * slot_size > rx_len ||
      ctl_n < (size_t)CTL_FREE_BASE + ring_slots || meta_n < 2 * (size_t)batch_max) {
    napi_throw_range_error(env, NULL, "start: buffers too small for slotSize/ringSlots/batchMax");
    return NULL;
  }
  napi_valuetype cbt;
  CHECK(napi_typeof(env, argv[9], &cbt));
  if (cbt != napi_function) { napi_throw_type_error(env, NULL, "start: onBatch must be a function"); return NULL; }

  CHECK(napi_create_reference(env, argv[9], 1, &t->cb_ref));
  CHECK(napi_create_reference(env, argv[1], 1, &t->rx_ref));
  CHECK(napi_create_reference(env, argv[2], 1, &t->ctl_ref));
  CHECK(napi_create_reference(env, argv[3], 1, &t->meta_ref));
  CHECK(napi_create_reference(env, argv[4], 1, &t->tx_ref));
  CHECK(napi_create_reference(env, argv[5], 1, &t->txmeta_ref));
  napi_value res_name;
  CHECK(napi_create_string_utf8(env, "tunstack:tun", NAPI_AUTO_LENGTH, &res_name));
  CHECK(napi_async_init(env, NULL, res_name, &t->actx));
  t->rx = rx; t->rx_len = rx_len;
  t->ctl = ctl; t->ctl_n = ctl_n;
  t->meta = meta; t->meta_n = meta_n;
  t->tx = tx; t->tx_len = tx_len;
  t->txmeta = txmeta; t->txmeta_n = txmeta_n;
  t->slot_size = slot_size; t->ring_slots = ring_slots; t->batch_max = batch_max;

  uv_loop_t *loop = NULL;
  CHECK(napi_get_uv_event_loop(env, &loop));
  uv_poll_t *p = (uv_poll_t *)malloc(sizeof *p);
  if (p == NULL) { throw_sys(env, ENOMEM, "malloc", ""); return NULL; }
  int r = uv_poll_init(loop, p, t->fd);
  if (r < 0) { free(p); throw_sys(env, -r, "uv_poll_init", ""); return NULL; }
  p->data = t;
  t->poll = p;
  r = uv_poll_start(p, UV_READABLE, on_readable);
  if (r < 0) { throw_sys(env, -r, "uv_poll_start", ""); return NULL; }
  t->polling = 1;
  return NULL;
}

/* ---- transmit ---- */

static napi_value js_write(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tun_t *t = get_tun(env, argv[0]);
  if (t == NULL) return NULL;
  uint32_t count = 0;
  CHECK(napi_get_value_uint32(env, argv[1], &count));
  int32_t written = 0;
  if (t->fd >= 0 && t->tx != NULL) {
    if ((size_t)count * 2 > t->txmeta_n) count = (uint32_t)(t->txmeta_n / 2);
    for (uint32_t i = 0; i < count; i++) {
      int32_t off = t->txmeta[2 * i], len = t->txmeta[2 * i + 1];
      if (off < 0 || len <= 0 || (size_t)off + (size_t)len > t->tx_len) {
        t->ctl[CTL_TX_ERRNO] = EINVAL;
        t->ctl[CTL_TX_ERRORS]++;
        continue;
      }
      ssize_t n;
      do n = write(t->fd, t->tx + off, (size_t)len); while (n < 0 && errno == EINTR);
      if (n < 0) {
        t->ctl[CTL_TX_ERRNO] = errno;
        t->ctl[CTL_TX_ERRORS]++;
      } else {
        written++;
      }
    }
  }
  napi_value out;
  CHECK(napi_create_int32(env, written, &out));
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  tun_t *t = get_tun(env, argv[0]);
  if (t == NULL) return NULL;
  tun_shutdown(t, env, 1);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"start", NULL, js_start, NULL, NULL, NULL, napi_enumerable, NULL},
    {"write", NULL, js_write, NULL, NULL, NULL, napi_enumerable, NULL},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_value v;
  napi_create_int32(env, VNET_HDR_LEN, &v);
  napi_set_named_property(env, exports, "VNET_HDR_LEN", v);
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
