/*
 * Tributary firmware-bridge example: a temperature/humidity node.
 *
 * Copy ../tributary_frame.h and ../tributary_frame.c next to this sketch
 * (Arduino builds every .c file in the sketch folder). Written for an
 * ESP32 / SAMD / RP2040 class board with a 921600-baud USB serial port; on an
 * 8-bit AVR (2 KB RAM) define TF_FRAME_BYTES_MAX 128 before the include and
 * use a lower baud rate.
 *
 * What it shows: the boot sequence (0x00, hello until acked), best-effort
 * telemetry every second, one reliable frame in flight with retransmission,
 * heartbeats, answering time syncs, and reading acks/nacks with the streaming
 * decoder. See ../../PROTOCOL.md.
 */
#include <Arduino.h>

extern "C" {
#include "tributary_frame.h"
}

static const uint32_t kBaud = 921600;
static const uint32_t kTelemetryEveryMs = 1000;
static const uint32_t kHeartbeatEveryMs = 10000;
static const uint32_t kRetransmitFirstMs = 500;
static const uint32_t kRetransmitMaxMs = 8000;

static tf_encoder encoder;   /* 516 bytes */
static tf_decoder decoder;   /* 515 bytes + counters */

static uint32_t bootId;
static uint32_t nextSeq = 0;
static bool sessionOpen = false;   /* the bridge acked our hello */

/* One reliable frame in flight: its wire bytes are kept for retransmission. */
static uint8_t pending[TF_WIRE_BYTES_MAX];
static size_t pendingLen = 0;
static uint32_t pendingSeq = 0;
static uint32_t pendingSentMs = 0;
static uint32_t pendingTimeoutMs = kRetransmitFirstMs;

static uint32_t lastTelemetryMs = 0;
static uint32_t lastHeartbeatMs = 0;

/* millis() wraps after 49.7 days; the protocol's uptime does not. */
static uint64_t uptimeMs() {
  static uint32_t last = 0;
  static uint64_t high = 0;
  uint32_t now = millis();
  if (now < last) high += 1ull << 32;
  last = now;
  return high | now;
}

static void sendWire(const uint8_t *bytes, size_t n) {
  Serial.write(bytes, n);
}

/* Keeps a copy of the frame just encoded (with the ack flag) in `encoder` and sends it. */
static bool sendReliable(uint32_t seq, size_t n) {
  if (pendingLen != 0 || n == 0) return false;
  memcpy(pending, encoder.buf, n);
  pendingSeq = seq;
  pendingLen = n;
  pendingSentMs = millis();
  pendingTimeoutMs = kRetransmitFirstMs;
  sendWire(pending, pendingLen);
  return true;
}

static void sendHello() {
  uint32_t seq = nextSeq++;
  size_t n = tf_encode_hello(&encoder, seq, TF_FLAG_ACK_REQUESTED, bootId, uptimeMs(), "weather-node", "1.4.2");
  sendReliable(seq, n);
}

static void retransmitIfDue() {
  if (pendingLen == 0 || millis() - pendingSentMs < pendingTimeoutMs) return;
  /* The stored bytes go out unchanged: same seq, and the retransmit flag is informational only. */
  sendWire(pending, pendingLen);
  pendingSentMs = millis();
  if (pendingTimeoutMs < kRetransmitMaxMs) pendingTimeoutMs *= 2;
}

static void onFrame(const tf_frame *f) {
  uint32_t seq;
  uint8_t reason;
  uint64_t wallMs;
  if (tf_parse_ack(f, &seq)) {
    if (pendingLen != 0 && seq == pendingSeq) {
      pendingLen = 0;
      sessionOpen = true;
    }
  } else if (tf_parse_nack(f, &seq, &reason)) {
    if (pendingLen == 0 || seq != pendingSeq) return;
    if (reason == TF_NACK_NO_SESSION) {
      pendingLen = 0;
      sessionOpen = false;
      sendHello(); /* same boot id: the bridge continues our session */
    } else if (reason != TF_NACK_NOT_DURABLE) {
      pendingLen = 0; /* bad payload, unsupported, stale: drop it */
    } /* not durable: keep it, the retransmit timer retries */
  } else if (tf_parse_time_sync(f, &wallMs)) {
    size_t n = tf_encode_time_sync_reply(&encoder, nextSeq++, f->seq, wallMs, uptimeMs());
    sendWire(encoder.buf, n);
  }
}

static void pollSerial() {
  while (Serial.available() > 0) {
    int r = tf_feed(&decoder, (uint8_t)Serial.read());
    if (r == TF_FRAME) onFrame(&decoder.frame);
    /* Errors are counted in the decoder; the bridge retransmits nothing, so there is nothing to do. */
  }
}

static void sendTelemetry() {
  tf_value v[3];
  v[0].kind = TF_VALUE_F32; v[0].v.f = 21.5f;      /* temperature, °C: read your sensor here */
  v[1].kind = TF_VALUE_F32; v[1].v.f = 48.0f;      /* relative humidity, % */
  v[2].kind = TF_VALUE_I16; v[2].v.i = analogRead(A0);
  /* Every tenth reading is sent reliably; the rest are best effort. */
  static uint8_t count = 0;
  bool reliable = (++count % 10) == 0 && pendingLen == 0;
  uint32_t seq = nextSeq++;
  size_t n = tf_encode_telemetry(&encoder, seq, reliable ? TF_FLAG_ACK_REQUESTED : 0, 1, uptimeMs(), v, 3);
  if (reliable) {
    sendReliable(seq, n);
  } else {
    sendWire(encoder.buf, n);
  }
}

void setup() {
  Serial.begin(kBaud);
  tf_decoder_init(&decoder);
  /* A boot id that differs from the last boot's: hardware RNG where there is one, else ADC noise. */
  randomSeed(analogRead(A1) ^ (analogRead(A2) << 10) ^ micros());
  bootId = (uint32_t)random(0x7fffffff) ^ ((uint32_t)random(0xffff) << 16);
  const uint8_t delimiter = 0;
  sendWire(&delimiter, 1); /* ends whatever the bridge saw before our reset */
  sendHello();
}

void loop() {
  pollSerial();
  retransmitIfDue();
  if (!sessionOpen) return; /* nothing but the hello until the bridge has acked it */
  uint32_t now = millis();
  if (now - lastTelemetryMs >= kTelemetryEveryMs) {
    lastTelemetryMs = now;
    sendTelemetry();
  }
  if (now - lastHeartbeatMs >= kHeartbeatEveryMs) {
    lastHeartbeatMs = now;
    size_t n = tf_encode_heartbeat(&encoder, nextSeq++, 0, uptimeMs());
    sendWire(encoder.buf, n);
  }
}
