#!/usr/bin/env bash
# t-02: STARTTLS with a real TLS client (swaks --tls) and a certificate made here.
#
#   swaks --tls --> bccsink (STARTTLS, Poco NetSSL) --> pending row with tls = true
. "${TESTLIB:-$(dirname "$0")/../lib.sh}"
need swaks jq openssl

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=sink.test" \
  -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 || fail "openssl could not make a certificate"
start_sink "$T/data" --BccTlsCertificate "$T/cert.pem" --BccTlsKey "$T/key.pem"

swaks --server "127.0.0.1:$SINK_PORT" --tls --from alice@example.org --to watch@bcc.test \
  --header "Message-Id: <t02@example.org>" >"$T/swaks.out" 2>&1 || fail "swaks --tls failed: $(tail -5 "$T/swaks.out")"
grep -q "TLS started" "$T/swaks.out" || fail "TLS was not negotiated"
grep -q "250 2.0.0 Ok: queued as" "$T/swaks.out" || fail "no 250 over TLS"
ok "swaks --tls delivered over STARTTLS"

row=$(queue_json "$T/data" | jq -c 'select(.message_id == "<t02@example.org>")')
[ "$(echo "$row" | jq -r .tls)" = true ] || fail "tls not recorded: $row"
spooled_message "$T/data" "$(echo "$row" | jq -r .id)" >"$T/message.eml" || fail "queue show --raw"
grep -q "with ESMTPS id" "$T/message.eml" || fail "Received lacks ESMTPS"
ok "message recorded as received over TLS (ESMTPS)"

# Plain delivery still works, and STARTTLS is offered once, not after the handshake.
swaks --server "127.0.0.1:$SINK_PORT" --from a@example.org --to watch@bcc.test >"$T/plain.out" 2>&1 ||
  fail "plain delivery failed"
grep -q "250-STARTTLS" "$T/plain.out" || fail "STARTTLS not offered"
ok "plain delivery alongside TLS"

# The TLS profile (TlsCiphers, TlsMinVersion; issue 18, finding 11): a client offering only
# static-RSA key exchange, or only TLS 1.1, gets no handshake; ECDHE over TLS 1.2 and TLS
# 1.3 do. `Q` quits s_client after the handshake; its exit status is the handshake's.
s_client() {
  echo Q | timeout 20 openssl s_client -starttls smtp -connect "127.0.0.1:$SINK_PORT" \
    -servername sink.test "$@" >"$T/s_client.out" 2>&1
}
s_client -cipher AES128-SHA -tls1_2 && fail "static RSA (AES128-SHA) accepted: $(grep -m1 Cipher "$T/s_client.out")"
grep -qi "handshake failure\|no cipher\|alert" "$T/s_client.out" || fail "AES128-SHA: $(tail -3 "$T/s_client.out")"
s_client -cipher 'DEFAULT@SECLEVEL=0' -tls1_1 && fail "TLS 1.1 accepted"
s_client -cipher ECDHE-RSA-AES128-GCM-SHA256 -tls1_2 || fail "ECDHE over TLS 1.2 refused: $(tail -3 "$T/s_client.out")"
grep -q "Cipher is ECDHE-RSA-AES128-GCM-SHA256" "$T/s_client.out" || fail "not ECDHE: $(grep Cipher "$T/s_client.out")"
s_client -tls1_3 || fail "TLS 1.3 refused"
grep -q "TLSv1.3" "$T/s_client.out" || fail "not TLS 1.3"
ok "STARTTLS refuses AES128-SHA and TLS 1.1, takes ECDHE over TLS 1.2 and TLS 1.3"

# (Commands pipelined behind STARTTLS are discarded, CVE-2011-0411: the state machine's
# unit tests drive that byte by byte; openssl s_client cannot send them in plaintext.)

# A bad key file is a start-up error naming the option.
if "$BCCSINK" serve --BccSocket 127.0.0.1:0 --DataDir "$T/bad" --BccTlsCertificate "$T/cert.pem" \
  --BccTlsKey /nonexistent.pem >"$T/bad.out" 2>&1; then fail "started with a missing key"; fi
grep -q "BccTlsCertificate/BccTlsKey" "$T/bad.out" || fail "error does not name the option: $(cat "$T/bad.out")"
ok "missing TLS key stops start-up with a clear error"

stop_sink
finish
