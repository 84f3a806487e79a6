/*
 * Tributary firmware-bridge frames, protocol v1 (see ../PROTOCOL.md):
 * an allocation-free C99 encoder and streaming decoder for microcontrollers.
 *
 * Wire format: COBS(header | payload | CRC-32C) followed by 0x00, where the
 * header is version u8, type u8, flags u8, sequence number u32 little-endian,
 * and the CRC-32C (Castagnoli) covers header and payload, little-endian.
 *
 * Memory: one tf_encoder (TF_WIRE_BYTES_MAX bytes) and one tf_decoder
 * (TF_ENCODED_BYTES_MAX bytes plus counters). Define TF_FRAME_BYTES_MAX
 * before including this header to use a smaller local limit on small parts
 * (it must not exceed the protocol's 512).
 */
#ifndef TRIBUTARY_FRAME_H
#define TRIBUTARY_FRAME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TF_VERSION 1u
#define TF_HEADER_BYTES 7u
#define TF_CRC_BYTES 4u
#ifndef TF_FRAME_BYTES_MAX
#define TF_FRAME_BYTES_MAX 512u
#endif
#define TF_FRAME_BYTES_MIN (TF_HEADER_BYTES + TF_CRC_BYTES)
#define TF_PAYLOAD_BYTES_MAX (TF_FRAME_BYTES_MAX - TF_FRAME_BYTES_MIN)
/* COBS adds at most one byte per 254, plus one. */
#define TF_COBS_OVERHEAD_MAX (TF_FRAME_BYTES_MAX / 254u + 1u)
#define TF_ENCODED_BYTES_MAX (TF_FRAME_BYTES_MAX + TF_COBS_OVERHEAD_MAX)
#define TF_WIRE_BYTES_MAX (TF_ENCODED_BYTES_MAX + 1u)
#define TF_HELLO_STRING_BYTES_MAX 64u
#define TF_VARINT_BYTES_MAX 8u

/* Frame types. */
enum {
  TF_TYPE_HELLO = 0x01,
  TF_TYPE_TELEMETRY = 0x02,
  TF_TYPE_LOG = 0x03,
  TF_TYPE_HEARTBEAT = 0x04,
  TF_TYPE_ACK = 0x10,
  TF_TYPE_NACK = 0x11,
  TF_TYPE_TIME_SYNC = 0x20,
  TF_TYPE_TIME_SYNC_REPLY = 0x21
};

/* Flag bits. */
enum {
  TF_FLAG_ACK_REQUESTED = 0x01,
  TF_FLAG_RETRANSMIT = 0x02,
  TF_FLAG_BODY_MASK = 0x0c,
  TF_FLAG_BODY_COMPACT = 0x00,
  TF_FLAG_BODY_CBOR = 0x04,
  TF_FLAG_BODY_JSON = 0x08,
  TF_FLAG_WALL_TIME = 0x10
};

/* Compact telemetry value tags. */
enum {
  TF_VALUE_U8 = 0x01, TF_VALUE_I8 = 0x02, TF_VALUE_U16 = 0x03, TF_VALUE_I16 = 0x04,
  TF_VALUE_U32 = 0x05, TF_VALUE_I32 = 0x06, TF_VALUE_F32 = 0x07, TF_VALUE_F64 = 0x08
};

/* Log levels. */
enum { TF_LOG_TRACE, TF_LOG_DEBUG, TF_LOG_INFO, TF_LOG_WARN, TF_LOG_ERROR, TF_LOG_FATAL };

/* Nack reasons. */
enum { TF_NACK_NOT_DURABLE = 1, TF_NACK_BAD_PAYLOAD = 2, TF_NACK_UNSUPPORTED_TYPE = 3, TF_NACK_NO_SESSION = 4, TF_NACK_STALE = 5 };

/* One compact telemetry value: `kind` selects the union member (u for U8/U16/U32, i for I8/I16/I32). */
typedef struct {
  uint8_t kind;
  union { uint32_t u; int32_t i; float f; double d; } v;
} tf_value;

/* ---- checksums and stuffing ---- */

/* CRC-32C of p[0, n), continuing from crc (0 for a fresh sum). Nibble table: 64 bytes of constants. */
uint32_t tf_crc32c(uint32_t crc, const uint8_t *p, size_t n);
/* COBS-encodes src[0, n) into dst (room for n + n/254 + 1); returns the length. dst may overlap src
 * if dst + n/254 + 1 <= src. */
size_t tf_cobs_encode(const uint8_t *src, size_t n, uint8_t *dst);
/* Decodes a COBS block; dst may equal src. Returns the decoded length, or -1 if invalid. */
long tf_cobs_decode(const uint8_t *src, size_t n, uint8_t *dst);

/* ---- encoder ---- */

typedef struct {
  uint8_t buf[TF_WIRE_BYTES_MAX]; /* after tf_finish: the wire bytes, delimiter included */
  size_t payload_len;
  uint8_t overflow;
} tf_encoder;

/* Starts a frame; then tf_put_* the payload and tf_finish. */
void tf_begin(tf_encoder *e, uint8_t type, uint8_t flags, uint32_t seq);
void tf_put_u8(tf_encoder *e, uint8_t v);
void tf_put_u16(tf_encoder *e, uint16_t v);
void tf_put_u32(tf_encoder *e, uint32_t v);
void tf_put_varint(tf_encoder *e, uint64_t v);
void tf_put_bytes(tf_encoder *e, const uint8_t *p, size_t n);
void tf_put_value(tf_encoder *e, const tf_value *value);
/* Seals the frame (CRC, COBS, delimiter) in e->buf; returns the wire length, or 0 if the payload overflowed. */
size_t tf_finish(tf_encoder *e);

/* One call per message type; each returns the wire length in e->buf (0 on overflow). */
size_t tf_encode_hello(tf_encoder *e, uint32_t seq, uint8_t flags, uint32_t boot_id, uint64_t uptime_ms, const char *firmware_name, const char *firmware_version);
size_t tf_encode_telemetry(tf_encoder *e, uint32_t seq, uint8_t flags, uint16_t sensor_id, uint64_t time_ms, const tf_value *values, uint8_t count);
/* A CBOR or JSON body: flags carries TF_FLAG_BODY_CBOR or TF_FLAG_BODY_JSON. */
size_t tf_encode_telemetry_body(tf_encoder *e, uint32_t seq, uint8_t flags, uint16_t sensor_id, uint64_t time_ms, const uint8_t *body, size_t n);
size_t tf_encode_log(tf_encoder *e, uint32_t seq, uint8_t flags, uint8_t level, uint64_t time_ms, const char *text, size_t n);
size_t tf_encode_heartbeat(tf_encoder *e, uint32_t seq, uint8_t flags, uint64_t uptime_ms);
size_t tf_encode_ack(tf_encoder *e, uint32_t seq, uint32_t ack_seq);
size_t tf_encode_nack(tf_encoder *e, uint32_t seq, uint32_t ack_seq, uint8_t reason);
size_t tf_encode_time_sync(tf_encoder *e, uint32_t seq, uint64_t wall_ms);
size_t tf_encode_time_sync_reply(tf_encoder *e, uint32_t seq, uint32_t request_seq, uint64_t wall_ms, uint64_t uptime_ms);

/* ---- decoder ---- */

typedef struct {
  uint8_t version, type, flags;
  uint32_t seq;
  const uint8_t *payload; /* points into the decoder; valid until the next tf_feed */
  size_t payload_len;
} tf_frame;

enum {
  TF_NONE = 0,          /* nothing completed yet */
  TF_FRAME = 1,         /* d->frame holds a frame */
  TF_ERR_COBS = -1,
  TF_ERR_OVERSIZE = -2,
  TF_ERR_TOO_SHORT = -3,
  TF_ERR_CRC = -4,
  TF_ERR_VERSION = -5
};

typedef struct {
  uint8_t buf[TF_ENCODED_BYTES_MAX];
  size_t len;
  uint8_t discarding;
  tf_frame frame;
  uint32_t frames_ok, crc_errors, bad_cobs, too_short, unknown_version, oversize, resyncs, bytes_discarded;
} tf_decoder;

void tf_decoder_init(tf_decoder *d);
/* Feeds one byte; returns TF_NONE, TF_FRAME or a TF_ERR_* for the frame that byte completed. */
int tf_feed(tf_decoder *d, uint8_t byte);
/* Drops a partial frame and skips to the next delimiter (after a reset or a baud-rate change). */
void tf_decoder_resync(tf_decoder *d);

/* ---- payload reader ---- */

typedef struct {
  const uint8_t *p;
  size_t len, pos;
  uint8_t error; /* set on a read past the end or a malformed field; reads then return 0 */
} tf_reader;

void tf_reader_init(tf_reader *r, const tf_frame *f);
uint8_t tf_get_u8(tf_reader *r);
uint16_t tf_get_u16(tf_reader *r);
uint32_t tf_get_u32(tf_reader *r);
uint64_t tf_get_varint(tf_reader *r);
/* Returns a pointer to the next n bytes (and skips them), or NULL with r->error set. */
const uint8_t *tf_get_bytes(tf_reader *r, size_t n);
void tf_get_value(tf_reader *r, tf_value *value);
/* 1 when every byte was read and nothing failed. */
int tf_reader_done(const tf_reader *r);

/* Parsers for what the bridge sends the MCU; each returns 1 on success, 0 on a malformed payload. */
int tf_parse_ack(const tf_frame *f, uint32_t *ack_seq);
int tf_parse_nack(const tf_frame *f, uint32_t *ack_seq, uint8_t *reason);
int tf_parse_time_sync(const tf_frame *f, uint64_t *wall_ms);

#ifdef __cplusplus
}
#endif

#endif
