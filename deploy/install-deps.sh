#!/usr/bin/env bash
# Installs every build, run and test dependency of bccsink as Debian packages.
# Idempotent; run as root (apt-get). Nothing is downloaded outside Debian's archive.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang-format clang libclang-rt-14-dev
  libpoco-dev
  # PostgreSQL for several sinks (db/POSTGRES.md): Poco's connector and libpq to build; the
  # server for the tests, which run a private one (test/postgres-private.sh)
  libpocodatapostgresql80 libpq-dev postgresql-15
  libmimetic-dev
  libboost-program-options-dev
  libgtest-dev googletest
  libarchive-dev libmagic-dev libyara-dev libkainjow-mustache-dev
  libseccomp-dev
  # the container walkers (sandbox/extract/containers/README.md)
  libqpdf-dev libytnef0-dev libgsf-1-dev
  libssl-dev sqlite3 openssl jq iproute2 python3 curl
  # postfix-pcre: deploy/postfix/recipient_bcc.pcre (original recipients, t-10-postfix)
  postfix postfix-pcre swaks libnet-ssleay-perl libio-socket-ssl-perl libio-socket-inet6-perl
  clamav clamav-daemon clamav-testfiles libpython3.11-testsuite
  # the dashboard's browser test (test/dashboard): Debian's chromium, driven by playwright-core
  # from npm. Node.js >= 20 and npm come with the machine, not from here: Debian 12's nodejs is
  # 18, which playwright-core does not support.
  chromium
)

# The system user the daemon runs as when started as root (option User; issue 18): no
# login, no home of its own to make (DataDir is where it works).
ensure_user() {
  getent passwd bccsink >/dev/null && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: no system user bccsink; as root: adduser --system --group --no-create-home --home /var/lib/bccsink bccsink" >&2
    return 0
  fi
  local out
  # adduser warns that the home folder is missing: it is DataDir, made by serve or the admin.
  if ! out=$(adduser --system --group --no-create-home --home /var/lib/bccsink bccsink 2>&1); then
    echo "$out" >&2
    exit 1
  fi
  echo "install-deps: made the system user bccsink ($(id bccsink))"
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  ensure_user
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run as root" >&2
  exit 1
fi

# Postfix must not configure or start a system instance: tests run private ones.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# Nor PostgreSQL a system cluster on port 5432: tests run private ones, and a production
# database is set up by its administrator (README, "Scale-out").
mkdir -p /etc/postgresql-common/createcluster.d
echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/bccsink.conf
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
ensure_user
