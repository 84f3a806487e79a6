/* Tributary firmware-bridge frames, protocol v1: see tributary_frame.h and ../PROTOCOL.md. */
#include "tributary_frame.h"

#include <string.h>

#if TF_FRAME_BYTES_MAX > 512u || TF_FRAME_BYTES_MAX < 16u
#error "TF_FRAME_BYTES_MAX must be from 16 to the protocol's 512"
#endif

/* The raw frame is built this far into the encoder's buffer, so COBS can encode it in place. */
#define TF_RAW_AT TF_COBS_OVERHEAD_MAX

static const uint32_t tf_crc_nibble[16] = {
  0x00000000u, 0x105ec76fu, 0x20bd8edeu, 0x30e349b1u, 0x417b1dbcu, 0x5125dad3u, 0x61c69362u, 0x7198540du,
  0x82f63b78u, 0x92a8fc17u, 0xa24bb5a6u, 0xb21572c9u, 0xc38d26c4u, 0xd3d3e1abu, 0xe330a81au, 0xf36e6f75u
};

uint32_t tf_crc32c(uint32_t crc, const uint8_t *p, size_t n) {
  size_t i;
  crc = ~crc;
  for (i = 0; i < n; i++) {
    crc ^= p[i];
    crc = (crc >> 4) ^ tf_crc_nibble[crc & 15u];
    crc = (crc >> 4) ^ tf_crc_nibble[crc & 15u];
  }
  return ~crc;
}

size_t tf_cobs_encode(const uint8_t *src, size_t n, uint8_t *dst) {
  size_t code_at = 0, o = 1, i;
  uint8_t code = 1;
  for (i = 0; i < n; i++) {
    uint8_t b = src[i];
    if (b != 0) {
      dst[o++] = b;
      code++;
    }
    if (b == 0 || code == 0xff) {
      dst[code_at] = code;
      code = 1;
      code_at = o;
      /* A full block that ends the input needs no empty block after it. */
      if (b == 0 || i + 1 < n) o++;
    }
  }
  if (code_at < o) dst[code_at] = code;
  return o;
}

long tf_cobs_decode(const uint8_t *src, size_t n, uint8_t *dst) {
  size_t i = 0, o = 0;
  while (i < n) {
    uint8_t code = src[i++];
    size_t end;
    if (code == 0) return -1;
    end = i + code - 1u;
    if (end > n) return -1;
    while (i < end) {
      uint8_t b = src[i++];
      if (b == 0) return -1;
      dst[o++] = b;
    }
    if (code != 0xff && i < n) dst[o++] = 0;
  }
  return (long)o;
}

static void tf_le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

static uint32_t tf_rd32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* ---- encoder ---- */

void tf_begin(tf_encoder *e, uint8_t type, uint8_t flags, uint32_t seq) {
  uint8_t *h = e->buf + TF_RAW_AT;
  h[0] = TF_VERSION;
  h[1] = type;
  h[2] = flags;
  tf_le32(h + 3, seq);
  e->payload_len = 0;
  e->overflow = 0;
}

static uint8_t *tf_room(tf_encoder *e, size_t n) {
  uint8_t *p;
  if (e->overflow || e->payload_len + n > TF_PAYLOAD_BYTES_MAX) {
    e->overflow = 1;
    return NULL;
  }
  p = e->buf + TF_RAW_AT + TF_HEADER_BYTES + e->payload_len;
  e->payload_len += n;
  return p;
}

void tf_put_u8(tf_encoder *e, uint8_t v) {
  uint8_t *p = tf_room(e, 1);
  if (p) p[0] = v;
}

void tf_put_u16(tf_encoder *e, uint16_t v) {
  uint8_t *p = tf_room(e, 2);
  if (p) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
}

void tf_put_u32(tf_encoder *e, uint32_t v) {
  uint8_t *p = tf_room(e, 4);
  if (p) tf_le32(p, v);
}

void tf_put_varint(tf_encoder *e, uint64_t v) {
  do {
    uint8_t low = (uint8_t)(v & 0x7fu);
    v >>= 7;
    tf_put_u8(e, v ? (uint8_t)(low | 0x80u) : low);
  } while (v);
}

void tf_put_bytes(tf_encoder *e, const uint8_t *src, size_t n) {
  uint8_t *p = tf_room(e, n);
  if (p && n) memcpy(p, src, n);
}

void tf_put_value(tf_encoder *e, const tf_value *value) {
  uint32_t bits;
  tf_put_u8(e, value->kind);
  switch (value->kind) {
    case TF_VALUE_U8: tf_put_u8(e, (uint8_t)value->v.u); break;
    case TF_VALUE_I8: tf_put_u8(e, (uint8_t)value->v.i); break;
    case TF_VALUE_U16: tf_put_u16(e, (uint16_t)value->v.u); break;
    case TF_VALUE_I16: tf_put_u16(e, (uint16_t)value->v.i); break;
    case TF_VALUE_U32: tf_put_u32(e, value->v.u); break;
    case TF_VALUE_I32: tf_put_u32(e, (uint32_t)value->v.i); break;
    case TF_VALUE_F32: memcpy(&bits, &value->v.f, 4); tf_put_u32(e, bits); break;
#if !defined(__AVR__)
    case TF_VALUE_F64: {
      /* IEEE 754 binary64, little-endian; AVR's double is 32 bits, so there it is unavailable. */
      uint64_t b64;
      memcpy(&b64, &value->v.d, 8);
      tf_put_u32(e, (uint32_t)b64);
      tf_put_u32(e, (uint32_t)(b64 >> 32));
      break;
    }
#endif
    default: e->overflow = 1; break;
  }
}

size_t tf_finish(tf_encoder *e) {
  uint8_t *raw = e->buf + TF_RAW_AT;
  size_t n = TF_HEADER_BYTES + e->payload_len, wire;
  if (e->overflow) return 0;
  tf_le32(raw + n, tf_crc32c(0, raw, n));
  n += TF_CRC_BYTES;
  /* In place: each output byte lands at or before the input byte it came from. */
  wire = tf_cobs_encode(raw, n, e->buf);
  e->buf[wire] = 0;
  return wire + 1;
}

size_t tf_encode_hello(tf_encoder *e, uint32_t seq, uint8_t flags, uint32_t boot_id, uint64_t uptime_ms, const char *firmware_name, const char *firmware_version) {
  size_t name_len = strlen(firmware_name), version_len = strlen(firmware_version);
  tf_begin(e, TF_TYPE_HELLO, flags, seq);
  if (name_len > TF_HELLO_STRING_BYTES_MAX || version_len > TF_HELLO_STRING_BYTES_MAX) e->overflow = 1;
  tf_put_u32(e, boot_id);
  tf_put_varint(e, uptime_ms);
  tf_put_u8(e, (uint8_t)name_len);
  tf_put_bytes(e, (const uint8_t *)firmware_name, name_len);
  tf_put_u8(e, (uint8_t)version_len);
  tf_put_bytes(e, (const uint8_t *)firmware_version, version_len);
  return tf_finish(e);
}

size_t tf_encode_telemetry(tf_encoder *e, uint32_t seq, uint8_t flags, uint16_t sensor_id, uint64_t time_ms, const tf_value *values, uint8_t count) {
  uint8_t i;
  tf_begin(e, TF_TYPE_TELEMETRY, (uint8_t)(flags & ~TF_FLAG_BODY_MASK), seq);
  tf_put_u16(e, sensor_id);
  tf_put_varint(e, time_ms);
  tf_put_u8(e, count);
  for (i = 0; i < count; i++) tf_put_value(e, &values[i]);
  return tf_finish(e);
}

size_t tf_encode_telemetry_body(tf_encoder *e, uint32_t seq, uint8_t flags, uint16_t sensor_id, uint64_t time_ms, const uint8_t *body, size_t n) {
  tf_begin(e, TF_TYPE_TELEMETRY, flags, seq);
  tf_put_u16(e, sensor_id);
  tf_put_varint(e, time_ms);
  tf_put_bytes(e, body, n);
  return tf_finish(e);
}

size_t tf_encode_log(tf_encoder *e, uint32_t seq, uint8_t flags, uint8_t level, uint64_t time_ms, const char *text, size_t n) {
  tf_begin(e, TF_TYPE_LOG, flags, seq);
  if (level > TF_LOG_FATAL) e->overflow = 1;
  tf_put_u8(e, level);
  tf_put_varint(e, time_ms);
  tf_put_bytes(e, (const uint8_t *)text, n);
  return tf_finish(e);
}

size_t tf_encode_heartbeat(tf_encoder *e, uint32_t seq, uint8_t flags, uint64_t uptime_ms) {
  tf_begin(e, TF_TYPE_HEARTBEAT, flags, seq);
  tf_put_varint(e, uptime_ms);
  return tf_finish(e);
}

size_t tf_encode_ack(tf_encoder *e, uint32_t seq, uint32_t ack_seq) {
  tf_begin(e, TF_TYPE_ACK, 0, seq);
  tf_put_u32(e, ack_seq);
  return tf_finish(e);
}

size_t tf_encode_nack(tf_encoder *e, uint32_t seq, uint32_t ack_seq, uint8_t reason) {
  tf_begin(e, TF_TYPE_NACK, 0, seq);
  tf_put_u32(e, ack_seq);
  tf_put_u8(e, reason);
  return tf_finish(e);
}

size_t tf_encode_time_sync(tf_encoder *e, uint32_t seq, uint64_t wall_ms) {
  tf_begin(e, TF_TYPE_TIME_SYNC, 0, seq);
  tf_put_varint(e, wall_ms);
  return tf_finish(e);
}

size_t tf_encode_time_sync_reply(tf_encoder *e, uint32_t seq, uint32_t request_seq, uint64_t wall_ms, uint64_t uptime_ms) {
  tf_begin(e, TF_TYPE_TIME_SYNC_REPLY, 0, seq);
  tf_put_u32(e, request_seq);
  tf_put_varint(e, wall_ms);
  tf_put_varint(e, uptime_ms);
  return tf_finish(e);
}

/* ---- decoder ---- */

void tf_decoder_init(tf_decoder *d) {
  memset(d, 0, sizeof *d);
}

void tf_decoder_resync(tf_decoder *d) {
  if (d->len > 0) {
    d->bytes_discarded += (uint32_t)d->len;
    d->resyncs++;
  }
  d->len = 0;
  d->discarding = 1;
}

static int tf_fail(tf_decoder *d, int code, uint32_t *counter) {
  (*counter)++;
  d->resyncs++;
  d->bytes_discarded += (uint32_t)d->len;
  d->len = 0;
  return code;
}

static int tf_complete(tf_decoder *d) {
  long n = tf_cobs_decode(d->buf, d->len, d->buf);
  size_t body;
  if (n < 0) return tf_fail(d, TF_ERR_COBS, &d->bad_cobs);
  if ((size_t)n > TF_FRAME_BYTES_MAX) return tf_fail(d, TF_ERR_OVERSIZE, &d->oversize);
  if ((size_t)n < TF_FRAME_BYTES_MIN) return tf_fail(d, TF_ERR_TOO_SHORT, &d->too_short);
  body = (size_t)n - TF_CRC_BYTES;
  if (tf_crc32c(0, d->buf, body) != tf_rd32(d->buf + body)) return tf_fail(d, TF_ERR_CRC, &d->crc_errors);
  if (d->buf[0] != TF_VERSION) return tf_fail(d, TF_ERR_VERSION, &d->unknown_version);
  d->frame.version = d->buf[0];
  d->frame.type = d->buf[1];
  d->frame.flags = d->buf[2];
  d->frame.seq = tf_rd32(d->buf + 3);
  d->frame.payload = d->buf + TF_HEADER_BYTES;
  d->frame.payload_len = body - TF_HEADER_BYTES;
  d->frames_ok++;
  d->len = 0;
  return TF_FRAME;
}

int tf_feed(tf_decoder *d, uint8_t byte) {
  if (byte == 0) {
    if (d->discarding) {
      d->discarding = 0;
      return TF_NONE;
    }
    return d->len ? tf_complete(d) : TF_NONE;
  }
  if (d->discarding) {
    d->bytes_discarded++;
    return TF_NONE;
  }
  if (d->len == TF_ENCODED_BYTES_MAX) {
    d->discarding = 1;
    d->bytes_discarded++; /* this byte; tf_fail counts the ones held */
    return tf_fail(d, TF_ERR_OVERSIZE, &d->oversize);
  }
  d->buf[d->len++] = byte;
  return TF_NONE;
}

/* ---- payload reader ---- */

void tf_reader_init(tf_reader *r, const tf_frame *f) {
  r->p = f->payload;
  r->len = f->payload_len;
  r->pos = 0;
  r->error = 0;
}

const uint8_t *tf_get_bytes(tf_reader *r, size_t n) {
  const uint8_t *p;
  if (r->error || n > r->len - r->pos) {
    r->error = 1;
    return NULL;
  }
  p = r->p + r->pos;
  r->pos += n;
  return p;
}

uint8_t tf_get_u8(tf_reader *r) {
  const uint8_t *p = tf_get_bytes(r, 1);
  return p ? p[0] : 0;
}

uint16_t tf_get_u16(tf_reader *r) {
  const uint8_t *p = tf_get_bytes(r, 2);
  return p ? (uint16_t)(p[0] | (p[1] << 8)) : 0;
}

uint32_t tf_get_u32(tf_reader *r) {
  const uint8_t *p = tf_get_bytes(r, 4);
  return p ? tf_rd32(p) : 0;
}

uint64_t tf_get_varint(tf_reader *r) {
  uint64_t v = 0;
  unsigned i;
  for (i = 0; i < TF_VARINT_BYTES_MAX; i++) {
    uint8_t b = tf_get_u8(r);
    if (r->error) return 0;
    v |= (uint64_t)(b & 0x7fu) << (7u * i);
    if (b < 0x80u) {
      /* Overlong encodings and values past 2^53 - 1 are malformed, as in the TypeScript codec. */
      if ((b == 0 && i > 0) || v > 0x1fffffffffffffull) break;
      return v;
    }
  }
  r->error = 1;
  return 0;
}

void tf_get_value(tf_reader *r, tf_value *value) {
  uint32_t bits;
  value->kind = tf_get_u8(r);
  switch (value->kind) {
    case TF_VALUE_U8: value->v.u = tf_get_u8(r); break;
    case TF_VALUE_I8: value->v.i = (int8_t)tf_get_u8(r); break;
    case TF_VALUE_U16: value->v.u = tf_get_u16(r); break;
    case TF_VALUE_I16: value->v.i = (int16_t)tf_get_u16(r); break;
    case TF_VALUE_U32: value->v.u = tf_get_u32(r); break;
    case TF_VALUE_I32: value->v.i = (int32_t)tf_get_u32(r); break;
    case TF_VALUE_F32: bits = tf_get_u32(r); memcpy(&value->v.f, &bits, 4); break;
#if !defined(__AVR__)
    case TF_VALUE_F64: {
      uint64_t b64 = tf_get_u32(r);
      b64 |= (uint64_t)tf_get_u32(r) << 32;
      memcpy(&value->v.d, &b64, 8);
      break;
    }
#endif
    default: r->error = 1; break;
  }
}

int tf_reader_done(const tf_reader *r) {
  return !r->error && r->pos == r->len;
}

int tf_parse_ack(const tf_frame *f, uint32_t *ack_seq) {
  tf_reader r;
  if (f->type != TF_TYPE_ACK) return 0;
  tf_reader_init(&r, f);
  *ack_seq = tf_get_u32(&r);
  return tf_reader_done(&r);
}

int tf_parse_nack(const tf_frame *f, uint32_t *ack_seq, uint8_t *reason) {
  tf_reader r;
  if (f->type != TF_TYPE_NACK) return 0;
  tf_reader_init(&r, f);
  *ack_seq = tf_get_u32(&r);
  *reason = tf_get_u8(&r);
  return tf_reader_done(&r);
}

int tf_parse_time_sync(const tf_frame *f, uint64_t *wall_ms) {
  tf_reader r;
  if (f->type != TF_TYPE_TIME_SYNC) return 0;
  tf_reader_init(&r, f);
  *wall_ms = tf_get_varint(&r);
  return tf_reader_done(&r);
}
