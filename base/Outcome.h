#pragma once
// The result of handing something to a receiver across a boundary (a spool and database,
// a mail server, a Maildir, an analyzer): whether a failure is transient or permanent.
// The callee says which; the caller decides the retry (STYLE.md 4). One definition for
// every layer: the listener's store and the report delivery both speak it.

namespace bccsink {

enum class Outcome {
  Ok,        // the receiver has taken the message (SMTP: 250 to the final "."; Maildir: in new/)
  TempFail,  // try again later: 4xx, connection lost, timeout, TLS failure, disk full
  PermFail,  // retrying the same thing will not help: 5xx, auth refused, a setting is wrong
};

inline const char* toString(Outcome outcome) {
  switch (outcome) {
    case Outcome::Ok:
      return "ok";
    case Outcome::TempFail:
      return "tempfail";
    case Outcome::PermFail:
      return "permfail";
  }
  return "?";
}

}  // namespace bccsink
